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
	e := New(cfg, h, fc, nil, nil)
	p0, p1 := TP{"t", 0}, TP{"t", 1}
	e.Assign([]TP{p0, p1})
	e.Start()
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
	if kept := e.Add([]Fetched[rec]{{TP: p0, Offset: 5}}); kept != 0 {
		t.Fatalf("Add kept %d records of a revoked partition", kept)
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
	e := New(testConfig(), func(context.Context, rec, int) error { return nil }, fc, nil, nil)
	tp := TP{"t", 0}
	e.Assign([]TP{tp})
	e.Start()
	feed(e, tp, 0, 10, nil)
	waitFor(t, "done", func() bool { return e.Stats().Processed == 10 })
	e.Lose([]TP{tp})
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if fc.calls != 0 {
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
	e := New(cfg, h, &fakeCommits{}, nil, nil)
	tps := []TP{{"t", 0}, {"t", 1}, {"t", 2}}
	e.Assign(tps)
	e.Start()
	// A fetch loop over a 100k-record backlog per partition, as the
	// adapter runs it: wait for room, apply the plan, fetch at most
	// min(room, window) from unpaused partitions.
	next := map[TP]int64{}
	paused := map[TP]bool{}
	maxBuffered := 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	flowing := func() bool {
		ps := e.Stats().Partitions
		return ps[1].Committable >= 20000 && ps[2].Committable >= 20000
	}
	for !flowing() {
		room, err := e.WaitRoom(ctx)
		if err != nil {
			t.Fatalf("WaitRoom: %v (stats %+v)", err, e.Stats())
		}
		pause, resume, pollMax := e.FetchPlan()
		for _, tp := range resume {
			paused[tp] = false
		}
		for _, tp := range pause {
			paused[tp] = true
		}
		n := min(room, pollMax)
		for _, tp := range tps {
			if paused[tp] || n == 0 || next[tp] >= 100000 {
				continue
			}
			k := min(n, 50)
			feed(e, tp, next[tp], next[tp]+int64(k), nil)
			next[tp] += int64(k)
			n -= k
		}
		maxBuffered = max(maxBuffered, e.Stats().Buffered)
	}
	s := e.Stats()
	if maxBuffered > cfg.MaxBuffered {
		t.Fatalf("buffered reached %d, above the bound %d", maxBuffered, cfg.MaxBuffered)
	}
	if !paused[tps[0]] {
		t.Fatal("the stuck partition was never paused")
	}
	if span := s.Partitions[0].Span; span > 2*cfg.PartitionWindow {
		t.Fatalf("stuck partition's window spans %d offsets, above twice the bound %d", span, cfg.PartitionWindow)
	}
	close(stuck)
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
	e, fc, tp := start(t, testConfig(), h)
	feed(e, tp, 0, 10, nil)
	waitFor(t, "others done", func() bool { return e.Stats().Processed == 9 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.Shutdown(ctx, context.Background())
	if !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Shutdown = %v, want ErrDrainTimeout", err)
	}
	waitFor(t, "handler cancelled", cancelled.Load)
	e.workers.Wait()
	if fc.get(tp) != 3 {
		t.Fatalf("committed %d, want 3", fc.get(tp))
	}
}

func TestCommitFailureIsRetried(t *testing.T) {
	cfg := testConfig()
	cfg.CommitCount = 10
	fc := &fakeCommits{}
	fc.fail.Store(2)
	e := New(cfg, func(context.Context, rec, int) error { return nil }, fc, nil, nil)
	tp := TP{"t", 0}
	e.Assign([]TP{tp})
	e.Start()
	feed(e, tp, 0, 10, nil)
	waitFor(t, "commit after two failures", func() bool { return fc.get(tp) == 10 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.CommitErrors != 2 || s.Commits < 1 {
		t.Fatalf("commit errors %d commits %d", s.CommitErrors, s.Commits)
	}
}
