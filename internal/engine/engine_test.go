package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConcurrencyPeakReachesAndNeverExceedsMaxProcCount(t *testing.T) {
	cfg := testConfig()
	cfg.MaxProcCount = 16
	var running, peak atomic.Int32
	release := make(chan struct{})
	var started atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		started.Add(1)
		<-release
		running.Add(-1)
		return nil
	}
	e, fc, tp := start(t, cfg, h)
	feed(e, tp, 0, 1000, nil)
	waitFor(t, "16 handlers running", func() bool { return started.Load() == 16 })
	close(release)
	waitFor(t, "all done", func() bool { return e.Stats().Processed == 1000 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != 16 {
		t.Fatalf("peak concurrency %d, want exactly MaxProcCount 16", got)
	}
	if got := e.Stats().PeakInFlight; got != 16 {
		t.Fatalf("Stats.PeakInFlight %d, want 16", got)
	}
	if got := fc.get(tp); got != 1000 {
		t.Fatalf("final commit %d, want 1000", got)
	}
}

func TestCommitNeverPassesAnUnfinishedRecord(t *testing.T) {
	cfg := testConfig()
	cfg.CommitCount = 1
	// More workers than records, so each takes one: a worker that takes
	// several runs them in turn, and offset 10 would hold back its batch.
	cfg.MaxProcCount = 128
	slow := make(chan struct{})
	h := func(ctx context.Context, r rec, _ int) error {
		if r.off == 10 {
			<-slow
		}
		return nil
	}
	e, fc, tp := start(t, cfg, h)
	feed(e, tp, 0, 100, nil)
	waitFor(t, "99 done", func() bool { return e.Stats().Processed == 99 })
	if err := e.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fc.get(tp); got != 10 {
		t.Fatalf("committed %d while offset 10 runs; want 10", got)
	}
	close(slow)
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if got := fc.get(tp); got != 100 {
		t.Fatalf("final commit %d, want 100", got)
	}
	if fc.overlap.Load() {
		t.Fatal("two commits were in flight at once")
	}
}

func TestGapsCountAsDone(t *testing.T) {
	fc := &fakeCommits{}
	tp := TP{"t", 3}
	e := run(t, testConfig(), func(context.Context, rec, int) error { return nil }, fc, nil, tp)
	e.src.push(Fetched[rec]{TP: tp, Offset: 5}, Fetched[rec]{TP: tp, Offset: 9}, Fetched[rec]{TP: tp, Offset: 40})
	waitFor(t, "3 done", func() bool { return e.Stats().Processed == 3 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if got := fc.get(tp); got != 41 {
		t.Fatalf("committed %d, want 41", got)
	}
}

func TestKeyOrderUnderRandomLatency(t *testing.T) {
	for _, mode := range []Ordering{ByKey, ByPartition} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			cfg := testConfig()
			cfg.Ordering = mode
			cfg.MaxProcCount = 32
			var mu sync.Mutex
			last := map[string]int64{}
			busy := map[string]bool{}
			var violations []string
			var peak, running atomic.Int32
			h := func(ctx context.Context, r rec, _ int) error {
				k := r.key
				if mode == ByPartition {
					k = fmt.Sprint(r.tp)
				}
				mu.Lock()
				if busy[k] {
					violations = append(violations, fmt.Sprintf("%s: %d ran while another was running", k, r.off))
				}
				if prev, ok := last[k]; ok && prev >= r.off {
					violations = append(violations, fmt.Sprintf("%s: %d after %d", k, r.off, prev))
				}
				busy[k], last[k] = true, r.off
				mu.Unlock()
				n := running.Add(1)
				peak.Store(max(peak.Load(), n))
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // simulated work
				running.Add(-1)
				mu.Lock()
				busy[k] = false
				mu.Unlock()
				return nil
			}
			fc := &fakeCommits{}
			tps := []TP{{"t", 0}, {"t", 1}, {"t", 2}}
			e := run(t, cfg, h, fc, nil, tps...)
			for _, tp := range tps {
				feed(e, tp, 0, 600, func(o int64) string { return fmt.Sprintf("%d/k%d", tp.Partition, o%37) })
			}
			waitFor(t, "all done", func() bool { return e.Stats().Processed == 1800 })
			if err := shutdown(t, e); err != nil {
				t.Fatal(err)
			}
			if len(violations) > 0 {
				t.Fatalf("%d order violations, first: %s", len(violations), violations[0])
			}
			if mode == ByKey && peak.Load() < 4 {
				t.Fatalf("key mode ran at most %d at once; different keys should run in parallel", peak.Load())
			}
			for _, tp := range tps {
				if got := fc.get(tp); got != 600 {
					t.Fatalf("%v committed %d, want 600", tp, got)
				}
			}
		})
	}
}

func TestRecordsWithoutKeyAreUnorderedInKeyMode(t *testing.T) {
	cfg := testConfig()
	cfg.Ordering = ByKey
	release := make(chan struct{})
	var started atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		started.Add(1)
		<-release
		return nil
	}
	e, _, tp := start(t, cfg, h)
	feed(e, tp, 0, 8, nil) // nil keys
	waitFor(t, "8 keyless records running at once", func() bool { return started.Load() == 8 })
	close(release)
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}
