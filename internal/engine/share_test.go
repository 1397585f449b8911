package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shareSource is the fake source with acknowledgements: it records every
// Ack of every record.
type shareSource struct {
	*fakeSource
	renews bool

	mu   sync.Mutex
	acks map[rec][]Ack
}

func (s *shareSource) Ack(r rec, a Ack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks[r] = append(s.acks[r], a)
}

func (s *shareSource) Renews() bool { return s.renews }

// count returns how many records got an Ack of each kind, and the records
// acknowledged more than once.
func (s *shareSource) count() (accepted, released int, twice []rec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r, as := range s.acks {
		if len(as) > 1 {
			twice = append(twice, r)
		}
		switch as[0] {
		case Accept:
			accepted++
		case Release:
			released++
		}
	}
	return accepted, released, twice
}

func (s *shareSource) ack(r rec) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks[r]
}

func shareTestConfig() Config {
	cfg := testConfig()
	cfg.Share = true
	return cfg
}

// runShare starts a share-mode engine on a fake share source. No Assign: a
// share source has no group events.
func runShare(t *testing.T, cfg Config, h Handler[rec], renews bool) (*testEngine, *shareSource) {
	t.Helper()
	src := &shareSource{fakeSource: newFakeSource(&fakeCommits{}), renews: renews, acks: map[rec][]Ack{}}
	te := &testEngine{Engine: New(cfg, h), src: src.fakeSource, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- te.Run(ctx, src) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-te.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return te, src
}

// Every record gets exactly one Ack. With renewal, a failed record is
// retried here and accepted once it succeeds; nothing is released, and no
// record is accepted before its handler succeeded.
func TestShareAcceptsOnceAfterSuccess(t *testing.T) {
	var succeeded sync.Map
	h := func(_ context.Context, r rec, attempt int) error {
		if r.off%5 == 0 && attempt == 1 {
			return errors.New("first attempt fails")
		}
		succeeded.Store(r, true)
		return nil
	}
	e, src := runShare(t, shareTestConfig(), h, true)
	tps := []TP{{"t", 0}, {"t", 1}}
	for _, tp := range tps {
		feed(e, tp, 0, 500, nil)
	}
	waitFor(t, "every record acknowledged", func() bool { a, r, _ := src.count(); return a+r == 1000 })
	if err := shutdown(t, e); err != nil {
		t.Fatal(err)
	}
	accepted, released, twice := src.count()
	if accepted != 1000 || released != 0 || len(twice) > 0 {
		t.Fatalf("accepted %d, released %d, acknowledged twice %v; want 1000, 0, none", accepted, released, twice)
	}
	src.mu.Lock()
	for r := range src.acks {
		if _, ok := succeeded.Load(r); !ok {
			t.Errorf("%v accepted without a success", r)
		}
	}
	src.mu.Unlock()
	s := e.Stats()
	if s.Acquired != 1000 || s.Accepted != 1000 || s.Retried != 200 || s.Commits != 0 {
		t.Fatalf("stats %+v", s.Counters)
	}
	if len(s.Partitions) != 2 || s.Partitions[0].Committable != 500 || s.Partitions[0].Pending != 0 {
		t.Fatalf("partitions %+v: want 2, each with 500 acknowledged and none pending", s.Partitions)
	}
}

// Without renewal, a failed record with retries left is released at once:
// the broker's redelivery is its retry, with the broker's delivery count as
// its attempt.
func TestShareReleasesWhenLocksCannotBeRenewed(t *testing.T) {
	var attempts sync.Map
	h := func(_ context.Context, r rec, attempt int) error {
		attempts.Store(r, attempt)
		if r.off == 3 && attempt < 3 {
			return errors.New("fails")
		}
		return nil
	}
	e, src := runShare(t, shareTestConfig(), h, false)
	tp := TP{"t", 0}
	feed(e, tp, 0, 10, nil)
	waitFor(t, "all acknowledged", func() bool { a, r, _ := src.count(); return a+r == 10 })
	if got := src.ack(rec{tp, 3, ""}); len(got) != 1 || got[0] != Release {
		t.Fatalf("failed record acknowledged %v, want [release]", got)
	}
	// The broker delivers it again, twice more.
	e.src.push(Fetched[rec]{TP: tp, Offset: 3, Rec: rec{tp, 3, "again"}, Attempt: 2},
		Fetched[rec]{TP: tp, Offset: 2, Rec: rec{tp, 2, "again"}, Attempt: 2})
	waitFor(t, "redeliveries acknowledged", func() bool { a, r, _ := src.count(); return a+r == 12 })
	e.src.push(Fetched[rec]{TP: tp, Offset: 3, Rec: rec{tp, 3, "third"}, Attempt: 3})
	waitFor(t, "third delivery acknowledged", func() bool { a, r, _ := src.count(); return a+r == 13 })
	if got := src.ack(rec{tp, 3, "third"}); len(got) != 1 || got[0] != Accept {
		t.Fatalf("third delivery acknowledged %v, want [accept]", got)
	}
	if a, _ := attempts.Load(rec{tp, 3, "third"}); a != 3 {
		t.Fatalf("third delivery ran as attempt %v, want the delivery count 3", a)
	}
	s := e.Stats()
	if s.Released != 2 || s.Deliveries != [MaxDeliveryBucket]uint64{10, 2, 1} {
		t.Fatalf("released %d, deliveries %v", s.Released, s.Deliveries)
	}
}

// The stop policy releases the record and stops the engine.
func TestShareStopPolicyReleases(t *testing.T) {
	cfg := shareTestConfig()
	cfg.MaxRetries = 0
	e, src := runShare(t, cfg, func(_ context.Context, r rec, _ int) error {
		if r.off == 1 {
			return errors.New("fails for good")
		}
		return nil
	}, true)
	tp := TP{"t", 0}
	feed(e, tp, 0, 3, nil)
	select {
	case err := <-e.done:
		e.done <- err
		if !errors.Is(err, ErrFatal) {
			t.Fatalf("Run = %v, want ErrFatal", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop")
	}
	if got := src.ack(rec{tp, 1, ""}); len(got) != 1 || got[0] != Release {
		t.Fatalf("failed record acknowledged %v, want [release]", got)
	}
}

// The skip policy rejects a record that failed for good (the broker
// archives it), where a success accepts: the two stay apart in Stats.
func TestShareSkipPolicyRejects(t *testing.T) {
	cfg := shareTestConfig()
	cfg.MaxRetries, cfg.Policy = 0, Skip
	e, src := runShare(t, cfg, func(_ context.Context, r rec, _ int) error {
		if r.off == 1 {
			return errors.New("fails for good")
		}
		return nil
	}, true)
	tp := TP{"t", 0}
	feed(e, tp, 0, 3, nil)
	waitFor(t, "all acknowledged", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(src.acks) == 3
	})
	for off, want := range []Ack{Accept, Reject, Accept} {
		if got := src.ack(rec{tp, int64(off), ""}); len(got) != 1 || got[0] != want {
			t.Errorf("offset %d acknowledged %v, want [%v]", off, got, want)
		}
	}
	if s := e.Stats(); s.Accepted != 2 || s.Rejected != 1 || s.Released != 0 || s.Skipped != 1 {
		t.Fatalf("accepted %d, rejected %d, released %d, skipped %d; want 2, 1, 0, 1", s.Accepted, s.Rejected, s.Released, s.Skipped)
	}
}

// A shutdown releases every record not finished: waiting out a backoff or
// queued. Every record gets exactly one Ack, and only records whose handler
// succeeded are accepted.
func TestShareShutdownReleasesUnfinished(t *testing.T) {
	cfg := shareTestConfig()
	cfg.MaxProcCount = 1
	cfg.BackoffMin, cfg.BackoffMax = time.Hour, time.Hour
	var started atomic.Int32
	release := make(chan struct{})
	h := func(ctx context.Context, r rec, _ int) error {
		switch r.off {
		case 0:
			return errors.New("into a long backoff")
		case 1:
			started.Add(1)
			<-release // the one worker is busy: what it did not take stays queued
		}
		return nil
	}
	e, src := runShare(t, cfg, h, true)
	tp := TP{"t", 0}
	feed(e, tp, 0, 1, nil)
	waitFor(t, "the failure in backoff", func() bool { return e.Stats().Retried == 1 })
	feed(e, tp, 1, 50, nil) // one poll: the worker takes 32 (maxTake), 17 stay queued
	waitFor(t, "the worker busy", func() bool { return started.Load() == 1 })
	e.cancel()
	waitFor(t, "the drain", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.phase >= draining
	})
	close(release)
	select {
	case err := <-e.done:
		e.done <- err
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	accepted, released, twice := src.count()
	if accepted != 32 || released != 18 || len(twice) > 0 {
		t.Fatalf("accepted %d, released %d, twice %v; want 32 (the worker's batch), 18 (the backoff and the queue), none", accepted, released, twice)
	}
	if got := src.ack(rec{tp, 0, ""}); len(got) != 1 || got[0] != Release {
		t.Fatalf("record in backoff acknowledged %v, want [release]", got)
	}
	if got := src.ack(rec{tp, 49, ""}); len(got) != 1 || got[0] != Release {
		t.Fatalf("queued record acknowledged %v, want [release]", got)
	}
	if s := e.Stats(); s.Buffered != 0 || s.Released != 18 {
		t.Fatalf("buffered %d, released %d", s.Buffered, s.Released)
	}
}

// Share mode needs a Source that acknowledges.
func TestShareNeedsAnAcker(t *testing.T) {
	e := New(shareTestConfig(), func(context.Context, rec, int) error { return nil })
	if err := e.Run(context.Background(), newFakeSource(&fakeCommits{})); !errors.Is(err, ErrNotAcker) {
		t.Fatalf("Run = %v, want ErrNotAcker", err)
	}
}
