package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestRevokeWaitsForRunningRecordsAndCommits(t *testing.T) {
	cfg := testConfig()
	hold := make(chan struct{})
	var started atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		if r.tp.Partition == 0 && r.off == 2 {
			started.Add(1)
			<-hold
		}
		return nil
	}
	fc := &fakeCommits{}
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	e := run(t, cfg, h, fc, nil, p0, p1)
	feed(e, p0, 0, 5, nil)
	waitFor(t, "offset 2 running", func() bool { return started.Load() == 1 })

	revoked := make(chan error)
	go func() { revoked <- e.Revoke(context.Background(), []TP{p0}) }()
	// While p0's revoke waits, p1 keeps flowing.
	feed(e, p1, 0, 50, nil)
	waitFor(t, "p1 processed", func() bool { return e.Stats().Processed == 4+50 })
	select {
	case err := <-revoked:
		t.Fatalf("revoke returned (%v) while offset 2 still ran", err)
	default:
	}
	close(hold)
	if err := <-revoked; err != nil {
		t.Fatal(err)
	}
	if got := fc.get(p0); got != 5 {
		t.Fatalf("revoke committed %d, want 5", got)
	}
	// Records fetched for the revoked partition after the revoke are not ours.
	feed(e, p0, 5, 6, nil)
	waitFor(t, "the late record dropped", func() bool { return e.Stats().Dropped == 1 })
	if p := e.Stats().Processed; p != 5+50 {
		t.Fatalf("processed %d: a record of a revoked partition ran", p)
	}
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Revoked != 1 || s.RevokeTimeouts != 0 {
		t.Fatalf("revoked %d timeouts %d", s.Revoked, s.RevokeTimeouts)
	}
}

// A revoke that times out gives the partition up with a record still
// running; when that record finishes late, its success must touch nothing of
// the partition's next assignment. The new assignment's offset 0 is held
// running, so a late completion that leaked into the new window would show
// as a commit point past 0. Virtual time (synctest): the 50 ms revoke timeout
// passes without waiting.
func TestRevokeTimeoutIgnoresLateCompletionAndNewEpochIsUntouched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.RevokeTimeout = 50 * time.Millisecond
		hold, holdNew := make(chan struct{}), make(chan struct{})
		var calls0 atomic.Int32
		var sawCancel atomic.Bool
		h := func(ctx context.Context, r rec, _ int) error {
			if r.off != 0 {
				return nil
			}
			switch calls0.Add(1) {
			case 1: // the old assignment
				<-ctx.Done() // cancelled when the revoke gives up
				sawCancel.Store(true)
				<-hold
				return nil // a late success
			case 2: // the new assignment
				<-holdNew
			}
			return nil
		}
		e, fc, tp := start(t, cfg, h)
		feed(e, tp, 0, 3, nil)
		synctest.Wait()
		if p := e.Stats().Processed; p != 2 {
			t.Fatalf("processed %d, want 2 with offset 0 running", p)
		}
		if err := e.Revoke(context.Background(), []TP{tp}); err != nil {
			t.Fatal(err)
		}
		if fc.get(tp) != 0 {
			t.Fatalf("revoke committed %d past a record still running", fc.get(tp))
		}
		synctest.Wait()
		if !sawCancel.Load() {
			t.Fatal("the old handler's context was not cancelled")
		}
		// The partition comes back (new epoch) from the committed offset 0.
		e.Assign([]TP{tp})
		feed(e, tp, 0, 3, nil)
		synctest.Wait() // new offsets 1 and 2 done, new offset 0 held
		close(hold)     // the old assignment's record now finishes
		synctest.Wait()
		ps := e.Stats().Partitions
		if len(ps) != 1 || ps[0].Committable != 0 || ps[0].Epoch < 2 {
			t.Fatalf("new assignment %+v: want epoch ≥ 2 and commit point 0 while its offset 0 runs", ps)
		}
		close(holdNew)
		synctest.Wait()
		if c := e.Stats().Partitions[0].Committable; c != 3 {
			t.Fatalf("commit point %d, want 3", c)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
		if s := e.Stats(); s.RevokeTimeouts != 1 {
			t.Fatalf("RevokeTimeouts %d, want 1", s.RevokeTimeouts)
		}
		if fc.get(tp) != 3 {
			t.Fatalf("committed %d, want 3", fc.get(tp))
		}
	})
}

func TestLoseNeverCommits(t *testing.T) {
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	e := run(t, testConfig(), func(context.Context, rec, int) error { return nil }, fc, nil, tp)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "done", func() bool { return e.Stats().Processed == 10 })
	e.Lose([]TP{tp})
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if fc.callCount() != 0 {
		t.Fatalf("%d commits after a loss", fc.calls)
	}
}

func TestBackpressureBoundsBufferAndPausesOnlyTheStuckPartition(t *testing.T) {
	cfg := testConfig()
	cfg.MaxProcCount = 4
	cfg.MaxBuffered = 400
	cfg.PartitionWindow = 100
	stuck := make(chan struct{})
	h := func(ctx context.Context, r rec, _ int) error {
		if r.tp.Partition == 0 && r.off == 0 {
			<-stuck
		}
		return nil
	}
	tps := []TP{{"t", 0}, {"t", 1}, {"t", 2}}
	e := run(t, cfg, h, &fakeCommits{}, nil, tps...)
	// A backlog of 10,000 records per partition, interleaved in chunks of
	// 50 as a broker serves them; the engine's own fetch loop polls it.
	for from := int64(0); from < 10000; from += 50 {
		for _, tp := range tps {
			feed(e, tp, from, from+50, nil)
		}
	}
	var maxBuffered int
	waitFor(t, "partitions 1 and 2 flowing past the stuck partition 0", func() bool {
		s := e.Stats()
		maxBuffered = max(maxBuffered, s.Buffered)
		return s.Partitions[1].Committable >= 8000 && s.Partitions[2].Committable >= 8000
	})
	s := e.Stats()
	if maxBuffered > cfg.MaxBuffered {
		t.Fatalf("buffered reached %d, above the bound %d", maxBuffered, cfg.MaxBuffered)
	}
	if !e.src.isPaused(tps[0]) || !s.Partitions[0].Paused {
		t.Fatal("the stuck partition is not paused")
	}
	if span := s.Partitions[0].Span; span > 2*cfg.PartitionWindow {
		t.Fatalf("stuck partition's window spans %d offsets, above twice the bound %d", span, cfg.PartitionWindow)
	}
	close(stuck)
	// Unstuck, partition 0 is resumed and drains its backlog.
	waitFor(t, "partition 0 resumed and drained", func() bool {
		return e.Stats().Partitions[0].Committable == 10000
	})
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownTimeoutCancelsHandlersAndCommitsWhatIsDone(t *testing.T) {
	synctest.Test(t, testShutdownTimeout)
}

func testShutdownTimeout(t *testing.T) {
	var cancelled atomic.Bool
	h := func(ctx context.Context, r rec, _ int) error {
		if r.off == 3 {
			<-ctx.Done()
			cancelled.Store(true)
			return ctx.Err()
		}
		return nil
	}
	cfg := testConfig()
	cfg.ShutdownTimeout = 50 * time.Millisecond
	e, fc, tp := start(t, cfg, h)
	feed(e, tp, 0, 10, nil)
	synctest.Wait()
	if p := e.Stats().Processed; p != 9 {
		t.Fatalf("processed %d, want 9", p)
	}
	err := shutdown(t, e)
	if !errors.Is(err, ErrDrainTimeout) || errors.Is(err, ErrHandlersLeaked) {
		t.Fatalf("Run = %v, want ErrDrainTimeout alone", err)
	}
	// Run returned only after the cancelled handler did.
	if !cancelled.Load() {
		t.Fatal("Run returned before the cancelled handler")
	}
	if fc.get(tp) != 3 {
		t.Fatalf("committed %d, want 3", fc.get(tp))
	}
}

func TestCommitFailureIsRetried(t *testing.T) {
	synctest.Test(t, testCommitFailureIsRetried)
}

// testCommitFailureIsRetried runs in virtual time: the retries back off
// 100 ms, then 200 ms.
func testCommitFailureIsRetried(t *testing.T) {
	cfg := testConfig()
	cfg.CommitCount = 10
	fc := &fakeCommits{}
	fc.fail.Store(2)
	tp := TP{"t", 0}
	e := run(t, cfg, func(context.Context, rec, int) error { return nil }, fc, nil, tp)
	feed(e, tp, 0, 10, nil)
	synctest.Wait()
	time.Sleep(time.Second) // virtual: past both backoffs
	synctest.Wait()
	if got := fc.get(tp); got != 10 {
		t.Fatalf("committed %d after two failures and their backoffs, want 10", got)
	}
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.CommitErrors != 2 || s.Commits < 1 {
		t.Fatalf("commit errors %d commits %d", s.CommitErrors, s.Commits)
	}
}
