package kafkaworker

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ordering says which records of a partition may be processed at the same
// time. Offsets are committed in order whatever the mode.
type Ordering string

const (
	// Unordered processes any records at once, up to MaxProcCount: the
	// seed's behaviour and the fastest mode.
	Unordered Ordering = "unordered"
	// KeyOrdered processes records with the same key within a partition one
	// at a time, in offset order; records with different keys run in
	// parallel. Records with no key (a nil key) are not ordered behind
	// anything: Kafka's partitioners spread them without order, so there is
	// no order for us to keep.
	KeyOrdered Ordering = "key"
	// PartitionOrdered processes one record of a partition at a time: the
	// classic consumer's semantics, with partitions in parallel.
	PartitionOrdered Ordering = "partition"
)

// FailurePolicy says what happens to a record whose handler still fails
// after MaxRetries retries.
type FailurePolicy string

const (
	// DeadLetterPolicy produces the record, with headers describing the
	// error, to DeadLetterTopic, and counts it done only once the broker has
	// acknowledged it. If that fails, Run returns the error and the offset
	// is not committed.
	DeadLetterPolicy FailurePolicy = "dead-letter"
	// SkipPolicy logs and counts the failure and moves on.
	SkipPolicy FailurePolicy = "skip"
	// StopPolicy makes Run return the handler's error after a graceful
	// shutdown; the record's offset is never committed. Hazard: restarted,
	// the member (or whichever member the partition moved to) meets the
	// same record and stops again, so one poison record keeps the group
	// restarting (see BlockPolicy).
	StopPolicy FailurePolicy = "stop"
	// BlockPolicy keeps retrying the record without end, at
	// RetryBackoffMax once the backoff has grown to it, and holds back only
	// what must wait for it: its key (key order), its partition (partition
	// order), and its partition's commit point (unordered; that partition
	// is paused once its PartitionWindow fills). Everything else flows and
	// Run never returns for it. The record is listed in Stats
	// (PartitionStats.Blocked), logged with its coordinates and exported by
	// kwprom; it goes on when the handler succeeds (the downstream
	// recovered, a fix was deployed) or when Consumer.Release skips or
	// dead-letters it.
	BlockPolicy FailurePolicy = "block"
)

// GroupProtocol names a consumer group protocol.
type GroupProtocol string

const (
	// ClassicProtocol is the group protocol of Kafka before 4.0: the
	// members rebalance among themselves (cooperative-sticky here).
	ClassicProtocol GroupProtocol = "classic"
	// ConsumerProtocol is KIP-848's protocol (Kafka 4.0+): the broker
	// assigns the partitions and revokes them incrementally. On brokers
	// without it the consumer falls back to classic.
	ConsumerProtocol GroupProtocol = "consumer"
)

// GroupType says how the consumer shares its topics with other members.
type GroupType string

const (
	// ConsumerGroup is a Kafka consumer group (the default): each partition
	// is read by one member, which commits offsets in order.
	ConsumerGroup GroupType = "consumer"
	// ShareGroup is a Kafka share group (KIP-932, "queues for Kafka",
	// production-ready in Kafka 4.2): the broker hands each record to one
	// member with a lock and counts its deliveries, and members
	// acknowledge records one by one; many members may read one
	// partition. There is no order and no offset commit: Ordering must be
	// unordered, and the commit settings and PartitionWindow are unused.
	ShareGroup GroupType = "share"
)

// Config configures a Consumer. The first group of fields carries the names
// of the seed's appsettings.json ("Kafka" section); a zero value means the
// documented default, so a Config with only BootstrapServers, GroupID and
// Topic is complete.
type Config struct {
	// BootstrapServers is a comma-separated list of host:port seed brokers.
	BootstrapServers string
	// GroupID is the consumer group, or the share group under GroupType
	// share.
	GroupID string
	// GroupType is consumer (default) or share. In share mode a record's
	// outcome is acknowledged to the broker: success accepts it; an error
	// is retried here with the same backoff while its lock is renewed
	// (Kafka 4.2+; on older brokers it is released and the broker's
	// redelivery is the retry); after MaxRetries FailurePolicy applies:
	// dead-letter produces then accepts, skip rejects, stop releases and
	// Run returns the error. Record.Attempt is the broker's delivery
	// count. Keep MaxRetries below the group's delivery limit
	// (group.share.delivery.count.limit, default 5), or the broker
	// archives a record before the policy sees it.
	GroupType GroupType
	// ShareMembers is how many share-group clients a share-mode consumer
	// runs. franz-go accepts a client's previous batch when it polls
	// again, so a client polls only once its whole batch is acknowledged;
	// several clients keep records flowing while one waits for its slowest
	// record and for its next fetch. Each asks for
	// 4×MaxProcCount/ShareMembers records at a time (the broker hands out
	// whole producer batches, so a fetch may bring more). Default: one
	// client per 500 of those records (4×MaxProcCount), at least 4 and at
	// most 16: 8 at MaxProcCount 1000, where 4 reached 92% and 8 96-98% of
	// the Little's-law limit with a 10 ms handler on a loaded 2-core
	// machine; each client costs a connection, a share session and a few
	// MiB.
	ShareMembers int
	// Topic is the topic to consume; Topics adds more. At least one is
	// required.
	Topic  string
	Topics []string
	// MaxProcCount bounds how many handler calls run at once. Default 50.
	// For I/O-bound handlers raise it (hundreds); for CPU-bound ones keep it
	// near the core count.
	MaxProcCount int
	// MaxMsgCountBeforeCommit triggers a commit once this many records have
	// finished since the last one. Default 100. It is a trigger, not a
	// rate: one commit is in flight at a time, and the triggers that come
	// meanwhile merge into the next, which leaves as soon as it returns. So
	// no more than this many finished records wait longer than one commit
	// round trip to be sent, and a consumer at full speed commits once per
	// round trip, whatever its throughput (on a local broker at 0 ms, 60 to
	// 240 small commits a second: see DESIGN.md, Commit rate). Raise it, or
	// rely on CommitIntervalSeconds, to commit less often.
	MaxMsgCountBeforeCommit int
	// CommitIntervalSeconds triggers a commit when this many seconds have
	// passed, whichever of the two comes first. Default 30. A crash replays
	// at most what finished since the last commit.
	CommitIntervalSeconds int
	// EnableAutoCommit must be false. It exists so that configuration
	// written for the seed, which names it, is read; true is refused,
	// because Kafka's auto-commit commits what was fetched, not what was
	// processed, and so can skip unprocessed records on a crash.
	EnableAutoCommit bool

	// Ordering is unordered (default), key or partition.
	Ordering Ordering
	// MaxBufferedRecords bounds records fetched but not finished, across
	// all partitions: the consumer's memory bound. When it is reached,
	// fetching waits. Default max(16×MaxProcCount, 8192).
	MaxBufferedRecords int
	// PartitionWindow bounds, per partition, the offsets between the
	// commit point and the newest fetched record. In partition order, when
	// MaxBufferedRecords divided by the partitions owned is smaller, that
	// fair share is the bound instead, so that a few partitions cannot take
	// the whole buffer with records that must wait their turn.
	// A partition whose window is full is paused (PauseFetchPartitions)
	// until it falls to half, so a stuck record holds back only its own
	// partition. A poll may carry a partition up to one window past it.
	// Default max(8×MaxProcCount, 4096): half of MaxBufferedRecords' default, so
	// that a busy partition, which the broker serves in whole producer
	// batches, is rarely paused (a pause drops what the client prefetched
	// for it), while a stuck one holds at most half the buffer.
	PartitionWindow int
	// MaxBufferedBytes bounds the bytes of records (keys, values, headers)
	// the consumer holds: those waiting for or in a handler, and what the
	// client has prefetched for them, whose fetch sizes are derived from it
	// (about a quarter goes to prefetch). With MaxBufferedRecords it is the
	// consumer's memory bound; a record larger than the bound is still
	// consumed, alone. Default 64 MiB.
	MaxBufferedBytes int

	// MaxRetries is how many times a failed record is retried after its
	// first attempt before FailurePolicy applies. 0 means the default, 3;
	// a negative value means no retries.
	MaxRetries int
	// RetryBackoffMin and RetryBackoffMax bound the exponential backoff,
	// with jitter, between attempts. Defaults 100ms and 10s. A record in
	// backoff holds no MaxProcCount slot and delays only records ordered
	// behind it.
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// FailurePolicy is dead-letter, skip, block or stop. Default:
	// dead-letter when DeadLetterTopic is set, block otherwise, so that a
	// failing record is never silently lost and never takes the group
	// down. Measured in poison_group_test.go on a 3-member group fed one
	// poison record, members restarted on exit as a supervisor would: under
	// stop, 6 exits in 3.9 s on a real broker (2.1 s on kfake) and the
	// partition never moves past the record; under block, 0 exits and
	// every other partition is committed to its end.
	FailurePolicy FailurePolicy
	// DeadLetterTopic receives records that failed for good under the
	// dead-letter policy.
	DeadLetterTopic string

	// AdaptiveConcurrency runs between 1 and MaxProcCount handler calls at
	// once instead of MaxProcCount, adapting the limit as Netflix's
	// concurrency-limits do (AIMD, internal/limit): it starts at 8, doubles
	// each round trip until latency rises, then adds one per round trip,
	// and cuts 10% when the mean latency of a round trip's calls exceeds
	// 1.3× the lower quartile of recent ones, or at once when a handler returns
	// Overloaded or RetryAfter. Default false. For a downstream whose
	// capacity is unknown or changes: MaxProcCount is then a ceiling.
	// Hazard: latency that rises for reasons other than load (a slow
	// record, a GC pause) lowers throughput for a few round trips.
	AdaptiveConcurrency bool
	// MaxBatchSize is the most records in one HandleBatch call (NewBatch
	// only). Default 100. MaxProcCount bounds the records in flight, so
	// a batch holds at most MaxProcCount records: raise MaxProcCount with
	// it.
	MaxBatchSize int
	// BatchLinger is how long a partial batch waits for more records
	// before it is handled anyway (NewBatch only). Default 5ms. A batch
	// also starts at once when every worker waits in it. Longer: fuller
	// batches, more latency per record.
	BatchLinger time.Duration
	// MaxRecordsPerSecond bounds the rate at which records are handed to
	// the handler, over all partitions (a token bucket, golang.org/x/time/
	// rate, with a burst of 20 ms of records). Default 0: no bound, and no
	// cost. For a downstream with a quota; a downstream that says when to
	// come back should return RetryAfter instead, or as well. A fraction
	// is a rate below one a second: 0.5 is one record every 2 s (a quota
	// of 30 a minute). SetMaxRecordsPerSecond changes it at run time.
	MaxRecordsPerSecond float64

	// ShutdownTimeout bounds how long Run waits, once ctx ends, for running
	// handlers; then their context is cancelled and their records stay
	// uncommitted. Default 30s.
	ShutdownTimeout time.Duration
	// RevokeTimeout bounds how long a revoke waits for the partition's
	// running handlers before committing what is done and giving it up.
	// It must stay below RebalanceTimeout. Default 20s.
	RevokeTimeout time.Duration
	// GroupInstanceID makes this consumer a static member of its group
	// (Kafka's group.instance.id, KIP-345): a restarted consumer with the
	// same id takes its partitions back without a rebalance, as long as it
	// returns within SessionTimeout, and a stopped one keeps them reserved
	// until then (its partitions wait rather than move): a static member
	// does not leave the group when it stops, even gracefully. Give each
	// instance its own stable id, such as a StatefulSet pod's name; two
	// live consumers with the same id fence each other. Default "": dynamic
	// membership.
	GroupInstanceID string
	// GroupProtocol is the group protocol: classic (default), where the
	// members balance the partitions among themselves, or consumer
	// (KIP-848, Kafka 4.0+), where the broker does, incrementally and
	// without stopping the group. Under consumer the session timeout and
	// heartbeat interval are the broker's (group.consumer.*; 45 s and 5 s
	// by default), not SessionTimeout, and a static member that was killed
	// cannot rejoin until that session timeout ends. The README compares
	// the two on Kafka 4.4.
	GroupProtocol GroupProtocol
	// SessionTimeout and RebalanceTimeout are the group's (Kafka's
	// session.timeout.ms and rebalance.timeout.ms). Defaults 45s and 60s.
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// AutoOffsetReset is where a partition with no committed offset starts:
	// earliest (default, so nothing is skipped) or latest.
	AutoOffsetReset string
	// ClientID names the client in broker logs and quotas. Default
	// "kafkaworker".
	ClientID string

	// Security.
	// SecurityProtocol is PLAINTEXT (default), SSL, SASL_PLAINTEXT or
	// SASL_SSL, as in Kafka's security.protocol.
	SecurityProtocol string
	// SaslMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SaslMechanism string
	SaslUsername  string
	// SaslPassword is never logged.
	SaslPassword string
	// SslCaLocation, SslCertificateLocation and SslKeyLocation are PEM
	// files: the CA to trust (default: the system's) and a client
	// certificate and key for mutual TLS.
	SslCaLocation          string
	SslCertificateLocation string
	SslKeyLocation         string
}

// Defaults for zero Config fields.
const (
	DefaultMaxProcCount            = 50
	DefaultMaxMsgCountBeforeCommit = 100
	DefaultCommitIntervalSeconds   = 30
	DefaultMaxRetries              = 3
	DefaultRetryBackoffMin         = 100 * time.Millisecond
	DefaultRetryBackoffMax         = 10 * time.Second
	DefaultShutdownTimeout         = 30 * time.Second
	DefaultRevokeTimeout           = 20 * time.Second
	DefaultSessionTimeout          = 45 * time.Second
	DefaultRebalanceTimeout        = 60 * time.Second
	DefaultClientID                = "kafkaworker"
	DefaultMaxBufferedBytes        = 64 << 20
	DefaultShareMembers            = 4 // the fewest share clients the default picks; see Config.ShareMembers
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.MaxProcCount = cmp.Or(c.MaxProcCount, DefaultMaxProcCount)
	c.MaxMsgCountBeforeCommit = cmp.Or(c.MaxMsgCountBeforeCommit, DefaultMaxMsgCountBeforeCommit)
	c.CommitIntervalSeconds = cmp.Or(c.CommitIntervalSeconds, DefaultCommitIntervalSeconds)
	// Derived from a valid MaxProcCount even when this one is not, so that
	// Validate blames only the setting the user got wrong.
	procs := max(c.MaxProcCount, 1)
	c.PartitionWindow = cmp.Or(c.PartitionWindow, max(8*procs, 4096))
	c.MaxBufferedRecords = cmp.Or(c.MaxBufferedRecords, max(16*procs, 8192))
	c.MaxBufferedBytes = cmp.Or(c.MaxBufferedBytes, DefaultMaxBufferedBytes)
	c.MaxRetries = cmp.Or(c.MaxRetries, DefaultMaxRetries)
	c.RetryBackoffMin = cmp.Or(c.RetryBackoffMin, DefaultRetryBackoffMin)
	c.RetryBackoffMax = cmp.Or(c.RetryBackoffMax, DefaultRetryBackoffMax)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.RevokeTimeout = cmp.Or(c.RevokeTimeout, DefaultRevokeTimeout)
	c.SessionTimeout = cmp.Or(c.SessionTimeout, DefaultSessionTimeout)
	c.RebalanceTimeout = cmp.Or(c.RebalanceTimeout, DefaultRebalanceTimeout)
	c.Ordering = cmp.Or(c.Ordering, Unordered)
	c.GroupType = cmp.Or(c.GroupType, ConsumerGroup)
	c.ShareMembers = cmp.Or(c.ShareMembers, min(max(DefaultShareMembers, (4*procs+499)/500), 16))
	c.MaxBatchSize = cmp.Or(c.MaxBatchSize, DefaultMaxBatchSize)
	c.BatchLinger = cmp.Or(c.BatchLinger, DefaultBatchLinger)
	if c.FailurePolicy == "" {
		c.FailurePolicy = BlockPolicy
		if c.DeadLetterTopic != "" {
			c.FailurePolicy = DeadLetterPolicy
		}
	}
	c.AutoOffsetReset = cmp.Or(c.AutoOffsetReset, "earliest")
	c.GroupProtocol = cmp.Or(c.GroupProtocol, ClassicProtocol)
	c.ClientID = cmp.Or(c.ClientID, DefaultClientID)
	c.SecurityProtocol = cmp.Or(c.SecurityProtocol, "PLAINTEXT")
	return c
}

// AllTopics returns Topic and Topics, without duplicates or empty names.
func (c Config) AllTopics() []string {
	var ts []string
	seen := map[string]bool{}
	for _, t := range append([]string{c.Topic}, c.Topics...) {
		if t != "" && !seen[t] {
			seen[t] = true
			ts = append(ts, t)
		}
	}
	return ts
}

// Validate checks c with its defaults applied and reports every problem at
// once as a *ConfigError.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []FieldError
	bad := func(key string, value any, msg string) {
		errs = append(errs, FieldError{Key: key, Value: fmt.Sprint(value), Msg: msg})
	}
	if strings.TrimSpace(c.BootstrapServers) == "" {
		bad("BootstrapServers", c.BootstrapServers, "is required: a comma-separated list of host:port")
	} else {
		for _, s := range strings.Split(c.BootstrapServers, ",") {
			if msg := checkHostPort(strings.TrimSpace(s)); msg != "" {
				bad("BootstrapServers", c.BootstrapServers, msg)
			}
		}
	}
	if c.GroupID == "" {
		bad("GroupId", c.GroupID, "is required")
	}
	if len(c.AllTopics()) == 0 {
		bad("Topic", c.Topic, "is required (or Topics)")
	}
	if c.MaxProcCount < 1 {
		bad("MaxProcCount", c.MaxProcCount, "must be at least 1")
	}
	if c.MaxMsgCountBeforeCommit < 1 {
		bad("MaxMsgCountBeforeCommit", c.MaxMsgCountBeforeCommit, "must be at least 1")
	}
	if c.CommitIntervalSeconds < 1 {
		bad("CommitIntervalSeconds", c.CommitIntervalSeconds, "must be at least 1")
	}
	if c.EnableAutoCommit {
		bad("EnableAutoCommit", c.EnableAutoCommit,
			"must be false: auto-commit commits what was fetched, not what was processed, and can skip records on a crash; kafkaworker commits in order itself")
	}
	switch c.Ordering {
	case Unordered, KeyOrdered, PartitionOrdered:
	default:
		bad("Ordering", c.Ordering, "must be unordered, key or partition")
	}
	switch c.GroupType {
	case ConsumerGroup:
	case ShareGroup:
		if c.Ordering != Unordered {
			bad("Ordering", c.Ordering, "must be unordered with GroupType share: a share group hands a partition's records to several members at once and keeps no order; use GroupType consumer for key or partition order")
		}
		if c.ShareMembers < 1 {
			bad("ShareMembers", c.ShareMembers, "must be at least 1")
		}
	default:
		bad("GroupType", c.GroupType, "must be consumer or share")
	}
	if c.PartitionWindow < 1 {
		bad("PartitionWindow", c.PartitionWindow, "must be at least 1")
	}
	if c.MaxBufferedRecords < c.PartitionWindow {
		bad("MaxBufferedRecords", c.MaxBufferedRecords,
			fmt.Sprintf("must be at least PartitionWindow (%d), or one stuck partition could hold the whole buffer", c.PartitionWindow))
	}
	if c.MaxBufferedBytes < 1<<20 {
		bad("MaxBufferedBytes", c.MaxBufferedBytes, "must be at least 1 MiB (1048576)")
	}
	if c.MaxBatchSize < 1 {
		bad("MaxBatchSize", c.MaxBatchSize, "must be at least 1")
	}
	if c.BatchLinger < 0 {
		bad("BatchLinger", c.BatchLinger, "must not be negative")
	}
	if c.MaxRecordsPerSecond < 0 || math.IsNaN(c.MaxRecordsPerSecond) || math.IsInf(c.MaxRecordsPerSecond, 0) {
		bad("MaxRecordsPerSecond", c.MaxRecordsPerSecond, "must be 0 (no bound) or a positive number")
	}
	if c.RetryBackoffMin < 0 {
		bad("RetryBackoffMin", c.RetryBackoffMin, "must not be negative")
	}
	if c.RetryBackoffMax < c.RetryBackoffMin {
		bad("RetryBackoffMax", c.RetryBackoffMax, "must not be below RetryBackoffMin")
	}
	switch c.FailurePolicy {
	case DeadLetterPolicy:
		if c.DeadLetterTopic == "" {
			bad("DeadLetterTopic", c.DeadLetterTopic, "is required by FailurePolicy dead-letter")
		}
	case SkipPolicy, StopPolicy, BlockPolicy:
	default:
		bad("FailurePolicy", c.FailurePolicy, "must be dead-letter, skip, block or stop")
	}
	if c.DeadLetterTopic != "" && slices.Contains(c.AllTopics(), c.DeadLetterTopic) {
		bad("DeadLetterTopic", c.DeadLetterTopic, "must not be a consumed topic: the consumer would read its own dead letters")
	}
	for key, d := range map[string]time.Duration{"ShutdownTimeout": c.ShutdownTimeout,
		"RevokeTimeout": c.RevokeTimeout, "SessionTimeout": c.SessionTimeout, "RebalanceTimeout": c.RebalanceTimeout} {
		if d < 0 {
			bad(key, d, "must not be negative")
		}
	}
	if c.RevokeTimeout >= c.RebalanceTimeout {
		bad("RevokeTimeout", c.RevokeTimeout, fmt.Sprintf("must be below RebalanceTimeout (%s), or the group expels the member while it drains", c.RebalanceTimeout))
	}
	switch GroupProtocol(strings.ToLower(string(c.GroupProtocol))) {
	case ClassicProtocol, ConsumerProtocol:
	default:
		bad("GroupProtocol", c.GroupProtocol, "must be classic or consumer")
	}
	if len(c.GroupInstanceID) > 249 || strings.TrimSpace(c.GroupInstanceID) != c.GroupInstanceID {
		bad("GroupInstanceId", c.GroupInstanceID, "must be at most 249 characters, without leading or trailing spaces")
	}
	switch strings.ToLower(c.AutoOffsetReset) {
	case "earliest", "latest":
	default:
		bad("AutoOffsetReset", c.AutoOffsetReset, "must be earliest or latest")
	}
	errs = append(errs, c.validateSecurity()...)
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return &ConfigError{Problems: errs}
}

// checkHostPort explains what is wrong with a bootstrap address, or returns "".
func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (%v)", s, err)
	}
	if host == "" || strings.Contains(host, "/") {
		return fmt.Sprintf("%q has no host name (host:port, no scheme)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q has no port number from 1 to 65535", s)
	}
	return ""
}

func (c Config) validateSecurity() []FieldError {
	var errs []FieldError
	bad := func(key, value, msg string) { errs = append(errs, FieldError{Key: key, Value: value, Msg: msg}) }
	proto := strings.ToUpper(c.SecurityProtocol)
	switch proto {
	case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		bad("SecurityProtocol", c.SecurityProtocol, "must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
	}
	sasl := strings.HasPrefix(proto, "SASL_")
	if sasl {
		switch strings.ToUpper(c.SaslMechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			bad("SaslMechanism", c.SaslMechanism, "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with a SASL_ protocol")
		}
		if c.SaslUsername == "" {
			bad("SaslUsername", "", "is required with a SASL_ protocol")
		}
		if c.SaslPassword == "" {
			bad("SaslPassword", "", "is required with a SASL_ protocol")
		}
	} else if c.SaslMechanism != "" || c.SaslUsername != "" || c.SaslPassword != "" {
		bad("SecurityProtocol", c.SecurityProtocol, "must be SASL_PLAINTEXT or SASL_SSL when SASL settings are given")
	}
	if (c.SslCertificateLocation == "") != (c.SslKeyLocation == "") {
		bad("SslKeyLocation", c.SslKeyLocation, "SslCertificateLocation and SslKeyLocation go together")
	}
	return errs
}
