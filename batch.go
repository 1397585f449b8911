package kafkaworker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// A BatchHandler processes records in batches: one database transaction,
// one bulk request, for many records. Create its consumer with NewBatch.
//
// The engine underneath is the same as for a Handler: MaxProcCount bounds
// the records in flight (each is in at most one batch), offsets are
// committed per record in order, and Ordering holds across batches: in key
// order a batch never holds two records of one key, in partition order two
// of one partition, so a batch may be processed in any order.
//
// Returning nil marks every record of the batch done. Returning a
// *BatchError gives each record its own result. RetryAfter and Overloaded
// apply to every record of the batch, without bisection. Any other error
// fails the batch: it is bisected, each half tried again after the retry backoff,
// until the records that fail on their own are isolated; only those are
// retried (alone) and, once their retries are used up, meet FailurePolicy.
// So one poison record does not send its whole batch to the dead-letter
// topic, at the cost of a few more calls. HandleBatch must therefore be
// safe to call again with a subset of a batch it failed (idempotent, or
// transactional), and safe for concurrent use.
//
// ctx is cancelled when Run ends; a batch is not cancelled when one of its
// records' partitions is revoked (its result for that record is then
// ignored, and the record processed again by the next owner).
type BatchHandler interface {
	HandleBatch(ctx context.Context, records []*Record) error
}

// BatchHandlerFunc adapts an ordinary function to a BatchHandler.
type BatchHandlerFunc func(ctx context.Context, records []*Record) error

// HandleBatch calls f(ctx, records).
func (f BatchHandlerFunc) HandleBatch(ctx context.Context, records []*Record) error {
	return f(ctx, records)
}

// BatchError is a batch's per-record result: Errs maps indexes into the
// batch to their error; records whose index is absent (or nil) succeeded.
// The failed records are retried alone, without bisection.
type BatchError struct {
	Errs map[int]error
}

func (e *BatchError) Error() string {
	idx := make([]int, 0, len(e.Errs))
	for i, err := range e.Errs {
		if err != nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	var b strings.Builder
	fmt.Fprintf(&b, "%d records of the batch failed", len(idx))
	for n, i := range idx {
		if n == 3 {
			b.WriteString("; …")
			break
		}
		fmt.Fprintf(&b, "; [%d]: %v", i, e.Errs[i])
	}
	return b.String()
}

// Defaults of the batch settings.
const (
	DefaultMaxBatchSize = 100
	DefaultBatchLinger  = 5 * time.Millisecond
)

// NewBatch validates cfg and returns a Consumer that runs h on batches of
// up to MaxBatchSize records. It does not connect: Run does.
func NewBatch(cfg Config, h BatchHandler, opts ...Option) (*Consumer, error) {
	if h == nil {
		return nil, errors.New("kafkaworker: nil BatchHandler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	b := newBatcher(h, cfg)
	c, err := New(cfg, b, opts...)
	if err != nil {
		return nil, err
	}
	c.batcher = b
	return c, nil
}

// batcher turns the engine's record calls into batch calls. Each record's
// call waits in pending until the batch fills (MaxBatchSize, or every
// worker waiting) or BatchLinger passes, then for its result. Safe for
// concurrent use.
type batcher struct {
	h          BatchHandler
	max, procs int
	linger     time.Duration
	backMin    time.Duration
	backMax    time.Duration
	ctx        context.Context // batches' context; cancelled by stop
	cancel     context.CancelFunc
	running    sync.WaitGroup // batch calls, for stop
	mu         sync.Mutex
	pending    []*waiter
	timer      *time.Timer // flushes a lingering batch; nil when pending is empty
	stopped    bool
}

// waiter is one record's call waiting for its batch. done has capacity 1,
// so a result is delivered even if its caller gave up.
type waiter struct {
	r    *Record
	done chan error
}

func newBatcher(h BatchHandler, cfg Config) *batcher {
	b := &batcher{h: h, max: cfg.MaxBatchSize, procs: cfg.MaxProcCount, linger: cfg.BatchLinger,
		backMin: cfg.RetryBackoffMin, backMax: cfg.RetryBackoffMax}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Handle is the engine's per-record call.
func (b *batcher) Handle(ctx context.Context, r *Record) error {
	w := &waiter{r: r, done: make(chan error, 1)}
	if r.Attempt > 1 {
		// A retry failed on its own in a bisected batch, or with its
		// batch's per-record result: try it alone.
		b.start([]*waiter{w})
	} else {
		b.add(w)
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add queues w, and starts the batch when it is full: MaxBatchSize records,
// or as many as there are workers (nobody else can come).
func (b *batcher) add(w *waiter) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		w.done <- context.Canceled
		return
	}
	b.pending = append(b.pending, w)
	var batch []*waiter
	switch {
	case len(b.pending) >= b.max || len(b.pending) >= b.procs:
		batch = b.takeLocked()
	case len(b.pending) == 1:
		b.timer = time.AfterFunc(b.linger, b.flush)
	}
	b.mu.Unlock()
	if batch != nil {
		b.start(batch)
	}
}

// flush starts the lingering batch.
func (b *batcher) flush() {
	b.mu.Lock()
	batch := b.takeLocked()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.start(batch)
	}
}

func (b *batcher) takeLocked() []*waiter {
	batch := b.pending
	b.pending = nil
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

func (b *batcher) start(batch []*waiter) {
	b.running.Add(1)
	go func() {
		defer b.running.Done()
		b.process(batch, 1)
	}()
}

// process calls the handler on batch and delivers the results, bisecting
// a failed batch: each half is tried after the backoff of its depth.
func (b *batcher) process(batch []*waiter, depth int) {
	recs := make([]*Record, len(batch))
	for i, w := range batch {
		recs[i] = w.r
	}
	err := b.call(recs)
	var be *BatchError
	switch {
	case err == nil:
		for _, w := range batch {
			w.done <- nil
		}
		return
	case errors.As(err, &be):
		for i, w := range batch {
			w.done <- be.Errs[i]
		}
		return
	case len(batch) == 1 || b.ctx.Err() != nil || IsOverloaded(err):
		// Overload (RetryAfter, Overloaded) is the downstream's, not a
		// record's: bisecting would only send it more calls. Every
		// record gets the error; RetryAfter holds all dispatch.
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	if !b.sleep(depth) {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	mid := len(batch) / 2
	b.process(batch[:mid], depth+1)
	b.process(batch[mid:], depth+1)
}

// call runs the handler, turning a panic into a *PanicError.
func (b *batcher) call(recs []*Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return b.h.HandleBatch(b.ctx, recs)
}

// sleep waits the retry backoff for a bisection depth (doubling from
// RetryBackoffMin, up to RetryBackoffMax, with equal jitter); false if the
// batcher stopped first.
func (b *batcher) sleep(depth int) bool {
	d := b.backMin
	for i := 1; i < depth && d < b.backMax; i++ {
		d *= 2
	}
	d = min(d, b.backMax)
	if d > 1 {
		d = d/2 + rand.N(d/2)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

// stop cancels the batches' context and waits up to bound for running
// batch calls; records still pending get a cancellation.
func (b *batcher) stop(bound time.Duration) {
	b.mu.Lock()
	b.stopped = true
	batch := b.takeLocked()
	b.mu.Unlock()
	for _, w := range batch {
		w.done <- context.Canceled
	}
	b.cancel()
	done := make(chan struct{})
	go func() {
		b.running.Wait()
		close(done)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
