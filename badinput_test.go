//go:build unix

// Bad input: configuration, addresses, topics, handlers and records that are
// wrong or extreme. Each test says what the consumer must do instead of
// crashing, hanging, spinning or losing records. The file is unix-only
// because it measures the process's CPU time with getrusage(2).

package kafkaworker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/health"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

var nopHandler = kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil })

// secretPassword is set as SaslPassword in every configuration below; it must
// never appear in an error.
const secretPassword = "pa55-Sekr1t-do-not-echo"

// Every malformed or out-of-range setting is refused by New with a
// *ConfigError naming exactly the keys at fault, and the SASL password never
// appears in the error.
func TestBadInputConfigRefusedWithEveryKey(t *testing.T) {
	valid := func() kafkaworker.Config {
		return kafkaworker.Config{BootstrapServers: "broker-1:9092,broker-2:9092", GroupID: "g", Topic: "orders",
			SecurityProtocol: "SASL_SSL", SaslMechanism: "SCRAM-SHA-512", SaslUsername: "app"}
	}
	tests := []struct {
		name string
		set  func(*kafkaworker.Config)
		want []string // the keys New must name, and no others
	}{
		{"negative MaxProcCount", func(c *kafkaworker.Config) { c.MaxProcCount, c.PartitionWindow, c.MaxBufferedRecords = -1, 1024, 4096 }, []string{"MaxProcCount"}},
		{"negative MaxMsgCountBeforeCommit", func(c *kafkaworker.Config) { c.MaxMsgCountBeforeCommit = -5 }, []string{"MaxMsgCountBeforeCommit"}},
		{"negative CommitIntervalSeconds", func(c *kafkaworker.Config) { c.CommitIntervalSeconds = -1 }, []string{"CommitIntervalSeconds"}},
		{"auto-commit on", func(c *kafkaworker.Config) { c.EnableAutoCommit = true }, []string{"EnableAutoCommit"}},
		{"negative PartitionWindow", func(c *kafkaworker.Config) { c.PartitionWindow, c.MaxBufferedRecords = -1, 4096 }, []string{"PartitionWindow"}},
		{"negative MaxBufferedRecords", func(c *kafkaworker.Config) { c.MaxBufferedRecords = -1 }, []string{"MaxBufferedRecords"}},
		{"MaxBufferedRecords below PartitionWindow", func(c *kafkaworker.Config) { c.PartitionWindow, c.MaxBufferedRecords = 2000, 1000 }, []string{"MaxBufferedRecords"}},
		{"negative RetryBackoffMin", func(c *kafkaworker.Config) { c.RetryBackoffMin = -time.Second }, []string{"RetryBackoffMin"}},
		{"RetryBackoffMax below RetryBackoffMin", func(c *kafkaworker.Config) { c.RetryBackoffMin, c.RetryBackoffMax = 2*time.Second, time.Second }, []string{"RetryBackoffMax"}},
		{"negative ShutdownTimeout", func(c *kafkaworker.Config) { c.ShutdownTimeout = -time.Second }, []string{"ShutdownTimeout"}},
		{"negative SessionTimeout", func(c *kafkaworker.Config) { c.SessionTimeout = -time.Second }, []string{"SessionTimeout"}},
		{"negative RevokeTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout = -time.Second }, []string{"RevokeTimeout"}},
		{"RevokeTimeout equal to RebalanceTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout, c.RebalanceTimeout = 30*time.Second, 30*time.Second }, []string{"RevokeTimeout"}},
		{"RevokeTimeout above the default RebalanceTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout = 90 * time.Second }, []string{"RevokeTimeout"}},
		{"RebalanceTimeout below the default RevokeTimeout", func(c *kafkaworker.Config) { c.RebalanceTimeout = 10 * time.Second }, []string{"RevokeTimeout"}},
		{"bad Ordering", func(c *kafkaworker.Config) { c.Ordering = "fifo" }, []string{"Ordering"}},
		{"bad FailurePolicy", func(c *kafkaworker.Config) { c.FailurePolicy = "retry-forever" }, []string{"FailurePolicy"}},
		{"bad AutoOffsetReset", func(c *kafkaworker.Config) { c.AutoOffsetReset = "smallest" }, []string{"AutoOffsetReset"}},
		{"bad SecurityProtocol", func(c *kafkaworker.Config) { c.SecurityProtocol = "TLS" }, []string{"SecurityProtocol"}},
		{"SASL without credentials", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername, c.SaslPassword = "SASL_SSL", "PLAIN", "", ""
		}, []string{"SaslPassword", "SaslUsername"}},
		{"SASL without a mechanism", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SaslMechanism = "SASL_PLAINTEXT", "" }, []string{"SaslMechanism"}},
		{"SASL with an unknown mechanism", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername = "SASL_SSL", "GSSAPI", "app"
		}, []string{"SaslMechanism"}},
		{"SASL settings on PLAINTEXT", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SaslMechanism = "PLAINTEXT", "PLAIN" }, []string{"SecurityProtocol"}},
		{"certificate without key", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SslCertificateLocation = "SASL_SSL", "/etc/kw/client.pem"
		}, []string{"SslKeyLocation"}},
		{"key without certificate", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SslKeyLocation = "SASL_SSL", "/etc/kw/client.key" }, []string{"SslKeyLocation"}},
		{"dead-letter policy without a topic", func(c *kafkaworker.Config) { c.FailurePolicy = kafkaworker.DeadLetterPolicy }, []string{"DeadLetterTopic"}},
		{"dead-letter topic is the consumed Topic", func(c *kafkaworker.Config) { c.DeadLetterTopic = "orders" }, []string{"DeadLetterTopic"}},
		{"no BootstrapServers", func(c *kafkaworker.Config) { c.BootstrapServers = "" }, []string{"BootstrapServers"}},
		{"blank BootstrapServers", func(c *kafkaworker.Config) { c.BootstrapServers = " , " }, []string{"BootstrapServers"}},
		{"BootstrapServers without a port", func(c *kafkaworker.Config) { c.BootstrapServers = "broker-1" }, []string{"BootstrapServers"}},
		{"one of the BootstrapServers without a port", func(c *kafkaworker.Config) { c.BootstrapServers = "broker-1:9092,broker-2" }, []string{"BootstrapServers"}},
		{"no GroupId", func(c *kafkaworker.Config) { c.GroupID = "" }, []string{"GroupId"}},
		{"a SASL password without a SASL protocol", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername = "PLAINTEXT", "", ""
		}, []string{"SecurityProtocol"}},
		{"no Topic", func(c *kafkaworker.Config) { c.Topic = "" }, []string{"Topic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			cfg.SaslPassword = secretPassword
			tt.set(&cfg)
			c, err := kafkaworker.New(cfg, nopHandler)
			if c != nil || err == nil {
				t.Fatalf("New accepted %+v", tt.name)
			}
			got := configErrorKeys(t, err)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("New reported keys %v, want %v:\n%v", got, tt.want, err)
			}
			for _, k := range tt.want {
				if !strings.Contains(err.Error(), k+"=") {
					t.Fatalf("error text does not name %s:\n%v", k, err)
				}
			}
		})
	}

	// Everything wrong at once: one error lists every key.
	cfg := kafkaworker.Config{
		BootstrapServers: "broker-1", MaxProcCount: -1, MaxMsgCountBeforeCommit: -1, CommitIntervalSeconds: -1,
		EnableAutoCommit: true, Ordering: "fifo", RetryBackoffMin: -1, ShutdownTimeout: -1, RevokeTimeout: time.Hour,
		AutoOffsetReset: "smallest", FailurePolicy: kafkaworker.DeadLetterPolicy, SecurityProtocol: "SASL_SSL",
		SaslPassword: secretPassword, SslCertificateLocation: "/etc/kw/client.pem",
	}
	_, err := kafkaworker.New(cfg, nopHandler)
	got := configErrorKeys(t, err)
	for _, k := range []string{"AutoOffsetReset", "BootstrapServers", "CommitIntervalSeconds", "DeadLetterTopic",
		"EnableAutoCommit", "GroupId", "MaxMsgCountBeforeCommit", "MaxProcCount", "Ordering", "RetryBackoffMin",
		"RevokeTimeout", "SaslMechanism", "SaslUsername", "ShutdownTimeout", "SslKeyLocation", "Topic"} {
		if !slices.Contains(got, k) {
			t.Errorf("everything wrong: %s not reported in\n%v", k, err)
		}
	}
}

// The dead-letter topic must not be any consumed topic, not only Topic: a
// consumer reading its own dead letters fails them again, forever.
func TestBadInputDeadLetterTopicAmongTopicsRefused(t *testing.T) {
	for _, cfg := range []kafkaworker.Config{
		{BootstrapServers: "b:9092", GroupID: "g", Topic: "orders", Topics: []string{"orders-dlt"}, DeadLetterTopic: "orders-dlt"},
		{BootstrapServers: "b:9092", GroupID: "g", Topics: []string{"orders", "orders-dlt"}, DeadLetterTopic: "orders-dlt"},
	} {
		_, err := kafkaworker.New(cfg, nopHandler)
		if err == nil {
			t.Fatalf("DeadLetterTopic %q also in Topics %v is accepted: Validate compares it with Topic only", cfg.DeadLetterTopic, cfg.Topics)
		}
		if got := configErrorKeys(t, err); !slices.Equal(got, []string{"DeadLetterTopic"}) {
			t.Fatalf("New = %v, want a DeadLetterTopic problem", err)
		}
	}
}

// A negative MaxProcCount is one problem: New must not also blame
// PartitionWindow or MaxBufferedRecords, left at zero (their defaults).
func TestBadInputNegativeMaxProcCountBlamesOnlyIt(t *testing.T) {
	_, err := kafkaworker.New(kafkaworker.Config{BootstrapServers: "b:9092", GroupID: "g", Topic: "t", MaxProcCount: -1}, nopHandler)
	got := configErrorKeys(t, err)
	if len(got) > 1 && got[0] == "MaxProcCount" {
		t.Fatalf("unset PartitionWindow/MaxBufferedRecords are reported as invalid when MaxProcCount is negative:\n%v", err)
	}
	if !slices.Equal(got, []string{"MaxProcCount"}) {
		t.Fatalf("New reported keys %v, want [MaxProcCount]:\n%v", got, err)
	}
}

// BootstrapServers that contain a colon but are no host:port are refused by
// New, not found out by Run (as a raw franz-go parse error or a misleading
// "brokers unreachable").
func TestBadInputBootstrapServersNotHostPort(t *testing.T) {
	var accepted []string
	for _, seeds := range []string{"broker-1:http", "broker-1:99999", "kafka://broker-1:9092", "broker-1:9092:9093", ":9092"} {
		_, err := kafkaworker.New(kafkaworker.Config{BootstrapServers: seeds, GroupID: "g", Topic: "t"}, nopHandler)
		if err == nil {
			accepted = append(accepted, seeds)
			continue
		}
		if got := configErrorKeys(t, err); !slices.Equal(got, []string{"BootstrapServers"}) {
			t.Fatalf("New(%q) = %v, want a BootstrapServers problem", seeds, err)
		}
	}
	if len(accepted) > 0 {
		t.Fatalf("New accepts BootstrapServers %q: Validate only checks for a colon", accepted)
	}
}

// configErrorKeys returns the sorted keys of err, which must be a
// *ConfigError that never echoes the SASL password.
func configErrorKeys(t *testing.T, err error) []string {
	t.Helper()
	var ce *kafkaworker.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want *ConfigError", err, err)
	}
	if strings.Contains(err.Error(), secretPassword) || strings.Contains(fmt.Sprintf("%#v", ce), secretPassword) {
		t.Fatalf("the error echoes SaslPassword:\n%v", err)
	}
	var keys []string
	for _, p := range ce.Problems {
		if p.Msg == "" {
			t.Errorf("problem %s has no message", p.Key)
		}
		if !slices.Contains(keys, p.Key) {
			keys = append(keys, p.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

// waitTopicGone waits until the broker's metadata no longer has topic. It
// asks the broker directly: kadm's ListTopics may answer from the client's
// metadata cache.
func waitTopicGone(t *testing.T, cl *testkafka.Cluster, topic string) {
	t.Helper()
	waitUntil(t, 30*time.Second, topic+" gone from the metadata", func() bool {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), cl.Client())
		return err == nil && len(resp.Topics) == 1 &&
			errors.Is(kerr.ErrorForCode(resp.Topics[0].ErrorCode), kerr.UnknownTopicOrPartition)
	})
}

// cpuTime is the CPU time (user and system) the whole process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// silentBroker accepts connections and never answers; it returns its address
// and how many connections it accepted so far.
func silentBroker(t *testing.T) (addr string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(conns) }
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Unreachable brokers, silent or refusing: Run returns ErrBrokersUnreachable
// naming the address within the start-up timeout, and waits without
// spinning.
func TestBadInputUnreachableBrokers(t *testing.T) {
	const startup = 2 * time.Second
	silent, accepted := silentBroker(t)
	for _, tt := range []struct{ name, addr string }{
		{"accepts and never answers", silent},
		{"closed port", closedPort(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := kafkaworker.Config{BootstrapServers: tt.addr, GroupID: "g", Topic: "orders"}
			c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()), kafkaworker.WithStartupTimeout(startup))
			if err != nil {
				t.Fatal(err)
			}
			cpu0, t0 := cpuTime(t), time.Now()
			err = runWithin(t, c, context.Background(), startup+5*time.Second)
			wall, cpu := time.Since(t0), cpuTime(t)-cpu0
			t.Logf("Run returned after %s using %s CPU: %v", wall.Round(time.Millisecond), cpu.Round(time.Millisecond), err)
			if !errors.Is(err, kafkaworker.ErrBrokersUnreachable) {
				t.Fatalf("Run = %v, want ErrBrokersUnreachable", err)
			}
			if !strings.Contains(err.Error(), tt.addr) {
				t.Fatalf("the error does not name the address %s: %v", tt.addr, err)
			}
			// A busy loop would use about one core for the whole wait.
			// (A refused connection fails at once: nothing to measure.)
			if wall > 500*time.Millisecond && cpu > wall/4 {
				t.Fatalf("Run used %s of CPU in %s of waiting: it spins", cpu, wall)
			}
		})
	}
	if n := accepted(); n < 1 || n > 10 {
		t.Fatalf("the client opened %d connections to the silent broker in %s, want 1 to 10", n, startup)
	}

	// Cancelling Run's context ends the start-up wait at once, long before
	// the start-up timeout.
	cfg := kafkaworker.Config{BootstrapServers: silent, GroupID: "g", Topic: "orders"}
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()), kafkaworker.WithStartupTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := runWithin(t, c, ctx, 5*time.Second); err == nil {
		t.Fatal("Run = nil on a silent broker")
	}
	t.Logf("cancelled start-up returned after %s", time.Since(t0).Round(time.Millisecond))
}

// runWithin runs c until it returns, failing the test if that takes longer
// than bound.
func runWithin(t *testing.T, c *kafkaworker.Consumer, ctx context.Context, bound time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("Run did not return within %s", bound)
		return nil
	}
}

// A missing topic is reported at start-up, by name, at once; an existing
// topic next to it is not blamed.
func TestBadInputTopicMissingAtStart(t *testing.T) {
	cl := testkafka.Start(t)
	topic, missing := cl.Topic(t, 1), cl.Name(t, "missing")
	cfg := baseConfig(cl, cl.Name(t, "g"), topic)
	cfg.Topics = []string{missing}
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = runWithin(t, c, context.Background(), 20*time.Second)
	if !errors.Is(err, kafkaworker.ErrTopicNotFound) {
		t.Fatalf("Run = %v, want ErrTopicNotFound", err)
	}
	if !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), strconv.Quote(topic)) {
		t.Fatalf("the error should name %s and only it: %v", missing, err)
	}
	t.Logf("tier %s: Run returned after %s: %v", cl.Tier(), time.Since(t0).Round(time.Millisecond), err)
	if err := c.Run(context.Background()); !errors.Is(err, kafkaworker.ErrClosed) {
		t.Fatalf("second Run = %v, want ErrClosed", err)
	}
}

// A topic deleted under a running consumer, with everything committed or
// with a record still running: the consumer neither crashes nor spins, and
// Run still returns promptly when asked to stop, with nil or with an error
// naming the topic (the final commit of a deleted partition fails).
func TestBadInputTopicDeletedWhileConsuming(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		t.Run(fmt.Sprintf("in flight %t", inFlight), func(t *testing.T) { topicDeleted(t, inFlight) })
	}
}

func topicDeleted(t *testing.T, inFlight bool) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	const n = 300
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	// With inFlight, the last record of the fullest partition is held
	// until the topic is gone.
	var hp int32
	for p, end := range ends {
		if end > ends[hp] {
			hp = p
		}
	}
	held, release := make(chan struct{}), make(chan struct{})
	var processed atomic.Int64
	c, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		if inFlight && r.Partition == hp && r.Offset == ends[hp]-1 {
			close(held)
			<-release
		}
		processed.Add(1)
		return nil
	}))
	want, wantProcessed := maps.Clone(ends), int64(n)
	if inFlight {
		want[hp]--
		wantProcessed--
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the record to hold never came")
		}
	}
	waitUntil(t, 30*time.Second, "all committed but the held record", func() bool {
		return processed.Load() == wantProcessed && committedAll(cl, group, topic, want)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Admin().DeleteTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	waitTopicGone(t, cl, topic)
	if inFlight {
		close(release) // it finishes after its partition is gone
	}
	// Watch the consumer for a while with the topic gone: it must stay up
	// and idle.
	const watch = 2 * time.Second
	cpu0, t0 := cpuTime(t), time.Now()
	for time.Since(t0) < watch {
		if s := c.Stats(); !s.Running {
			t.Fatalf("the consumer stopped running after its topic was deleted: %+v", s)
		}
		time.Sleep(50 * time.Millisecond) // sampling, not synchronisation
	}
	wall, cpu := time.Since(t0), cpuTime(t)-cpu0
	s := c.Stats()
	t.Logf("tier %s: topic deleted; over %s the process used %s CPU; partitions %d, revoked %d, lost %d, commits %d, commit errors %d",
		cl.Tier(), wall.Round(time.Millisecond), cpu.Round(time.Millisecond), len(s.Partitions), s.Revoked, s.Lost, s.Commits, s.CommitErrors)
	if cpu > wall/2 {
		t.Fatalf("%s of CPU in %s after the topic was deleted: the consumer spins", cpu, wall)
	}
	if s.CommitErrors > 10 {
		t.Fatalf("%d commit errors in %s: commits of the deleted topic are retried without backoff", s.CommitErrors, wall)
	}
	t0 = time.Now()
	err := stop()
	d := time.Since(t0)
	t.Logf("shutdown took %s: Run = %v", d.Round(time.Millisecond), err)
	if err != nil && !strings.Contains(err.Error(), topic) {
		t.Fatalf("Run after the topic was deleted = %v, want nil or an error naming the topic", err)
	}
	if d > 10*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
	if got := processed.Load(); got != n {
		t.Fatalf("processed %d records, want %d (nothing new after the deletion)", got, n)
	}
}

// A missing dead-letter topic fails the start-up check, by name, although
// the consumed topic exists.
func TestBadInputDeadLetterTopicMissingAtStart(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt := cl.Topic(t, 1), cl.Name(t, "dlt")
	cfg := baseConfig(cl, cl.Name(t, "g"), topic)
	cfg.DeadLetterTopic = dlt
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	err = runWithin(t, c, context.Background(), 20*time.Second)
	if !errors.Is(err, kafkaworker.ErrTopicNotFound) || !strings.Contains(err.Error(), dlt) {
		t.Fatalf("Run = %v, want ErrTopicNotFound naming %s", err, dlt)
	}
}

// The dead-letter topic deleted after start-up, then a poison record: Run
// stops with ErrRecordFailed and the poison offset stays uncommitted.
func TestBadInputDeadLetterTopicDeletedThenPoison(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt, group := cl.Topic(t, 1), cl.Topic(t, 1), cl.Name(t, "g")
	const good = 20
	cl.Produce(t, topic, good, nil)
	poison := errors.New("poison record")
	var processed atomic.Int64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset >= good && string(r.Value) == "poison" {
			return poison
		}
		processed.Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.DeadLetterTopic = dlt
	cfg.MaxRetries = 1
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitUntil(t, 30*time.Second, "the good records committed", func() bool { return committedAll(cl, group, topic, map[int32]int64{0: good}) })

	actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer acancel()
	if _, err := cl.Admin().DeleteTopics(actx, dlt); err != nil {
		t.Fatal(err)
	}
	waitTopicGone(t, cl, dlt)
	recs := []*kgo.Record{{Topic: topic, Value: []byte("poison")}, {Topic: topic, Value: []byte("after")}}
	if err := cl.Client().ProduceSync(actx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
		done <- err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop within 60s of the poison record")
	}
	// ErrRecordFailed wraps the dead letter's error; the handler's is
	// quoted.
	if !errors.Is(err, kafkaworker.ErrRecordFailed) || !errors.Is(err, kerr.UnknownTopicOrPartition) ||
		!strings.Contains(err.Error(), strconv.Quote(dlt)) || !strings.Contains(err.Error(), poison.Error()) {
		t.Fatalf("Run = %v, want ErrRecordFailed naming %s, its error and the handler's", err, dlt)
	}
	if got := cl.Committed(t, group, topic)[0]; got != good {
		t.Fatalf("committed %d, want %d: the poison offset", got, good)
	}
	t.Logf("tier %s: Run = %v", cl.Tier(), err)
}

// A handler that panics on every attempt under the stop policy: Run returns
// ErrRecordFailed wrapping a *PanicError with the panic value and a stack.
func TestBadInputPanicEveryAttemptStops(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 10, nil)
	var attempts atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == 4 {
			attempts.Add(1)
			panic(fmt.Sprintf("cannot decode order %d", r.Offset))
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxRetries = 2
	// The engine logs each panic's stack at Error: keep the test's output
	// readable.
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	err = runWithin(t, c, context.Background(), 60*time.Second)
	var pe *kafkaworker.PanicError
	if !errors.Is(err, kafkaworker.ErrRecordFailed) || !errors.As(err, &pe) {
		t.Fatalf("Run = %v, want ErrRecordFailed wrapping a *PanicError", err)
	}
	if fmt.Sprint(pe.Value) != "cannot decode order 4" || !bytes.Contains(pe.Stack, []byte("badinput_test.go")) {
		t.Fatalf("PanicError value %v, stack:\n%s", pe.Value, pe.Stack)
	}
	if got := attempts.Load(); got != 3 {
		t.Fatalf("%d attempts, want 1+MaxRetries = 3", got)
	}
	if got := cl.Committed(t, group, topic)[0]; got != 4 {
		t.Fatalf("committed %d, want 4: the panicking offset", got)
	}
}

// A handler that never returns and ignores its context: /readyz turns 503
// "stalled" while it is stuck; on shutdown Run gives up after
// ShutdownTimeout with ErrShutdownTimeout, having committed every offset
// before the stuck record and not the stuck one.
func TestBadInputHandlerNeverReturns(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	const n, stuckAt = 100, 40
	cl.Produce(t, topic, n, nil)
	release := make(chan struct{})
	var stuckCtx atomic.Pointer[context.Context]
	var processed atomic.Int64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == stuckAt {
			stuckCtx.Store(&ctx)
			<-release // ignores ctx on purpose
			return nil
		}
		processed.Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	// Released after Run has returned, so that no goroutine outlives the
	// test.
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	// The readiness check the kafkaworker binary serves on /readyz.
	ready := health.NewChecker(c, 300*time.Millisecond)
	probe := func() (int, health.Report) {
		w := httptest.NewRecorder()
		ready.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body health.Report
		if err := json.NewDecoder(w.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return w.Code, body
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitUntil(t, 30*time.Second, "the other records processed and committed up to the stuck one", func() bool {
		return processed.Load() == n-1 && committedAll(cl, group, topic, map[int32]int64{0: stuckAt})
	})
	var code int
	var body health.Report
	waitUntil(t, 10*time.Second, "/readyz reporting the stall", func() bool {
		code, body = probe()
		return code == http.StatusServiceUnavailable && body.Status == health.Stalled
	})
	if len(body.Stalled) != 1 || body.Stalled[0].Topic != topic || body.Stalled[0].Partition != 0 {
		t.Fatalf("/readyz %d %+v, want partition 0 of %s stalled", code, body, topic)
	}

	t0 := time.Now()
	cancel()
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15s with a stuck handler and a 500ms ShutdownTimeout")
	}
	took := time.Since(t0)
	t.Logf("tier %s: Run returned after %s: %v", cl.Tier(), took.Round(time.Millisecond), err)
	if !errors.Is(err, kafkaworker.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	if took < cfg.ShutdownTimeout {
		t.Fatalf("Run returned after %s, before ShutdownTimeout %s", took, cfg.ShutdownTimeout)
	}
	if p := stuckCtx.Load(); p == nil || (*p).Err() == nil {
		t.Fatal("the stuck handler's context was not cancelled at the shutdown deadline")
	}
	if got := cl.Committed(t, group, topic)[0]; got != stuckAt {
		t.Fatalf("committed %d, want %d: everything before the stuck record and not it", got, stuckAt)
	}
	releaseOnce.Do(func() { close(release) })
}

// A record of 2 MB, above the client's per-partition fetch size (1 MB) and
// the producer's default batch limit, among small ones: it is delivered
// whole and nothing around it is lost.
func TestBadInputRecordLargerThanFetchLimits(t *testing.T) {
	cl := testkafka.Start(t)
	maxBytes := strconv.Itoa(4 << 20)
	topic := cl.TopicRF(t, 2, 1, map[string]*string{"max.message.bytes": &maxBytes})
	group := cl.Name(t, "g")
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	bigSum := sha256.Sum256(big)

	pr, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var recs []*kgo.Record
	for i := range 100 {
		v := binary.BigEndian.AppendUint64(nil, uint64(i))
		if i == 50 {
			v = big
		}
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends := cl.EndOffsets(t, topic)

	tr := newTracker()
	var bigSeen atomic.Int32
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if len(r.Value) > 8 {
			if len(r.Value) != len(big) || sha256.Sum256(r.Value) != bigSum {
				return kafkaworker.Permanent(fmt.Errorf("big record corrupted: %d bytes", len(r.Value)))
			}
			bigSeen.Add(1)
		}
		tr.mark(r)
		return nil
	}))
	waitUntil(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost, dup, first := tr.check(ends)
	if lost != 0 || dup != 0 || bigSeen.Load() != 1 {
		t.Fatalf("lost %d (first %s), duplicates %d, big record seen %d times", lost, first, dup, bigSeen.Load())
	}
}

// binRecord is a record of the binary test, and what the handler saw of it.
type binRecord struct {
	key, value []byte
	seq        int // order among records of the same key and partition
}

// Keys and values made of every byte value, an empty key next to a nil key,
// empty values and tombstones, in key mode: every record arrives byte-exact
// (nil and empty kept apart), nil-key records run in parallel, and records
// of each non-nil key run one at a time in offset order.
func TestBadInputBinaryKeysAndValues(t *testing.T) {
	cl := testkafka.Start(t)
	const partitions = 4
	topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	// Per partition, the records in the order produced.
	want := map[int32][]binRecord{}
	add := func(p int32, key, value []byte) {
		seq := 0
		for _, r := range want[p] {
			if r.key != nil && bytes.Equal(r.key, key) {
				seq++
			}
		}
		want[p] = append(want[p], binRecord{key: key, value: value, seq: seq})
	}
	for round := range 3 {
		for b := range 256 {
			key := []byte{byte(b)}
			if b%16 == 0 {
				key = append([]byte{0, 0xff}, all[b:]...) // long binary keys too
			}
			p := int32(b % partitions)
			switch {
			case round == 1 && b%5 == 0:
				add(p, key, nil) // tombstone
			case round == 2 && b%7 == 0:
				add(p, key, []byte{}) // empty value
			default:
				add(p, key, append(slices.Clone(all[b:]), all[:b]...))
			}
		}
		add(0, []byte{}, []byte{byte(round)}) // the empty key: a key like any other
		add(1, []byte{}, nil)
	}
	for i := range 8 {
		add(2, nil, []byte{0, byte(i), 0xff}) // no key: not ordered
	}
	add(3, nil, nil)
	add(3, nil, []byte{})

	pr, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var recs []*kgo.Record
	total := 0
	for p, rs := range want {
		for _, r := range rs {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: r.key, Value: r.value})
			total++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends := cl.EndOffsets(t, topic)
	for p, rs := range want {
		if ends[p] != int64(len(rs)) {
			t.Fatalf("partition %d holds %d records, produced %d", p, ends[p], len(rs))
		}
	}

	var mu sync.Mutex
	got := map[int32]map[int64]binRecord{}
	busy := map[string]bool{} // partition and key -> running
	var violations []string
	nilKeyRunning, nilKeyPeak := 0, 0
	bothNil := make(chan struct{}) // closed once two nil-key records run at once
	var bothOnce sync.Once
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		k := fmt.Sprintf("%d/%x", r.Partition, r.Key)
		mu.Lock()
		if r.Key == nil {
			nilKeyRunning++
			nilKeyPeak = max(nilKeyPeak, nilKeyRunning)
			if nilKeyRunning >= 2 {
				bothOnce.Do(func() { close(bothNil) })
			}
		} else {
			if busy[k] {
				violations = append(violations, fmt.Sprintf("key %s: two records at once (offset %d)", k, r.Offset))
			}
			busy[k] = true
			for o, prev := range got[r.Partition] {
				if prev.key != nil && bytes.Equal(prev.key, r.Key) && o > r.Offset {
					violations = append(violations, fmt.Sprintf("key %s: offset %d after %d", k, r.Offset, o))
				}
			}
		}
		if got[r.Partition] == nil {
			got[r.Partition] = map[int64]binRecord{}
		}
		got[r.Partition][r.Offset] = binRecord{key: r.Key, value: r.Value}
		mu.Unlock()
		if r.Key == nil && r.Partition == 2 {
			// Hold the first nil-key records until a second one runs
			// beside it: proof that they are not serialised.
			select {
			case <-bothNil:
			case <-time.After(5 * time.Second):
			}
		}
		mu.Lock()
		if r.Key == nil {
			nilKeyRunning--
		} else {
			busy[k] = false
		}
		mu.Unlock()
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.Ordering = kafkaworker.KeyOrdered
	cfg.MaxProcCount = 16
	_, stop := startConsumer(t, cfg, h)
	waitUntil(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d ordering violations, first: %s", len(violations), violations[0])
	}
	if nilKeyPeak < 2 {
		t.Fatal("records without a key never ran in parallel")
	}
	seen := 0
	for p, rs := range want {
		for o, w := range rs {
			g, ok := got[p][int64(o)]
			if !ok {
				t.Fatalf("partition %d offset %d never delivered", p, o)
			}
			seen++
			if (g.key == nil) != (w.key == nil) || !bytes.Equal(g.key, w.key) {
				t.Fatalf("partition %d offset %d: key %q (nil %t), want %q (nil %t)", p, o, g.key, g.key == nil, w.key, w.key == nil)
			}
			if (g.value == nil) != (w.value == nil) || !bytes.Equal(g.value, w.value) {
				t.Fatalf("partition %d offset %d: value %q (nil %t), want %q (nil %t)", p, o, g.value, g.value == nil, w.value, w.value == nil)
			}
		}
	}
	if seen != total {
		t.Fatalf("checked %d records, produced %d", seen, total)
	}
	t.Logf("tier %s: %d binary records byte-exact; nil-key peak parallelism %d", cl.Tier(), total, nilKeyPeak)
}

// Offsets committed by another client, with metadata kafkaworker did not
// write (garbage of the "Unexpected magic" kind): kafkaworker starts from
// those offsets and commits over them.
func TestBadInputForeignCommitMetadata(t *testing.T) {
	cl := testkafka.Start(t)
	const partitions = 3
	topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
	cl.Produce(t, topic, 600, nil)
	ends := cl.EndOffsets(t, topic)
	garbage := []string{
		"Unexpected magic \x00\x01\x02\x7f",
		strings.Repeat("\x00", 64),
		`{"consumer":"other","v":` + strings.Repeat("9", 200),
	}
	start := map[int32]int64{}
	var offs kadm.Offsets
	for p := range int32(partitions) {
		start[p] = ends[p] / (int64(p) + 2)
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: start[p], LeaderEpoch: -1, Metadata: garbage[p]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Admin().CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	fetched, err := cl.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup(topic, 0); o.Metadata != garbage[0] {
		t.Fatalf("the broker kept metadata %q, want %q", o.Metadata, garbage[0])
	}

	var mu sync.Mutex
	below := 0 // records before the committed offsets: must not be seen
	tr := newTracker()
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset < start[r.Partition] {
			mu.Lock()
			below++
			mu.Unlock()
		}
		tr.mark(r)
		return nil
	}))
	waitUntil(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var want int64
	for p, end := range ends {
		want += end - start[p]
	}
	if below != 0 || int64(tr.count()) != want {
		t.Fatalf("processed %d records (%d before the foreign offsets), want %d", tr.count(), below, want)
	}
}
