package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkaworker/kafkaworker"
)

var noop = kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil })

// scrape returns /metrics as series -> value, series spelled as in the text
// format (name{label="v",...}).
func scrape(t *testing.T, client *http.Client, base string) map[string]float64 {
	t.Helper()
	code, body := get(t, client, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	series := make(map[string]float64)
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return series
}

func partitionSeries(name string, p int32) string {
	return fmt.Sprintf(`kafkaworker_%s{partition="%d",topic="%s"}`, name, p, testTopic)
}

func TestMetricsReflectConsumer(t *testing.T) {
	const records = 60
	seeds, ends := newCluster(t, 3, records)
	c := startConsumer(t, seeds, noop)
	reg := prometheus.NewRegistry()
	base, client := startServer(t, c, reg, time.Minute)

	waitFor(t, "all records processed and committed", func() bool {
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
	m := scrape(t, client, base)

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
		want[partitionSeries("partition_committed_offset", p)] = float64(end)
		want[partitionSeries("partition_committable_offset", p)] = float64(end)
		want[partitionSeries("partition_highest_fetched_offset", p)] = float64(end - 1)
		want[partitionSeries("partition_window_lag_records", p)] = 0
		want[partitionSeries("partition_pending_records", p)] = 0
		want[partitionSeries("partition_in_flight", p)] = 0
		want[partitionSeries("partition_oldest_in_flight_seconds", p)] = 0
		want[partitionSeries("partition_paused", p)] = 0
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
	if code, b := readyz(t, client, base); code != http.StatusOK || b.Status != "ready" || b.Partitions != 3 {
		t.Errorf("/readyz = %d %+v, want 200 ready with 3 partitions", code, b)
	}
}

// TestMetricsBeforeRun checks that a scrape works before the consumer has
// any partition: no per-partition series and no offsets exported as -1.
func TestMetricsBeforeRun(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop)
	base, client := startServer(t, c, nil, time.Minute)
	m := scrape(t, client, base)
	if v, ok := m["kafkaworker_records_processed_total"]; !ok || v != 0 {
		t.Errorf("kafkaworker_records_processed_total = %g, %v", v, ok)
	}
	for name := range m {
		if strings.HasPrefix(name, "kafkaworker_partition_") {
			t.Errorf("per-partition series %s before any assignment", name)
		}
	}
}

func TestHealthz(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	base, client := startServer(t, newConsumer(t, seeds, noop), nil, time.Minute)
	if code, body := get(t, client, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
}

func readyz(t *testing.T, client *http.Client, base string) (int, readyBody) {
	t.Helper()
	code, body := get(t, client, base+"/readyz")
	var b readyBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return code, b
}

func TestReadyzNotInGroupBeforeRun(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	base, client := startServer(t, newConsumer(t, seeds, noop), nil, time.Minute)
	if code, b := readyz(t, client, base); code != http.StatusServiceUnavailable || b.Status != "not_in_group" {
		t.Fatalf("/readyz = %d %+v, want 503 not_in_group", code, b)
	}
}

// TestReadyzStalledHandler blocks one record's handler: /readyz turns red
// naming its partition once stallTimeout passes, and green again once the
// handler is released.
func TestReadyzStalledHandler(t *testing.T) {
	seeds, _ := newCluster(t, 3, 30)
	g := newGate(1, 2)
	c := startConsumer(t, seeds, g)
	t.Cleanup(g.open) // runs before the consumer's cleanup: Run can drain
	base, client := startServer(t, c, nil, 200*time.Millisecond)

	select {
	case <-g.entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the gated record was never handled")
	}

	var stalled readyBody
	waitFor(t, "/readyz 503 stalled", func() bool {
		var code int
		code, stalled = readyz(t, client, base)
		return code == http.StatusServiceUnavailable
	})
	if stalled.Status != "stalled" || len(stalled.Stalled) != 1 {
		t.Fatalf("body %+v, want partition 1 alone stalled", stalled)
	}
	if s := stalled.Stalled[0]; s.Topic != testTopic || s.Partition != 1 || s.Reason != reasonHandler {
		t.Fatalf("stalled %+v, want %s/1 %q", s, testTopic, reasonHandler)
	}

	g.open()
	waitFor(t, "/readyz 200 after release", func() bool { code, _ := readyz(t, client, base); return code == http.StatusOK })
}

func TestServerLifecycle(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop)
	reg := prometheus.NewRegistry()
	s := New("127.0.0.1:0", c, reg, time.Minute, quietLogger())
	if s.Addr() != "" {
		t.Fatalf("Addr before Start = %q", s.Addr())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	// A second server on the same address reports the listen error.
	other := New(s.Addr(), c, reg, time.Minute, quietLogger())
	if err := other.Start(); err == nil {
		t.Fatal("Start on a used address succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown of a server never started: %v", err)
	}
}
