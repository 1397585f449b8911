package admin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/health"
)

// History kept for the status page.
const (
	defaultSampleEvery = 2 * time.Second
	maxSamples         = 150 // 5 minutes at the default rate
	maxRebalances      = 20
)

// status serves GET /api/status, the status page's data, and keeps the
// history the page draws: throughput and errors per sample, and the
// assignment changes seen between samples. Its sampler goroutine is
// started by the Server's Start and stopped by its Shutdown.
type status struct {
	c     *kafkaworker.Consumer
	check *health.Checker
	every time.Duration
	stall time.Duration
	mode  func() string          // how mutations are guarded (api.mode)
	caps  func() map[string]bool // which optional controls the consumer offers

	quit chan struct{} // closed by stop; the sampler returns
	done chan struct{} // closed when the sampler returned; nil before start
	once sync.Once

	// zips are gzip writers for /api/status, kept because each holds
	// ~1 MB of compressor state and the page asks every second.
	zips sync.Pool

	mu         sync.Mutex
	config     json.RawMessage // the effective configuration, with run-time changes
	samples    []sample
	last       *kafkaworker.Stats // the previous sample's stats; nil before the first
	rebalances []rebalance        // newest last
}

// sample is one point of the throughput history.
type sample struct {
	At        int64   `json:"at"`        // Unix milliseconds
	Processed float64 `json:"processed"` // records per second since the previous sample
	Errors    float64 `json:"errors"`    // handler errors (retried or failed) per second
}

// rebalance is a change of the assignment between two samples.
type rebalance struct {
	At       int64    `json:"at"` // Unix milliseconds
	Gained   []string `json:"gained"`
	Released []string `json:"released"` // revoked or lost
	Owned    int      `json:"owned"`
	Lost     uint64   `json:"lost"` // of those released, how many were lost (no revoke)
}

func newStatus(c *kafkaworker.Consumer, stall time.Duration, config json.RawMessage, every time.Duration) *status {
	if every <= 0 {
		every = defaultSampleEvery
	}
	if len(config) == 0 {
		config = json.RawMessage("{}")
	}
	return &status{c: c, check: health.NewChecker(c, stall), config: config, every: every, stall: stall,
		quit: make(chan struct{}), mode: func() string { return "off" }, caps: func() map[string]bool { return nil }}
}

// start starts the sampler.
func (s *status) start() {
	s.done = make(chan struct{})
	go s.loop()
}

// stop stops the sampler and waits for it. It may be called more than once,
// and without start.
func (s *status) stop() {
	s.once.Do(func() { close(s.quit) })
	if s.done != nil {
		<-s.done
	}
}

// loop samples every s.every until stop.
func (s *status) loop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	s.sample(time.Now())
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

// sample records throughput, errors and assignment changes since the
// previous sample, and lets the stall check see every partition
// regularly (its commit-point rule needs two looks).
func (s *status) sample(now time.Time) {
	st := s.c.Stats()
	s.check.Check()
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.last; prev != nil {
		secs := s.every.Seconds()
		errs := (st.Retried + st.Failed) - (prev.Retried + prev.Failed)
		s.samples = append(s.samples, sample{At: now.UnixMilli(),
			Processed: float64(st.Processed-prev.Processed) / secs, Errors: float64(errs) / secs})
		if len(s.samples) > maxSamples {
			s.samples = append(s.samples[:0], s.samples[len(s.samples)-maxSamples:]...)
		}
	}
	var before []kafkaworker.PartitionStats
	if s.last != nil {
		before = s.last.Partitions
	}
	gained, released := diff(before, st.Partitions)
	if len(gained)+len(released) > 0 {
		r := rebalance{At: now.UnixMilli(), Gained: gained, Released: released, Owned: len(st.Partitions)}
		if s.last != nil {
			r.Lost = st.Lost - s.last.Lost
		}
		s.rebalances = append(s.rebalances, r)
		if len(s.rebalances) > maxRebalances {
			s.rebalances = append(s.rebalances[:0], s.rebalances[1:]...)
		}
	}
	s.last = &st
}

// diffShown is how many partitions a rebalance entry names.
const diffShown = 8

// diff returns the partitions in b and not a, and in a and not b, as
// "topic/partition", at most diffShown each, then "and N more".
func diff(a, b []kafkaworker.PartitionStats) (gained, released []string) {
	key := func(p kafkaworker.PartitionStats) kafkaworker.TopicPartition {
		return kafkaworker.TopicPartition{Topic: p.Topic, Partition: p.Partition}
	}
	in := func(ps []kafkaworker.PartitionStats) map[kafkaworker.TopicPartition]bool {
		m := make(map[kafkaworker.TopicPartition]bool, len(ps))
		for _, p := range ps {
			m[key(p)] = true
		}
		return m
	}
	list := func(from []kafkaworker.PartitionStats, not map[kafkaworker.TopicPartition]bool) []string {
		var out []string
		n := 0
		for _, p := range from {
			if not[key(p)] {
				continue
			}
			if n < diffShown {
				out = append(out, fmt.Sprintf("%s/%d", p.Topic, p.Partition))
			}
			n++
		}
		if n > diffShown {
			out = append(out, fmt.Sprintf("and %d more", n-diffShown))
		}
		return out
	}
	return list(b, in(a)), list(a, in(b))
}

// statusJSON is GET /api/status.
type statusJSON struct {
	Now          int64           `json:"now"`
	Running      bool            `json:"running"`
	Readiness    health.Status   `json:"readiness"`
	Group        string          `json:"group"`
	Topics       []string        `json:"topics"`
	Mutations    string          `json:"mutations"` // "token", "open (loopback)" or "off"
	Capabilities map[string]bool `json:"capabilities"`
	StallMs      int64           `json:"stallTimeoutMs"`
	WindowLimit  int64           `json:"windowLimit"`
	PausedAll    bool            `json:"pausedAll"`
	Totals       totalsJSON      `json:"totals"`
	Partitions   []partitionJSON `json:"partitions"`
	EveryMs      int64           `json:"sampleEveryMs"`
	History      []sample        `json:"history"`
	Rebalances   []rebalance     `json:"rebalances"`
	Config       json.RawMessage `json:"config"`
}

type totalsJSON struct {
	Processed     uint64 `json:"processed"`
	Failed        uint64 `json:"failed"`
	Retried       uint64 `json:"retried"`
	Skipped       uint64 `json:"skipped"`
	DeadLettered  uint64 `json:"deadLettered"`
	Commits       uint64 `json:"commits"`
	CommitErrors  uint64 `json:"commitErrors"`
	InFlight      int    `json:"inFlight"`
	PeakInFlight  int    `json:"peakInFlight"`
	Buffered      int    `json:"buffered"`
	BufferedBytes int64  `json:"bufferedBytes"`
	Assigned      uint64 `json:"assigned"`
	Revoked       uint64 `json:"revoked"`
	Lost          uint64 `json:"lost"`
	Joins         uint64 `json:"joins"`
	// The limits in force, run-time changes included.
	ConcurrencyLimit    int     `json:"concurrencyLimit"`
	MaxRecordsPerSecond float64 `json:"maxRecordsPerSecond"` // 0: none
}

// partitionJSON is one partition. Zero values are left out: with 1,000
// partitions, most of them idle, that halves the page's data each second.
type partitionJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	Lag       int64  `json:"lag"`
	Span      int64  `json:"span,omitempty"`
	Pending   int    `json:"pending,omitempty"`
	InFlight  int    `json:"inFlight,omitempty"`
	OldestMs  int64  `json:"oldestMs,omitempty"`
	Paused    bool   `json:"paused,omitempty"`
	Held      bool   `json:"held,omitempty"`
	Stalled   string `json:"stalled,omitempty"` // the reason
	StalledMs int64  `json:"stalledMs,omitempty"`
}

func (s *status) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := s.check.Check()
	st := s.c.Stats()
	cfg := s.c.Config()
	stalled := make(map[kafkaworker.TopicPartition]health.Stall, len(rep.Stalled))
	for _, x := range rep.Stalled {
		stalled[kafkaworker.TopicPartition{Topic: x.Topic, Partition: x.Partition}] = x
	}
	pausedAll, _ := s.c.Paused()
	out := statusJSON{
		Now: time.Now().UnixMilli(), Running: st.Running, Readiness: rep.Status,
		Group: cfg.GroupID, Topics: cfg.AllTopics(), Mutations: s.mode(), Capabilities: s.caps(),
		StallMs: s.stall.Milliseconds(), WindowLimit: windowLimit(cfg, len(st.Partitions)), PausedAll: pausedAll,
		Totals: totalsJSON{
			Processed: st.Processed, Failed: st.Failed, Retried: st.Retried, Skipped: st.Skipped,
			DeadLettered: st.DeadLettered, Commits: st.Commits, CommitErrors: st.CommitErrors,
			InFlight: st.InFlight, PeakInFlight: st.PeakInFlight, Buffered: st.Buffered, BufferedBytes: st.BufferedBytes,
			Assigned: st.Assigned, Revoked: st.Revoked, Lost: st.Lost, Joins: st.Joins,
			ConcurrencyLimit: st.ConcurrencyLimit, MaxRecordsPerSecond: st.MaxRecordsPerSecond,
		},
		Partitions: make([]partitionJSON, len(st.Partitions)),
		EveryMs:    s.every.Milliseconds(),
	}
	for i, p := range st.Partitions {
		pj := partitionJSON{Topic: p.Topic, Partition: p.Partition, Committed: p.Committed, Lag: p.Lag,
			Span: p.Span, Pending: p.Pending, InFlight: p.InFlight, OldestMs: p.OldestInFlight.Milliseconds(),
			Paused: p.Paused, Held: p.Held}
		if x, ok := stalled[kafkaworker.TopicPartition{Topic: p.Topic, Partition: p.Partition}]; ok {
			pj.Stalled, pj.StalledMs = x.Reason, x.For.Milliseconds()
		}
		out.Partitions[i] = pj
	}
	s.mu.Lock()
	out.History = append([]sample{}, s.samples...)
	out.Rebalances = append([]rebalance{}, s.rebalances...)
	out.Config = s.config
	s.mu.Unlock()
	s.writeJSON(w, r, out)
}

// gzipAbove is the size from which /api/status is compressed, for a
// client that accepts it: a page polled each second over a phone's link
// with 1,000 partitions (~70 KB a second, ~8 KB compressed).
const gzipAbove = 8 << 10

// writeJSON writes v, gzipped when large and the client accepts it. The
// fastest level: the data is repetitive, and this runs every second for
// every open page, on the consumer's CPU.
func (s *status) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v) // plain structs: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if b.Len() < gzipAbove || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		_, _ = w.Write(b.Bytes())
		return
	}
	h.Set("Content-Encoding", "gzip")
	zw, ok := s.zips.Get().(*gzip.Writer)
	if ok {
		zw.Reset(w)
	} else {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	}
	_, _ = zw.Write(b.Bytes())
	_ = zw.Close()
	s.zips.Put(zw)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !ok || strings.Trim(q, "0.") != ""
	}
	return false
}

// windowLimit is the span at which the consumer pauses a partition:
// PartitionWindow, or in partition order the partition's share of
// MaxBufferedRecords when smaller (as the engine's updateWindow).
func windowLimit(cfg kafkaworker.Config, partitions int) int64 {
	limit := int64(cfg.PartitionWindow)
	if cfg.Ordering == kafkaworker.PartitionOrdered {
		limit = min(limit, int64(cfg.MaxBufferedRecords)/int64(max(partitions, 1)))
	}
	return max(limit, 1)
}
