package engine

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// virtualThroughput runs the benchmark's downstream (knee at 100 calls,
// 503 beyond 150) for span of virtual time and returns the records done
// and the share of calls answered 503. Virtual time takes the machine's
// load out of the measurement: what is left is the algorithm.
func virtualThroughput(t *testing.T, procs int, adaptive bool, span time.Duration) (done int64, over float64) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = procs
		cfg.Adaptive = adaptive
		cfg.MaxRetries = 1 << 30
		cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
		cfg.Overloaded = func(err error) bool { return errors.Is(err, err503) }
		var d downstream
		h := func(context.Context, rec, int) error { return d.call() }
		e, _, tp := start(t, cfg, h)
		feed(e, tp, 0, 1<<17, nil)
		time.Sleep(span)
		synctest.Wait()
		done = int64(e.Stats().Processed)
		over = float64(d.overloaded.Load()) / float64(max(d.calls.Load(), 1))
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
	return done, over
}

// Adaptive at MaxProcCount 1000 against the best fixed setting (100, the
// knee), in virtual time: at least 90% of its throughput, at most 1% of
// calls answered 503. (Fixed 1000, all but 150 calls answered 503, is in
// BenchmarkAdaptiveConcurrency: in virtual time it costs minutes of CPU.)
func TestAdaptiveConcurrencyAgainstFixed(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of CPU")
	}
	const span = 3 * time.Second
	best, _ := virtualThroughput(t, 100, false, span)
	adaptive, over := virtualThroughput(t, 1000, true, span)
	t.Logf("in %s of virtual time: fixed 100: %d records; adaptive (max 1000): %d (%.1f%%), %.2f%% 503s",
		span, best, adaptive, 100*float64(adaptive)/float64(best), 100*over)
	if adaptive*10 < best*9 || over > 0.01 {
		t.Fatalf("adaptive did %d records (fixed 100: %d) with %.2f%% 503s", adaptive, best, 100*over)
	}
}
