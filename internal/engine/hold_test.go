package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// countByTP counts handled records per partition.
type countByTP struct {
	mu sync.Mutex
	n  map[TP]int
}

func (c *countByTP) handle(_ context.Context, r rec, _ int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[TP]int{}
	}
	c.n[r.tp]++
	return nil
}

func (c *countByTP) get(tp TP) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[tp]
}

// warmUp runs offset 0 of tp, so that Run is past its start: a hold made
// before Run applies only at the first intake.
func warmUp(t *testing.T, e *testEngine, c *countByTP, tp TP) {
	t.Helper()
	feed(e, tp, 0, 1, nil)
	waitFor(t, "the first record", func() bool { return c.get(tp) == 1 })
}

func TestPauseHoldsOnePartitionUntilResume(t *testing.T) {
	var c countByTP
	a, b := TP{"t", 0}, TP{"t", 1}
	e := run(t, testConfig(), c.handle, &fakeCommits{}, nil, a, b)
	warmUp(t, e, &c, b)
	e.Pause([]TP{a}, false)
	if !e.src.isPaused(a) || e.src.isPaused(b) {
		t.Fatalf("after Pause(a): source paused a=%v b=%v, want true false", e.src.isPaused(a), e.src.isPaused(b))
	}
	feed(e, a, 0, 50, nil)
	feed(e, b, 1, 51, nil)
	waitFor(t, "b's records", func() bool { return c.get(b) == 51 })
	if n := c.get(a); n != 0 {
		t.Fatalf("%d records of the held partition ran", n)
	}
	if ps := e.Stats().Partitions; !ps[0].Held || !ps[0].Paused || ps[1].Held {
		t.Fatalf("stats: %+v", ps)
	}
	e.Resume([]TP{a}, false)
	waitFor(t, "a's records after Resume", func() bool { return c.get(a) == 50 })
}

func TestEngineResumeLeavesAHeldPartitionPaused(t *testing.T) {
	cfg := testConfig()
	cfg.PartitionWindow = 4
	release := make(chan struct{})
	var done atomic.Int32
	h := func(ctx context.Context, r rec, _ int) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		done.Add(1)
		return nil
	}
	e, _, tp := start(t, cfg, h)
	feed(e, tp, 0, 8, nil)
	waitFor(t, "the window pause", func() bool { return e.src.isPaused(tp) })
	e.Pause([]TP{tp}, false)
	close(release)
	waitFor(t, "the held records", func() bool { return done.Load() == 8 })
	// The window fell to zero: the engine's own resume ran (in the worker
	// that finished the last record) and must have kept the hold.
	if !e.src.isPaused(tp) {
		t.Fatal("the engine resumed a partition an operator held")
	}
	e.Resume(nil, true)
	if e.src.isPaused(tp) {
		t.Fatal("still paused after Resume")
	}
}

func TestPauseAllHoldsPartitionsAssignedLater(t *testing.T) {
	var c countByTP
	a, b, later := TP{"t", 0}, TP{"t", 1}, TP{"t", 2}
	e := run(t, testConfig(), c.handle, &fakeCommits{}, nil, a, b)
	warmUp(t, e, &c, b)
	e.Pause(nil, true)
	if !e.src.isPaused(a) || !e.src.isPaused(b) {
		t.Fatal("Pause(all) left an owned partition fetching")
	}
	e.Assign([]TP{later})
	feed(e, later, 0, 10, nil)
	// The first poll that brings the new partition's records pauses it.
	waitFor(t, "the later partition's pause", func() bool { return e.src.isPaused(later) })
	// Resuming one while all are held resumes that one alone.
	e.Resume([]TP{b}, false)
	if e.src.isPaused(b) || !e.src.isPaused(a) || !e.src.isPaused(later) {
		t.Fatalf("after Resume(b): paused a=%v b=%v later=%v, want true false true",
			e.src.isPaused(a), e.src.isPaused(b), e.src.isPaused(later))
	}
	all, held := e.Held()
	if all || len(held) != 2 {
		t.Fatalf("Held() = %v %v, want a and later", all, held)
	}
}
