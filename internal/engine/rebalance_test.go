package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
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

func TestRevokeTimeoutIgnoresLateCompletionAndNewEpochIsUntouched(t *testing.T) {
	cfg := testConfig()
	cfg.RevokeTimeout = 50 * time.Millisecond
	hold := make(chan struct{})
	var sawCancel atomic.Bool
	var first atomic.Bool
	h := func(ctx context.Context, r rec, _ int) error {
		if r.off == 0 && first.CompareAndSwap(false, true) {
			<-ctx.Done() // cancelled when the revoke gives up
			sawCancel.Store(true)
			<-hold
			return nil // a late success from the old assignment
		}
		return nil
	}
	e, fc, tp := start(t, cfg, h)
	feed(e, tp, 0, 3, nil)
	waitFor(t, "two done", func() bool { return e.Stats().Processed == 2 })
	if err := e.Revoke(context.Background(), []TP{tp}); err != nil {
		t.Fatal(err)
	}
	if fc.get(tp) != 0 {
		t.Fatalf("revoke committed %d past a record still running", fc.get(tp))
	}
	// The partition comes back (new epoch) from the committed offset 0.
	e.Assign([]TP{tp})
	e.mu.Lock()
	epoch := e.parts[tp].epoch
	e.mu.Unlock()
	waitFor(t, "old handler cancelled", sawCancel.Load)
	close(hold) // the old assignment's record now finishes
	feed(e, tp, 0, 3, nil)
	waitFor(t, "new epoch done", func() bool { return e.Stats().Partitions[0].Committable == 3 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	s := e.Stats()
	if s.RevokeTimeouts != 1 {
		t.Fatalf("RevokeTimeouts %d, want 1", s.RevokeTimeouts)
	}
	if fc.get(tp) != 3 {
		t.Fatalf("committed %d after epoch %d, want 3", fc.get(tp), epoch)
	}
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
	// A backlog of 30,000 records per partition, interleaved in chunks of
	// 50 as a broker serves them; the engine's own fetch loop polls it.
	for from := int64(0); from < 30000; from += 50 {
		for _, tp := range tps {
			feed(e, tp, from, from+50, nil)
		}
	}
	var maxBuffered int
	waitFor(t, "partitions 1 and 2 flowing past the stuck partition 0", func() bool {
		s := e.Stats()
		maxBuffered = max(maxBuffered, s.Buffered)
		return s.Partitions[1].Committable >= 20000 && s.Partitions[2].Committable >= 20000
	})
	s := e.Stats()
	if maxBuffered > cfg.MaxBuffered {
		t.Fatalf("buffered reached %d, above the bound %d", maxBuffered, cfg.MaxBuffered)
	}
	if !e.src.isPaused(tps[0]) || !s.Partitions[0].Paused {
		t.Fatal("the stuck partition is not paused")
	}
	if e.src.isPaused(tps[1]) || e.src.isPaused(tps[2]) {
		t.Fatal("a flowing partition is paused")
	}
	if span := s.Partitions[0].Span; span > 2*cfg.PartitionWindow {
		t.Fatalf("stuck partition's window spans %d offsets, above twice the bound %d", span, cfg.PartitionWindow)
	}
	close(stuck)
	// Unstuck, partition 0 is resumed and drains its backlog.
	waitFor(t, "partition 0 resumed and drained", func() bool {
		return e.Stats().Partitions[0].Committable == 30000
	})
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownTimeoutCancelsHandlersAndCommitsWhatIsDone(t *testing.T) {
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
	waitFor(t, "others done", func() bool { return e.Stats().Processed == 9 })
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
	cfg := testConfig()
	cfg.CommitCount = 10
	fc := &fakeCommits{}
	fc.fail.Store(2)
	tp := TP{"t", 0}
	e := run(t, cfg, func(context.Context, rec, int) error { return nil }, fc, nil, tp)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "commit after two failures", func() bool { return fc.get(tp) == 10 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.CommitErrors != 2 || s.Commits < 1 {
		t.Fatalf("commit errors %d commits %d", s.CommitErrors, s.Commits)
	}
}
