package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// SetMaxProcCount lowers and raises the number of handler calls at once
// while running, above the MaxProcCount Run started with too.
func TestSetMaxProcCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 8
		gate := make(chan struct{})
		var running atomic.Int64
		h := func(context.Context, rec, int) error {
			running.Add(1)
			<-gate
			running.Add(-1)
			return nil
		}
		e, fc, tp := start(t, cfg, h)
		e.SetMaxProcCount(2)
		feed(e, tp, 0, 200, nil)
		synctest.Wait()
		if n := running.Load(); n != 2 {
			t.Fatalf("%d calls at once under SetMaxProcCount(2)", n)
		}
		e.SetMaxProcCount(20)
		synctest.Wait()
		if n, l := running.Load(), e.Stats().Limit; n != 20 || l != 20 {
			t.Fatalf("%d calls at once, limit %d, under SetMaxProcCount(20)", n, l)
		}
		close(gate)
		waitFor(t, "all done", func() bool { return e.Stats().Processed == 200 })
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
		if fc.get(tp) != 200 {
			t.Fatalf("committed %d", fc.get(tp))
		}
	})
}

var errOverloaded = errors.New("503 Service Unavailable")

// The adaptive limit finds a downstream's knee, in virtual time: latency
// 10 ms up to 20 calls at once, growing sharply beyond, 503 beyond 30.
func TestAdaptiveConcurrencyFindsTheKnee(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxProcCount = 200
		cfg.Adaptive = true
		cfg.MaxRetries = 1 << 20
		cfg.Overloaded = func(err error) bool { return errors.Is(err, errOverloaded) }
		var conc, over, calls atomic.Int64
		h := func(context.Context, rec, int) error {
			c := conc.Add(1)
			defer conc.Add(-1)
			calls.Add(1)
			if c > 30 {
				over.Add(1)
				return errOverloaded
			}
			d := 10 * time.Millisecond
			if c > 20 {
				x := float64(c-20) / 4
				d = time.Duration(float64(d) * (1 + x*x))
			}
			time.Sleep(d)
			return nil
		}
		e, _, tp := start(t, cfg, h)
		feed(e, tp, 0, 1<<16, nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s := e.Stats()
		if s.Limit < 12 || s.Limit > 30 {
			t.Fatalf("adaptive limit %d, want about 20", s.Limit)
		}
		if o, c := over.Load(), calls.Load(); o*100 > c {
			t.Fatalf("%d of %d calls overloaded", o, c)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}
