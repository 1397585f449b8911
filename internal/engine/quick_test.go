package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// learnCallTime feeds tp records until the engine has timed enough calls to
// know that the handler is quick (it assumes slow handlers until then), and
// returns the next offset. The peaks are reset, so that what a test checks
// afterwards is the engine with its measure of the handler.
func learnCallTime(t *testing.T, e *testEngine, tp TP) int64 {
	t.Helper()
	const n = 5000
	feed(e, tp, 0, n, nil)
	waitProcessed(t, e, n)
	e.mu.Lock()
	defer e.mu.Unlock()
	if got := e.counters.Processed; got != n {
		t.Fatalf("warm-up: processed %d of %d", got, n)
	}
	if !e.fast() {
		t.Fatalf("warm-up: a mean call of %v is not quick", e.callTime)
	}
	e.conc.peak = 0
	e.peak.Store(0)
	return n
}

// With quick handlers, a few workers per CPU hold records however large
// MaxProcCount is: before, a poll woke a worker per 32 records queued, and
// at MaxProcCount 1,000 every worker ended up holding a batch and parking
// after it, which cost twice as much per record (BenchmarkEngine).
func TestQuickHandlersRunOnFewWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 1000
		e, _, tp := start(t, cfg, func(context.Context, rec, int) error { return nil })
		from := learnCallTime(t, e, tp)
		feed(e, tp, from, from+50_000, nil)
		synctest.Wait()
		e.mu.Lock()
		processed, peak, quick := e.counters.Processed, e.conc.peak, e.conc.quick
		e.mu.Unlock()
		if processed != uint64(from+50_000) {
			t.Fatalf("processed %d of %d", processed, from+50_000)
		}
		// At most quick outside a call, and a no-op call is seldom
		// caught running: twice quick is a wide bound beside 1,000.
		if peak > 2*quick {
			t.Fatalf("%d workers held records at once with no-op handlers, want at most about %d", peak, quick)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}

// Quick handlers that wait (a 5 µs call to a cache, say) still get the
// whole MaxProcCount: workers inside a call do not count against the few
// that may hold records outside one.
func TestQuickHandlersThatWaitGetTheWholeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 200
		h := func(context.Context, rec, int) error {
			time.Sleep(5 * time.Microsecond)
			return nil
		}
		e, _, tp := start(t, cfg, h)
		from := learnCallTime(t, e, tp)
		feed(e, tp, from, from+50_000, nil)
		waitProcessed(t, e, uint64(from+50_000))
		s := e.Stats()
		if s.Processed != uint64(from+50_000) {
			t.Fatalf("processed %d of %d", s.Processed, from+50_000)
		}
		if s.PeakInFlight != 200 {
			t.Fatalf("peak in flight %d, want MaxProcCount 200", s.PeakInFlight)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}

// In key order, with quick handlers and more keys waiting than the few
// workers that then hold records, the keys take turns: a worker puts the
// next records of its keys behind the others waiting instead of keeping its
// keys until they have nothing left.
func TestQuickHandlersTakeTurnsAmongKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 1000
		cfg.Ordering = ByKey
		var mu sync.Mutex
		var order []string // the key of each record handled, in order
		h := func(_ context.Context, r rec, _ int) error {
			mu.Lock()
			order = append(order, r.key)
			mu.Unlock()
			return nil
		}
		e, _, tp := start(t, cfg, h)
		from := learnCallTime(t, e, tp)
		mu.Lock()
		order = order[:0]
		mu.Unlock()
		// Four times the keys that the workers may hold (a batch of 32
		// keys each), 100 records each.
		keys := 4 * e.conc.quick * maxTake
		n := int64(keys) * 100
		feed(e, tp, from, from+n, func(o int64) string { return fmt.Sprint(o % int64(keys)) })
		waitProcessed(t, e, uint64(from+n))
		mu.Lock()
		defer mu.Unlock()
		if len(order) != int(n) {
			t.Fatalf("handled %d of %d", len(order), n)
		}
		// Turns: 4 records per key handled serve nearly every key.
		// Kept, each worker's 32 keys would run all their records before
		// it took others: a quarter of the keys at most.
		seen := map[string]bool{}
		for _, k := range order[n/4 : n/4+4*int64(keys)] {
			seen[k] = true
		}
		if len(seen) < keys*3/4 {
			t.Fatalf("%d of %d keys were served in %d records", len(seen), keys, 4*keys)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}

// waitProcessed waits until n records are processed, in the bubble's time:
// handlers that sleep are durably blocked, so synctest.Wait would not wait
// for them.
func waitProcessed(t *testing.T, e *testEngine, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d records processed", n), func() bool { return e.Stats().Processed >= n })
	synctest.Wait()
}
