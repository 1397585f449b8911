package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// blockingCommits is a committer whose commits wait until released.
type blockingCommits struct {
	fakeCommits
	block   atomic.Bool
	release chan struct{}
	delay   time.Duration // every commit's round trip
}

func (b *blockingCommits) Commit(ctx context.Context, offs []Offset) error {
	time.Sleep(b.delay)
	if b.block.Load() {
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return b.fakeCommits.Commit(ctx, offs)
}

// A commit stuck for longer than CommitStallHold (a rebalance holding it)
// stops new records from starting: the work finished and not committed,
// which a lost partition would replay, stops growing. Once the commit
// completes, dispatch resumes.
func TestStuckCommitHoldsDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		cfg, h := stallSetup(time.Second, &calls)
		bc := &blockingCommits{release: make(chan struct{})}
		te, tp := runStalling(cfg, h, bc)

		feed(te, tp, 0, 10_000, nil)
		time.Sleep(time.Second)
		synctest.Wait()
		if bc.callCount() == 0 {
			t.Fatal("no commit in the first second")
		}
		bc.block.Store(true) // the next commit hangs
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		// The commit round started within 100 ms and is stuck; one
		// second after it began, nothing new starts.
		time.Sleep(1200 * time.Millisecond)
		synctest.Wait()
		held := calls.Load()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != held {
			t.Fatalf("%d records started while the commit was stuck (after the hold began)", n-held)
		}
		if s := te.Stats(); s.CommitStalls != 1 {
			t.Fatalf("CommitStalls %d, want 1", s.CommitStalls)
		}
		bc.block.Store(false)
		close(bc.release)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := calls.Load(); n < held+50 {
			t.Fatalf("only %d records started in the second after the commit completed", n-held)
		}
		if err := shutdown(t, te); err != nil {
			t.Fatal(err)
		}
	})
}

// stallSetup is the stall tests' configuration (a commit round every
// 100 ms, one worker) and handler (10 ms, counted in calls).
func stallSetup(hold time.Duration, calls *atomic.Int64) (Config, Handler[rec]) {
	cfg := testConfig()
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.CommitCount = 1 << 30
	cfg.CommitStallHold = hold
	cfg.MaxProcCount = 1
	return cfg, func(context.Context, rec, int) error {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond)
		return nil
	}
}

// runStalling runs an engine owning t/0 on the fake source, committing
// through bc. The test ends it with shutdown.
func runStalling(cfg Config, h Handler[rec], bc *blockingCommits) (*testEngine, TP) {
	te := &testEngine{Engine: New(cfg, h), src: newFakeSource(&bc.fakeCommits), done: make(chan error, 1)}
	tp := TP{"t", 0}
	te.Assign([]TP{tp})
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- te.Run(ctx, &stallSource{fakeSource: te.src, bc: bc}) }()
	return te, tp
}

// stallSource is the fake source with the blocking committer.
type stallSource struct {
	*fakeSource
	bc *blockingCommits
}

func (s *stallSource) Commit(ctx context.Context, offs []Offset) error { return s.bc.Commit(ctx, offs) }

// With commits that typically take 10 ms, a round is stuck after 250 ms
// (ten times the typical round, at least a quarter second), well before
// CommitStallHold.
func TestStuckCommitHoldFollowsTheTypicalCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		cfg, h := stallSetup(5*time.Second, &calls)
		bc := &blockingCommits{release: make(chan struct{}), delay: 10 * time.Millisecond}
		te, tp := runStalling(cfg, h, bc)

		feed(te, tp, 0, 10_000, nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		bc.block.Store(true)
		// The next round starts within 110 ms and is stuck 250 ms later;
		// the worker's batch taken before then (at most 32 records of
		// 10 ms) still runs.
		time.Sleep(time.Second)
		synctest.Wait()
		held := calls.Load()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := calls.Load(); n != held {
			t.Fatalf("%d records started 1-3 s into a stuck commit; commits typically take 10 ms (stalls %d)", n-held, te.Stats().CommitStalls)
		}
		bc.block.Store(false)
		close(bc.release)
		if err := shutdown(t, te); err != nil {
			t.Fatal(err)
		}
	})
}
