package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func blockConfig() Config {
	cfg := testConfig()
	cfg.Policy = Block
	cfg.MaxRetries = 1
	return cfg
}

// blockedAt returns the offsets Stats lists as blocked for tp.
func blockedAt(e *testEngine, tp TP) []int64 {
	for _, p := range e.Stats().Partitions {
		if p.TP == tp {
			var offs []int64
			for _, b := range p.Blocked {
				offs = append(offs, b.Offset)
			}
			return offs
		}
	}
	return nil
}

// In key order a blocked record holds its key and the commit point, and
// nothing else: other keys of its partition and other partitions finish,
// the engine never stops, and Release(Skip) lets the rest through.
func TestBlockHoldsOnlyItsKeyUntilReleased(t *testing.T) {
	cfg := blockConfig()
	cfg.Ordering = ByKey
	var calls sync.Map // key "a" offsets run
	h := func(ctx context.Context, r rec, attempt int) error {
		if r.tp.Partition == 0 && r.key == "a" {
			calls.Store(r.off, attempt)
			if r.off == 0 {
				return errBoom
			}
		}
		return nil
	}
	fc := &fakeCommits{}
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	e := run(t, cfg, h, fc, nil, p0, p1)
	keys := []string{"a", "b", "a", "c", "b"}
	feed(e, p0, 0, 5, func(o int64) string { return keys[o] })
	feed(e, p1, 0, 50, func(o int64) string { return "a" })
	waitFor(t, "the others done", func() bool { return e.Stats().Processed == 3+50 })
	waitFor(t, "offset 0 blocked", func() bool { return len(blockedAt(e, p0)) == 1 })
	// It keeps being retried, well past MaxRetries.
	waitFor(t, "offset 0 retried without end", func() bool { a, _ := calls.Load(int64(0)); return a.(int) > 5 })
	if _, ok := calls.Load(int64(2)); ok {
		t.Fatal("offset 2 (key a) ran while offset 0 (key a) was blocked")
	}
	if err := e.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fc.get(p0) != 0 || fc.get(p1) != 50 {
		t.Fatalf("committed p0 %d p1 %d; want 0 (held by the blocked record) and 50", fc.get(p0), fc.get(p1))
	}
	s := e.Stats()
	b := s.Partitions[0].Blocked[0]
	if e.Err() != nil || s.Blocked != 1 || s.Failed != 1 || b.Offset != 0 || !errors.Is(b.Err, errBoom) || b.Attempts < 2 || b.Since.IsZero() {
		t.Fatalf("err %v blocked %d failed %d record %+v", e.Err(), s.Blocked, s.Failed, b)
	}

	if err := e.Release(p0, 0, Skip); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rest done", func() bool { s := e.Stats(); return s.Processed == 5+50-1 && s.Skipped == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	s = e.Stats()
	if fc.get(p0) != 5 || s.Unblocked != 1 || s.Failed != 1 || len(blockedAt(e, p0)) != 0 {
		t.Fatalf("committed %d released %d failed %d blocked %v", fc.get(p0), s.Unblocked, s.Failed, blockedAt(e, p0))
	}
}

// In partition order a blocked record holds its partition; dead-lettering
// it through Release passes its attempts and last error to the Source.
func TestBlockHoldsItsPartitionAndReleasesToDeadLetter(t *testing.T) {
	cfg := blockConfig()
	cfg.Ordering = ByPartition
	var after atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		if r.tp.Partition == 0 && r.off == 2 {
			return errBoom
		}
		if r.tp.Partition == 0 && r.off > 2 {
			after.Add(1)
		}
		return nil
	}
	var mu sync.Mutex
	var dead []int64
	dl := func(ctx context.Context, r rec, attempts int, cause error) error {
		if !errors.Is(cause, errBoom) || attempts < 2 {
			t.Errorf("dead letter of %d: attempts %d cause %v", r.off, attempts, cause)
		}
		mu.Lock()
		dead = append(dead, r.off)
		mu.Unlock()
		return nil
	}
	fc := &fakeCommits{}
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	e := run(t, cfg, h, fc, dl, p0, p1)
	feed(e, p0, 0, 10, nil)
	feed(e, p1, 0, 20, nil)
	waitFor(t, "offset 2 blocked and p1 done", func() bool {
		return len(blockedAt(e, p0)) == 1 && e.Stats().Processed == 2+20
	})
	if after.Load() != 0 {
		t.Fatal("a record after the blocked one ran in partition order")
	}
	if err := e.Release(p0, 2, DeadLetter); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rest done", func() bool { return e.Stats().Processed == 9+20 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	s := e.Stats()
	if len(dead) != 1 || dead[0] != 2 || s.DeadLettered != 1 || fc.get(p0) != 10 {
		t.Fatalf("dead %v dead-lettered %d committed %d", dead, s.DeadLettered, fc.get(p0))
	}
}

// Unordered, records behind a blocked one still run; its partition is
// paused once its window fills, and no other partition is.
func TestBlockUnorderedPausesOnlyItsPartition(t *testing.T) {
	cfg := blockConfig()
	cfg.PartitionWindow = 10
	var fixed atomic.Bool
	h := func(ctx context.Context, r rec, _ int) error {
		if r.tp.Partition == 0 && r.off == 0 && !fixed.Load() {
			return errBoom
		}
		return nil
	}
	fc := &fakeCommits{}
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	e := run(t, cfg, h, fc, nil, p0, p1)
	feed(e, p0, 0, 10, nil)
	waitFor(t, "p0 paused with offset 0 blocked", func() bool {
		return e.src.isPaused(p0) && len(blockedAt(e, p0)) == 1 && e.Stats().Processed == 9
	})
	feed(e, p0, 10, 30, nil) // held by the client while p0 is paused
	feed(e, p1, 0, 100, nil)
	waitFor(t, "p1 done", func() bool { return e.Stats().Processed == 9+100 })
	if e.src.isPaused(p1) {
		t.Fatal("p1 paused")
	}
	// The downstream recovers: the blocked record succeeds on its own.
	fixed.Store(true)
	waitFor(t, "p0 done", func() bool { return e.Stats().Processed == 30+100 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); fc.get(p0) != 30 || s.Unblocked != 0 || s.Blocked != 1 || len(blockedAt(e, p0)) != 0 {
		t.Fatalf("committed %d released %d blocked %d list %v", fc.get(p0), s.Unblocked, s.Blocked, blockedAt(e, p0))
	}
}

// Release while the blocked record's handler runs applies when that attempt
// fails; a dead letter that fails leaves the record blocked, not fatal.
func TestReleaseWhileRunningAndFailedDeadLetter(t *testing.T) {
	cfg := blockConfig()
	cfg.MaxProcCount = 2
	running := make(chan struct{})
	proceed := make(chan struct{})
	var holdOnce sync.Once
	var held atomic.Bool
	h := func(ctx context.Context, r rec, attempt int) error {
		if attempt == 4 {
			holdOnce.Do(func() { held.Store(true); close(running); <-proceed })
		}
		return errBoom
	}
	var dlCalls atomic.Int32
	dl := func(context.Context, rec, int, error) error {
		if dlCalls.Add(1) == 1 {
			return errors.New("dead-letter topic unavailable")
		}
		return nil
	}
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	e := run(t, cfg, h, fc, dl, tp)
	feed(e, tp, 0, 1, nil)
	<-running
	if err := e.Release(tp, 0, DeadLetter); err != nil {
		t.Fatal(err)
	}
	if b := e.Stats().Partitions[0].Blocked; len(b) != 1 || !b[0].Released {
		t.Fatalf("blocked %+v; want offset 0 marked released", b)
	}
	close(proceed)
	// The first dead letter fails: still blocked, retried, not fatal.
	waitFor(t, "the failed dead letter", func() bool { return dlCalls.Load() == 1 })
	waitFor(t, "blocked again", func() bool {
		b := e.Stats().Partitions[0].Blocked
		return len(b) == 1 && !b[0].Released
	})
	if e.Err() != nil {
		t.Fatalf("a failed release was fatal: %v", e.Err())
	}
	if err := e.Release(tp, 0, DeadLetter); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead-lettered", func() bool { return e.Stats().DeadLettered == 1 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if fc.get(tp) != 1 || !held.Load() {
		t.Fatalf("committed %d", fc.get(tp))
	}
}

func TestReleaseRefusals(t *testing.T) {
	h := func(ctx context.Context, r rec, _ int) error { return nil }
	e, _, tp := start(t, blockConfig(), h)
	feed(e, tp, 0, 3, nil)
	waitFor(t, "done", func() bool { return e.Stats().Processed == 3 })
	for _, c := range []struct {
		tp     TP
		off    int64
		action Policy
	}{{tp, 1, Skip}, {tp, 7, DeadLetter}, {TP{"t", 9}, 0, Skip}} {
		if err := e.Release(c.tp, c.off, c.action); !errors.Is(err, ErrNotBlocked) {
			t.Errorf("Release(%v, %d) = %v, want ErrNotBlocked", c.tp, c.off, err)
		}
	}
	for _, a := range []Policy{Stop, Block} {
		if err := e.Release(tp, 0, a); err == nil || errors.Is(err, ErrNotBlocked) {
			t.Errorf("Release with action %v = %v, want a refusal of the action", a, err)
		}
	}
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}
