package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rec is the record type of the tests: its identity and key.
type rec struct {
	tp  TP
	off int64
	key string
}

// fakeCommits records every commit and serves the last offset per partition.
type fakeCommits struct {
	mu       sync.Mutex
	last     map[TP]int64
	meta     map[TP]string
	calls    int
	inflight atomic.Int32
	overlap  atomic.Bool
	fail     atomic.Int32 // fail this many calls first
	// delay is each call's round trip (virtual time under synctest); sent
	// logs every call as it starts, with its offsets.
	delay time.Duration
	sent  []commitSent
}

// commitSent is one commit call: when it was sent and what it carried.
type commitSent struct {
	at   time.Time
	offs []Offset
}

func (f *fakeCommits) Commit(_ context.Context, offs []Offset) error {
	if f.inflight.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.inflight.Add(-1)
	f.mu.Lock()
	f.sent = append(f.sent, commitSent{time.Now(), slices.Clone(offs)})
	f.mu.Unlock()
	time.Sleep(f.delay)
	if f.fail.Add(-1) >= 0 {
		return errors.New("injected commit failure")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last, f.meta = map[TP]int64{}, map[TP]string{}
	}
	f.calls++
	for _, o := range offs {
		last, seen := f.last[o.TP]
		if seen && (o.Offset < last || (o.Offset == last && o.Metadata == f.meta[o.TP])) {
			return fmt.Errorf("commit for %v went from %d to %d (metadata %q, was %q)", o.TP, last, o.Offset, o.Metadata, f.meta[o.TP])
		}
		f.last[o.TP], f.meta[o.TP] = o.Offset, o.Metadata
	}
	return nil
}

func (f *fakeCommits) metadata(tp TP) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.meta[tp]
}

func (f *fakeCommits) get(tp TP) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[tp]
}

func (f *fakeCommits) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeSource is a Source over an in-memory queue of records, as a group
// client would deliver them: in order, never records of a paused partition
// (they stay queued until it is resumed), at most max per poll.
type fakeSource struct {
	commits *fakeCommits
	dead    func(ctx context.Context, r rec, attempt int, cause error) error

	mu      sync.Mutex
	queue   []Fetched[rec]
	paused  map[TP]bool
	pauses  int
	resumes int
	closed  bool
	polled  int           // records handed out
	avail   chan struct{} // cap 1: records were pushed or a partition resumed
}

func newFakeSource(fc *fakeCommits) *fakeSource {
	return &fakeSource{commits: fc, paused: map[TP]bool{}, avail: make(chan struct{}, 1)}
}

func (s *fakeSource) push(recs ...Fetched[rec]) {
	s.mu.Lock()
	s.queue = append(s.queue, recs...)
	s.mu.Unlock()
	s.signal()
}

func (s *fakeSource) signal() {
	select {
	case s.avail <- struct{}{}:
	default:
	}
}

func (s *fakeSource) Poll(ctx context.Context, max int, b *Batch[rec]) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrSourceClosed
		}
		keep := s.queue[:0]
		for _, f := range s.queue {
			if len(b.Records) < max && !s.paused[f.TP] {
				b.Records = append(b.Records, f)
				continue
			}
			keep = append(keep, f)
		}
		clear(s.queue[len(keep):])
		s.queue = keep
		s.polled += len(b.Records)
		s.mu.Unlock()
		if len(b.Records) > 0 {
			return nil
		}
		select {
		case <-s.avail:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *fakeSource) AllowRebalance() {}

func (s *fakeSource) Pause(tps []TP) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tp := range tps {
		s.paused[tp] = true
		s.pauses++
	}
}

func (s *fakeSource) Resume(tps []TP) {
	s.mu.Lock()
	for _, tp := range tps {
		delete(s.paused, tp)
		s.resumes++
	}
	s.mu.Unlock()
	s.signal()
}

func (s *fakeSource) isPaused(tp TP) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused[tp]
}

func (s *fakeSource) Commit(ctx context.Context, offs []Offset) error {
	return s.commits.Commit(ctx, offs)
}

func (s *fakeSource) DeadLetter(ctx context.Context, r rec, attempt int, cause error) error {
	if s.dead == nil {
		return errors.New("no dead-letter topic")
	}
	return s.dead(ctx, r, attempt, cause)
}

func (s *fakeSource) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func testConfig() Config {
	return Config{
		MaxProcCount: 8, MaxBuffered: 1 << 20, MaxBufferedBytes: 1 << 40, PartitionWindow: 1 << 20,
		CommitCount: 100, CommitInterval: time.Hour, MaxRetries: 2,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond,
		RevokeTimeout: 5 * time.Second, ShutdownTimeout: 10 * time.Second,
		ShutdownMargin: 5 * time.Second, CommitTimeout: 10 * time.Second,
	}
}

// testEngine is an engine running on a fake source.
type testEngine struct {
	*Engine[rec]
	src    *fakeSource
	cancel context.CancelFunc
	done   chan error
}

// run starts e on a fake source committing to fc; dead, if not nil, stores
// dead letters.
func run(t *testing.T, cfg Config, h Handler[rec], fc *fakeCommits, dead func(context.Context, rec, int, error) error, tps ...TP) *testEngine {
	t.Helper()
	te := &testEngine{Engine: New(cfg, h), src: newFakeSource(fc), done: make(chan error, 1)}
	te.src.dead = dead
	te.Assign(tps)
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- te.Run(ctx, te.src) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-te.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return te
}

// start returns a running engine with a recording committer that owns one
// partition, t/0.
func start(t *testing.T, cfg Config, h Handler[rec]) (*testEngine, *fakeCommits, TP) {
	t.Helper()
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	return run(t, cfg, h, fc, nil, tp), fc, tp
}

func feed(e *testEngine, tp TP, from, to int64, key func(int64) string) {
	var batch []Fetched[rec]
	for o := from; o < to; o++ {
		k := ""
		if key != nil {
			k = key(o)
		}
		var kb []byte
		if k != "" {
			kb = []byte(k)
		}
		batch = append(batch, Fetched[rec]{TP: tp, Offset: o, Key: kb, Rec: rec{tp, o, k}, Size: 100})
	}
	e.src.push(batch...)
}

// waitFor polls cond with a bounded deadline; it is not a sleep standing in
// for synchronisation but a bounded wait for an asynchronous outcome.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// shutdown ends Run and returns its error, without the fatal error that
// tests check through Err.
func shutdown(t *testing.T, e *testEngine) error {
	t.Helper()
	e.cancel()
	select {
	case err := <-e.done:
		e.done <- err // for the cleanup
		if errors.Is(err, ErrFatal) {
			return nil
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}
