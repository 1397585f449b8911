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
	"github.com/kafkaworker/kafkaworker/health"
	"github.com/kafkaworker/kafkaworker/internal/poll"
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

// TestServerServesMetricsAndReadiness: once the consumer has committed
// everything, /metrics serves the kwprom collector's series from reg and
// /readyz says ready with the partitions owned. (What the series hold is
// plugin/kwprom's test.)
func TestServerServesMetricsAndReadiness(t *testing.T) {
	const records = 60
	seeds, ends := newCluster(t, 3, records)
	c := startConsumer(t, seeds, noop)
	reg := prometheus.NewRegistry()
	base, client := startServer(t, c, reg, time.Minute)

	poll.Until(t, 15*time.Second, "all records processed and committed", func() bool {
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
	if v := m["kafkaworker_records_processed_total"]; v != records {
		t.Errorf("kafkaworker_records_processed_total = %g, want %d", v, records)
	}
	for p, end := range ends {
		if v := m[partitionSeries("partition_committed_offset", p)]; v != float64(end) {
			t.Errorf("partition %d committed offset %g, want %d", p, v, end)
		}
	}
	if code, b := readyz(t, client, base); code != http.StatusOK || b.Status != health.Ready || b.Partitions != 3 {
		t.Errorf("/readyz = %d %+v, want 200 ready with 3 partitions", code, b)
	}
}

func TestHealthz(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	base, client := startServer(t, newConsumer(t, seeds, noop), nil, time.Minute)
	if code, body := get(t, client, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
}

func readyz(t *testing.T, client *http.Client, base string) (int, health.Report) {
	t.Helper()
	code, body := get(t, client, base+"/readyz")
	var b health.Report
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return code, b
}

func TestReadyzNotInGroupBeforeRun(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	base, client := startServer(t, newConsumer(t, seeds, noop), nil, time.Minute)
	if code, b := readyz(t, client, base); code != http.StatusServiceUnavailable || b.Status != health.NotInGroup {
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

	var stalled health.Report
	poll.Until(t, 15*time.Second, "/readyz 503 stalled", func() bool {
		var code int
		code, stalled = readyz(t, client, base)
		return code == http.StatusServiceUnavailable
	})
	if stalled.Status != health.Stalled || len(stalled.Stalled) != 1 {
		t.Fatalf("body %+v, want partition 1 alone stalled", stalled)
	}
	if s := stalled.Stalled[0]; s.Topic != testTopic || s.Partition != 1 || s.Reason != health.ReasonHandler {
		t.Fatalf("stalled %+v, want %s/1 %q", s, testTopic, health.ReasonHandler)
	}

	g.open()
	poll.Until(t, 15*time.Second, "/readyz 200 after release", func() bool { code, _ := readyz(t, client, base); return code == http.StatusOK })
}

func TestServerLifecycle(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop)
	reg := prometheus.NewRegistry()
	s := New(c, Options{Addr: "127.0.0.1:0", Registry: reg, StallTimeout: time.Minute, Log: quietLogger()})
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
	other := New(c, Options{Addr: s.Addr(), Registry: reg, StallTimeout: time.Minute, Log: quietLogger()})
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
