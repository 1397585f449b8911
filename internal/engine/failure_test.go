package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

var errBoom = errors.New("boom")

// failing fails records in bad on every attempt and counts attempts.
func failing(bad map[int64]bool) (Handler[rec], *sync.Map) {
	var attempts sync.Map
	return func(ctx context.Context, r rec, attempt int) error {
		attempts.Store(r.off, attempt)
		if bad[r.off] {
			return errBoom
		}
		return nil
	}, &attempts
}

func TestRetryThenSucceed(t *testing.T) {
	var calls atomic.Int32
	h := func(ctx context.Context, r rec, attempt int) error {
		calls.Add(1)
		if attempt < 3 {
			return errBoom
		}
		return nil
	}
	e, fc, tp := start(t, testConfig(), h)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "all done", func() bool { return e.Stats().Processed == 10 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	s := e.Stats()
	if calls.Load() != 30 || s.Retried != 20 || s.Failed != 0 {
		t.Fatalf("calls %d retried %d failed %d; want 30, 20, 0", calls.Load(), s.Retried, s.Failed)
	}
	if fc.get(tp) != 10 {
		t.Fatalf("committed %d, want 10", fc.get(tp))
	}
}

func TestSkipPolicyMarksDone(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = Skip
	h, attempts := failing(map[int64]bool{3: true})
	e, fc, tp := start(t, cfg, h)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "9 processed and 1 skipped", func() bool { s := e.Stats(); return s.Processed == 9 && s.Skipped == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if a, _ := attempts.Load(int64(3)); a != 3 {
		t.Fatalf("offset 3 had %v attempts, want 1+MaxRetries = 3", a)
	}
	if fc.get(tp) != 10 {
		t.Fatalf("committed %d, want 10", fc.get(tp))
	}
}

func TestDeadLetterPolicy(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = DeadLetter
	h, _ := failing(map[int64]bool{4: true})
	var dead []int64
	var mu sync.Mutex
	dl := func(ctx context.Context, r rec, attempt int, cause error) error {
		if !errors.Is(cause, errBoom) || attempt != 3 {
			t.Errorf("dead letter got attempt %d cause %v", attempt, cause)
		}
		mu.Lock()
		dead = append(dead, r.off)
		mu.Unlock()
		return nil
	}
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	e := run(t, cfg, h, fc, dl, tp)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "dead-lettered", func() bool { return e.Stats().DeadLettered == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0] != 4 || fc.get(tp) != 10 {
		t.Fatalf("dead %v committed %d; want [4] and 10", dead, fc.get(tp))
	}
}

func TestDeadLetterFailureIsFatalAndNotCommitted(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = DeadLetter
	h, _ := failing(map[int64]bool{4: true})
	dl := func(context.Context, rec, int, error) error { return errors.New("topic missing") }
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	e := run(t, cfg, h, fc, dl, tp)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "fatal", func() bool { return e.Err() != nil })
	waitFor(t, "others done", func() bool { return e.Stats().Processed == 9 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(e.Err(), ErrFatal) {
		t.Fatalf("Err() = %v, want ErrFatal", e.Err())
	}
	if fc.get(tp) != 4 {
		t.Fatalf("committed %d, want 4: the failed record must stay uncommitted", fc.get(tp))
	}
}

func TestStopPolicy(t *testing.T) {
	h, _ := failing(map[int64]bool{0: true})
	e, fc, tp := start(t, testConfig(), h)
	feed(e, tp, 0, 5, nil)
	waitFor(t, "fatal", func() bool { return e.Err() != nil })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(e.Err(), errBoom) || !errors.Is(e.Err(), ErrFatal) {
		t.Fatalf("Err() = %v; want it to wrap both ErrFatal and the handler's error", e.Err())
	}
	if fc.get(tp) != 0 {
		t.Fatalf("committed %d, want nothing", fc.get(tp))
	}
}

func TestPanicIsAnError(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = Skip
	cfg.MaxRetries = 0
	h := func(ctx context.Context, r rec, _ int) error {
		if r.off == 1 {
			panic("kaboom")
		}
		return nil
	}
	e, _, tp := start(t, cfg, h)
	feed(e, tp, 0, 3, nil)
	waitFor(t, "skipped", func() bool { return e.Stats().Skipped == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}

func TestRetryingRecordDoesNotBlockOthers(t *testing.T) {
	cfg := testConfig()
	cfg.Ordering = ByKey
	cfg.MaxRetries = 1000
	cfg.MaxProcCount = 1
	release := make(chan struct{})
	var released atomic.Bool
	h := func(ctx context.Context, r rec, _ int) error {
		if r.key == "a" && !released.Load() {
			return errBoom
		}
		return nil
	}
	e, _, tp := start(t, cfg, h)
	keys := []string{"a", "b", "b", "a", "c"}
	feed(e, tp, 0, 5, func(o int64) string { return keys[o] })
	// With one worker, b, b and c finish while a keeps failing; a's
	// second record waits behind the first.
	waitFor(t, "unrelated keys done", func() bool { return e.Stats().Processed == 3 })
	if got := e.Stats().Partitions[0].Committable; got != 0 {
		t.Fatalf("committable %d, want 0 while offset 0 retries", got)
	}
	released.Store(true)
	close(release)
	waitFor(t, "all done", func() bool { return e.Stats().Processed == 5 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}

func TestPermanentErrorSkipsRetries(t *testing.T) {
	cfg := testConfig()
	cfg.Policy = Skip
	cfg.MaxRetries = 5
	errPerm := errors.New("permanent")
	cfg.Permanent = func(err error) bool { return errors.Is(err, errPerm) }
	var calls atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		calls.Add(1)
		return errPerm
	}
	e, _, tp := start(t, cfg, h)
	feed(e, tp, 0, 1, nil)
	waitFor(t, "skipped", func() bool { return e.Stats().Skipped == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a permanent error was tried %d times, want once", calls.Load())
	}
}
