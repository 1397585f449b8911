package kwprom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
	"github.com/kafkaworker/kafkaworker/plugin/kwprom"
)

var noop = kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil })

// newConsumer returns a consumer of topic on cl, not running.
func newConsumer(t *testing.T, cl *testkafka.Cluster, topic string, opts ...kafkaworker.Option) *kafkaworker.Consumer {
	t.Helper()
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers:        cl.Seeds,
		GroupID:                 cl.Name(t, "kwprom"),
		Topic:                   topic,
		MaxProcCount:            8,
		MaxMsgCountBeforeCommit: 5,
		CommitIntervalSeconds:   1,
		ShutdownTimeout:         5 * time.Second,
	}, noop, append(opts, kafkaworker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs c until the test ends.
func run(t *testing.T, c *kafkaworker.Consumer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// series gathers reg and returns series -> value, series spelled as in the
// text format (name{label="v",...}, labels sorted by name).
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]float64)
	for _, f := range families {
		for _, s := range f.GetMetric() {
			name := f.GetName()
			if len(s.GetLabel()) > 0 {
				var labels []string
				for _, l := range s.GetLabel() {
					labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case s.GetCounter() != nil:
				m[name] = s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				m[name] = s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				m[name+"_count"] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return m
}

func partitionSeries(name, topic string, p int32) string {
	return fmt.Sprintf(`kafkaworker_%s{partition="%d",topic="%s"}`, name, p, topic)
}

// TestMetricsReflectConsumer: once the consumer has committed everything,
// every series holds what Stats says.
func TestMetricsReflectConsumer(t *testing.T) {
	const records = 60
	cl := testkafka.Start(t)
	topic := cl.Topic(t, 3)
	// Keyed, so that every partition gets records.
	cl.Produce(t, topic, records, func(i int) []byte { return []byte(strconv.Itoa(i)) })
	ends := cl.EndOffsets(t, topic)
	for p := range int32(3) {
		if ends[p] == 0 {
			t.Fatalf("partition %d got no record: %v", p, ends)
		}
	}
	c := newConsumer(t, cl, topic)
	reg := prometheus.NewRegistry()
	reg.MustRegister(kwprom.NewCollector(c))
	run(t, c)

	poll.Until(t, 30*time.Second, "all records processed and committed", func() bool {
		s := c.Stats()
		if s.Processed < records || len(s.Partitions) != len(ends) {
			return false
		}
		for _, p := range s.Partitions {
			if p.Committed != ends[p.Partition] {
				return false
			}
		}
		return true
	})
	m := series(t, reg)

	want := map[string]float64{
		"kafkaworker_records_processed_total":     records,
		"kafkaworker_records_failed_total":        0,
		"kafkaworker_retries_total":               0,
		"kafkaworker_records_skipped_total":       0,
		"kafkaworker_records_dead_lettered_total": 0,
		"kafkaworker_commit_errors_total":         0,
		"kafkaworker_partitions_assigned_total":   3,
		"kafkaworker_partitions_revoked_total":    0,
		"kafkaworker_partitions_lost_total":       0,
		"kafkaworker_revoke_timeouts_total":       0,
		"kafkaworker_in_flight":                   0,
		"kafkaworker_buffered_records":            0,
		"kafkaworker_partitions_owned":            3,
		"kafkaworker_max_proc_count":              8,
	}
	for p, end := range ends {
		want[partitionSeries("partition_committed_offset", topic, p)] = float64(end)
		want[partitionSeries("partition_committable_offset", topic, p)] = float64(end)
		want[partitionSeries("partition_highest_fetched_offset", topic, p)] = float64(end - 1)
		want[partitionSeries("partition_window_lag_records", topic, p)] = 0
		want[partitionSeries("partition_pending_records", topic, p)] = 0
		want[partitionSeries("partition_in_flight", topic, p)] = 0
		want[partitionSeries("partition_oldest_in_flight_seconds", topic, p)] = 0
		want[partitionSeries("partition_paused", topic, p)] = 0
	}
	for name, v := range want {
		got, ok := m[name]
		switch {
		case !ok:
			t.Errorf("series %s missing", name)
		case got != v:
			t.Errorf("%s = %g, want %g", name, got, v)
		}
	}
	if v := m["kafkaworker_commits_total"]; v < 1 {
		t.Errorf("kafkaworker_commits_total = %g, want at least 1", v)
	}
	if v := m["kafkaworker_peak_in_flight"]; v < 1 || v > 8 {
		t.Errorf("kafkaworker_peak_in_flight = %g, want 1..8", v)
	}
	if v := m["kafkaworker_max_buffered_records"]; v < 1 {
		t.Errorf("kafkaworker_max_buffered_records = %g", v)
	}
}

// TestMetricsBeforeRun checks that a scrape works before the consumer has
// any partition: no per-partition series and no offsets exported as -1.
func TestMetricsBeforeRun(t *testing.T) {
	cl := testkafka.Start(t)
	c := newConsumer(t, cl, cl.Topic(t, 1))
	reg := prometheus.NewRegistry()
	reg.MustRegister(kwprom.NewCollector(c))
	m := series(t, reg)
	if v, ok := m["kafkaworker_records_processed_total"]; !ok || v != 0 {
		t.Errorf("kafkaworker_records_processed_total = %g, %v", v, ok)
	}
	for name := range m {
		if strings.HasPrefix(name, "kafkaworker_partition_") {
			t.Errorf("per-partition series %s before any assignment", name)
		}
	}
}

// TestCommitObserver: the histogram counts commits by result.
func TestCommitObserver(t *testing.T) {
	reg := prometheus.NewRegistry()
	observe := kwprom.CommitObserver(reg)
	observe(2*time.Millisecond, 3, nil)
	observe(time.Millisecond, 1, nil)
	observe(time.Second, 3, errors.New("coordinator moved"))
	m := series(t, reg)
	for name, want := range map[string]float64{
		`kafkaworker_commit_duration_seconds{result="ok"}_count`:    2,
		`kafkaworker_commit_duration_seconds{result="error"}_count`: 1,
	} {
		if m[name] != want {
			t.Errorf("%s = %g, want %g (all: %v)", name, m[name], want, m)
		}
	}
}

// TestShareMetrics: in share mode the acknowledgement counters and the
// delivery-count histogram follow Stats; a record that always fails is
// skipped, which rejects it.
func TestShareMetrics(t *testing.T) {
	const records = 40
	cl := testkafka.Start(t)
	topic := cl.Topic(t, 2)
	cl.Produce(t, topic, records, nil)
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: cl.Seeds, GroupID: cl.Name(t, "kwprom"), Topic: topic,
		GroupType: kafkaworker.ShareGroup, MaxProcCount: 8, ShutdownTimeout: 5 * time.Second,
		FailurePolicy: kafkaworker.SkipPolicy, MaxRetries: 1,
		RetryBackoffMin: time.Millisecond, RetryBackoffMax: 10 * time.Millisecond,
	}, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		if r.Offset == 3 {
			return errors.New("poison")
		}
		return nil
	}), kafkaworker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(kwprom.NewCollector(c))
	run(t, c)
	poll.Until(t, 60*time.Second, "all records accepted or rejected", func() bool {
		s := c.Stats()
		return s.Accepted+s.Rejected >= records
	})
	m := series(t, reg)
	s := c.Stats()
	if s.Rejected == 0 || s.Rejected != s.Skipped {
		t.Errorf("rejected %d, skipped %d: want each record at offset 3 skipped, so rejected", s.Rejected, s.Skipped)
	}
	want := map[string]float64{
		"kafkaworker_share_records_acquired_total": float64(s.Acquired),
		"kafkaworker_share_records_accepted_total": float64(s.Accepted),
		"kafkaworker_share_records_released_total": float64(s.Released),
		"kafkaworker_share_records_rejected_total": float64(s.Rejected),
		"kafkaworker_share_delivery_count_count":   float64(s.Acquired),
	}
	for name, v := range want {
		if got, ok := m[name]; !ok || got != v {
			t.Errorf("%s = %g (present %v), want %g", name, got, ok, v)
		}
	}
	if s.Acquired < records {
		t.Errorf("acquired %d, want at least %d", s.Acquired, records)
	}
}

// TestMetricsBlockedRecord: a record held by the block policy shows in the
// per-partition series, and leaves them once released.
func TestMetricsBlockedRecord(t *testing.T) {
	cl := testkafka.Start(t)
	topic := cl.Topic(t, 1)
	cl.Produce(t, topic, 10, nil)
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: cl.Seeds, GroupID: cl.Name(t, "kwprom"), Topic: topic,
		CommitIntervalSeconds: 1, ShutdownTimeout: 5 * time.Second, MaxRetries: -1,
		RetryBackoffMin: time.Millisecond, RetryBackoffMax: 10 * time.Millisecond,
		FailurePolicy: kafkaworker.BlockPolicy,
	}, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		if r.Offset == 3 {
			return errors.New("poison")
		}
		return nil
	}), kafkaworker.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(kwprom.NewCollector(c))
	run(t, c)
	blocked := partitionSeries("partition_blocked_records", topic, 0)
	poll.Until(t, 30*time.Second, "the blocked record in the series", func() bool {
		m := series(t, reg)
		return m[blocked] == 1 && m["kafkaworker_records_blocked_total"] == 1
	})
	if err := c.Release(topic, 0, 3, kafkaworker.SkipPolicy); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the release in the series", func() bool {
		m := series(t, reg)
		return m[blocked] == 0 && m["kafkaworker_records_released_total"] == 1 &&
			m[partitionSeries("partition_oldest_blocked_seconds", topic, 0)] == 0
	})
}
