package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rec is the record type of the tests: its identity and key.
type rec struct {
	tp  TP
	off int64
	key string
}

// fakeCommits records every commit and serves the last offset per partition.
type fakeCommits struct {
	mu       sync.Mutex
	last     map[TP]int64
	calls    int
	inflight atomic.Int32
	overlap  atomic.Bool
	fail     atomic.Int32 // fail this many calls first
}

func (f *fakeCommits) Commit(_ context.Context, offs []Offset) error {
	if f.inflight.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.inflight.Add(-1)
	if f.fail.Add(-1) >= 0 {
		return errors.New("injected commit failure")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[TP]int64{}
	}
	f.calls++
	for _, o := range offs {
		if o.Offset <= f.last[o.TP] {
			return fmt.Errorf("commit for %v went from %d to %d", o.TP, f.last[o.TP], o.Offset)
		}
		f.last[o.TP] = o.Offset
	}
	return nil
}

func (f *fakeCommits) get(tp TP) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[tp]
}

func testConfig() Config {
	return Config{
		MaxProcCount: 8, MaxBuffered: 1 << 20, PartitionWindow: 1 << 20,
		CommitCount: 100, CommitInterval: time.Hour, MaxRetries: 2,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond,
		RevokeTimeout: 5 * time.Second,
	}
}

// start returns a started engine with a recording committer that owns one
// partition, t/0.
func start(t *testing.T, cfg Config, h Handler[rec]) (*Engine[rec], *fakeCommits, TP) {
	t.Helper()
	fc := &fakeCommits{}
	e := New(cfg, h, fc, nil, nil)
	tp := TP{"t", 0}
	e.Assign([]TP{tp})
	e.Start()
	return e, fc, tp
}

func feed(e *Engine[rec], tp TP, from, to int64, key func(int64) string) {
	var batch []Fetched[rec]
	for o := from; o < to; o++ {
		k := ""
		if key != nil {
			k = key(o)
		}
		var kb []byte
		if k != "" {
			kb = []byte(k)
		}
		batch = append(batch, Fetched[rec]{TP: tp, Offset: o, Key: kb, Rec: rec{tp, o, k}})
	}
	e.Add(batch)
}

// waitFor polls cond with a bounded deadline; it is not a sleep standing in
// for synchronisation but a bounded wait for an asynchronous outcome.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func shutdown(t *testing.T, e *Engine[rec]) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Shutdown(ctx, ctx)
}

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
	e := New(testConfig(), func(context.Context, rec, int) error { return nil }, fc, nil, nil)
	tp := TP{"t", 3}
	e.Assign([]TP{tp})
	e.Start()
	e.Add([]Fetched[rec]{{TP: tp, Offset: 5}, {TP: tp, Offset: 9}, {TP: tp, Offset: 40}})
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
			e := New(cfg, h, fc, nil, nil)
			tps := []TP{{"t", 0}, {"t", 1}, {"t", 2}}
			e.Assign(tps)
			e.Start()
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
