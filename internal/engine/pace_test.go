package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Virtual time (synctest): the limiter's waits pass without waiting, and the
// count after 2 s of virtual time is exact up to a batch.
func TestRateLimitBoundsRecordsStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxRecordsPerSecond = 1000
		var calls atomic.Int64
		h := func(context.Context, rec, int) error { calls.Add(1); return nil }
		e, _, tp := start(t, cfg, h)
		feed(e, tp, 0, 10000, nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		// 2,000 in 2 s, plus the burst of 20 at the start.
		if n := calls.Load(); n < 1980 || n > 2040 {
			t.Fatalf("%d records started in 2 s at 1,000/s", n)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}

// errSlowDown is what a handler returns for a downstream's 429 with
// Retry-After 5 s.
var errSlowDown = errors.New("429 Too Many Requests")

func retryAfter5s(err error) (time.Duration, bool) {
	if errors.Is(err, errSlowDown) {
		return 5 * time.Second, true
	}
	return 0, false
}

// A RetryAfter error holds all dispatch for its delay, in every worker and
// for every partition; the record is retried after it without using up a
// retry (MaxRetries 0 under Stop would be fatal).
func TestRetryAfterHoldsAllDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 2
		cfg.MaxRetries = 0
		cfg.RetryAfter = retryAfter5s
		var calls atomic.Int64
		h := func(_ context.Context, r rec, attempt int) error {
			calls.Add(1)
			if r.tp.Partition == 0 && r.off == 0 && attempt == 1 {
				return errSlowDown
			}
			return nil
		}
		fc := &fakeCommits{}
		p0, p1 := TP{"t", 0}, TP{"t", 1}
		e := run(t, cfg, h, fc, nil, p0, p1)
		// p0's offset 0 comes first; p1's records come once it asked.
		feed(e, p0, 0, 1, nil)
		synctest.Wait()
		feed(e, p1, 0, 100, nil)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d calls during the hold, want 1 (the one that asked for it)", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
		s := e.Stats()
		if e.Err() != nil || s.Processed != 101 || s.Holds != 1 || s.Retried != 1 || fc.get(p0) != 1 || fc.get(p1) != 100 {
			t.Fatalf("err %v processed %d holds %d retried %d committed %d %d", e.Err(), s.Processed, s.Holds, s.Retried, fc.get(p0), fc.get(p1))
		}
	})
}

// A hold that begins while another worker runs a batch stops that batch at
// its next record; those records run after the hold.
func TestRetryAfterStopsABatchMidway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 2
		cfg.RetryAfter = retryAfter5s
		gate0, gate1 := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		h := func(_ context.Context, r rec, attempt int) error {
			calls.Add(1)
			if r.tp.Partition == 0 && attempt == 1 {
				<-gate0
				return errSlowDown
			}
			if r.tp.Partition == 1 && r.off == 0 {
				<-gate1
			}
			return nil
		}
		fc := &fakeCommits{}
		p0, p1 := TP{"t", 0}, TP{"t", 1}
		e := run(t, cfg, h, fc, nil, p0, p1)
		feed(e, p0, 0, 1, nil)
		synctest.Wait()
		feed(e, p1, 0, 64, nil) // the second worker takes a batch of p1
		synctest.Wait()
		close(gate0) // p0/0 asks for a hold while p1/0 runs
		synctest.Wait()
		close(gate1)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d calls: the batch ran on through the hold", n)
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
		if s := e.Stats(); s.Processed != 65 || fc.get(p1) != 64 {
			t.Fatalf("processed %d committed %d", s.Processed, fc.get(p1))
		}
	})
}

// SetMaxRecordsPerSecond at run time, in virtual time (synctest), so that
// the counts hold whatever the machine's load: a limit turned on where none
// was configured, lowered, lowered below one a second, raised under workers
// already waiting for the old rate, and lifted.
func TestSetMaxRecordsPerSecondWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig() // no rate limit configured
		cfg.MaxProcCount = 2
		var calls atomic.Int64
		h := func(context.Context, rec, int) error { calls.Add(1); return nil }
		e, _, tp := start(t, cfg, h)
		feed(e, tp, 0, 1000, nil)
		synctest.Wait()
		if n := calls.Load(); n != 1000 {
			t.Fatalf("%d of 1,000 records started without a limit", n)
		}
		if r := e.Stats().PerSecond; r != 0 {
			t.Fatalf("rate in force %v, want 0 (none)", r)
		}

		// step puts the rate r in force for d and checks the records
		// started. The new limiter grants its full bucket (a burst of 20
		// ms of records) and r × d tokens; of those, each worker may hold
		// up to a burst reserved for records that start after d.
		step := func(r float64, d time.Duration) {
			t.Helper()
			before := calls.Load()
			e.SetMaxRecordsPerSecond(r)
			if got := e.Stats().PerSecond; got != r {
				t.Fatalf("rate in force %v, want %v", got, r)
			}
			time.Sleep(d)
			synctest.Wait()
			burst := int64(min(maxTake, max(1, int(r/50))))
			hi := burst + int64(r*d.Seconds())
			lo := hi - int64(cfg.MaxProcCount)*burst
			if got := calls.Load() - before; got < lo || got > hi+1 {
				t.Fatalf("at %v/s for %v: %d records started, want %d to %d", r, d, got, lo, hi)
			}
		}
		// A limit where none was configured: of the records fed after
		// it, only its burst starts before virtual time moves.
		e.SetMaxRecordsPerSecond(1000)
		feed(e, tp, 1000, 100_000, nil)
		synctest.Wait()
		if n := calls.Load() - 1000; n != 20 {
			t.Fatalf("%d records started at once at 1,000/s, want the burst of 20", n)
		}
		step(1000, 2*time.Second)
		step(100, 2*time.Second)
		step(0.5, 10*time.Second)
		// Both workers now wait for tokens up to 4 s away at 0.5/s;
		// raising the limit lets them go at the new rate at once.
		step(1000, time.Second)
		e.SetMaxRecordsPerSecond(0)
		synctest.Wait()
		if n := calls.Load(); n != 100_000 {
			t.Fatalf("%d of 100,000 records started once the limit was lifted", n)
		}
		if r := e.Stats().PerSecond; r != 0 {
			t.Fatalf("rate in force %v after lifting it", r)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}
