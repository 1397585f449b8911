package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// checker is a MemberChecker answering from a function.
type checker func(context.Context) (bool, error)

func (c checker) StillMember(ctx context.Context) (bool, error) { return c(ctx) }

// counting is a handler that counts its calls.
func counting(n *atomic.Int64) Handler[rec] {
	return func(context.Context, rec, int) error { n.Add(1); return nil }
}

// While the group is asked, nothing is dispatched; a member that the group
// still counts carries on with everything it holds.
func TestFreezeHoldsDispatchWhileTheGroupIsAsked(t *testing.T) {
	var handled atomic.Int64
	te, _, tp := start(t, testConfig(), counting(&handled))
	asked, answer := make(chan struct{}), make(chan bool)
	done := make(chan struct{})
	go func() {
		defer close(done)
		te.afterFreeze(context.Background(), 10*time.Second, checker(func(context.Context) (bool, error) {
			close(asked)
			return <-answer, nil
		}))
	}()
	<-asked
	feed(te, tp, 0, 50, nil)
	waitFor(t, "the records to be buffered", func() bool { return te.Stats().Buffered == 50 })
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d records handled while the group was being asked", n)
	}
	answer <- true
	<-done
	waitFor(t, "every record handled after the answer", func() bool { return handled.Load() == 50 })
	if s := te.Stats(); s.Freezes != 1 || s.Lost != 0 {
		t.Fatalf("freezes %d lost %d, want 1 and 0", s.Freezes, s.Lost)
	}
}

// Expelled while frozen: every partition is dropped at once, and what was
// buffered for them is never handled (the new owners handle it).
func TestFreezeExpelledDropsEveryPartition(t *testing.T) {
	var handled atomic.Int64
	fc := &fakeCommits{}
	a, b := TP{"t", 0}, TP{"t", 1}
	te := run(t, testConfig(), counting(&handled), fc, nil, a, b)
	asked := make(chan struct{})
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		te.afterFreeze(context.Background(), 10*time.Second, checker(func(context.Context) (bool, error) {
			close(asked)
			<-release
			return false, nil
		}))
	}()
	<-asked
	feed(te, a, 0, 20, nil)
	feed(te, b, 0, 20, nil)
	waitFor(t, "the records to be buffered", func() bool { return te.Stats().Buffered == 40 })
	close(release)
	<-done
	s := te.Stats()
	if s.Lost != 2 || s.Buffered != 0 {
		t.Fatalf("lost %d partitions with %d records buffered, want 2 and 0", s.Lost, s.Buffered)
	}
	if err := shutdown(t, te); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d records of partitions the group took away were handled", n)
	}
	if fc.callCount() != 0 {
		t.Fatalf("%d commits for partitions no longer owned", fc.callCount())
	}
}

// The client rejoined while the group was asked (its callbacks ran): the
// answer is stale, and partitions that join assigned must not be dropped.
func TestFreezeAnswerOvertakenByAJoinDropsNothing(t *testing.T) {
	var handled atomic.Int64
	te, _, tp := start(t, testConfig(), counting(&handled))
	te.afterFreeze(context.Background(), 10*time.Second, checker(func(context.Context) (bool, error) {
		te.Assign(nil) // the client's rejoin, reported during the check
		return false, nil
	}))
	feed(te, tp, 0, 30, nil)
	waitFor(t, "the partition's records handled", func() bool { return handled.Load() == 30 })
	if s := te.Stats(); s.Lost != 0 {
		t.Fatalf("lost %d partitions after a rejoin", s.Lost)
	}
}

// A check that fails leaves everything as it was.
func TestFreezeCheckErrorCarriesOn(t *testing.T) {
	var handled atomic.Int64
	te, _, tp := start(t, testConfig(), counting(&handled))
	te.afterFreeze(context.Background(), 10*time.Second, checker(func(context.Context) (bool, error) {
		return false, errors.New("coordinator unavailable")
	}))
	feed(te, tp, 0, 30, nil)
	waitFor(t, "the partition's records handled", func() bool { return handled.Load() == 30 })
	if s := te.Stats(); s.Lost != 0 || s.Freezes != 1 {
		t.Fatalf("lost %d freezes %d, want 0 and 1", s.Lost, s.Freezes)
	}
}
