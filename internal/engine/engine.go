// Package engine runs a handler on many records of many partitions at once
// and decides which offsets may be committed. It knows nothing of Kafka's
// client: it drives a Source (poll, pause, resume, commit, dead-letter),
// which the franz-go adapter in internal/kafka implements and tests fake.
//
// Goroutines, all started by Run and all returned before Run returns: the
// fetch loop (on Run's own goroutine), MaxProcCount workers and one
// committer; retry timers run requeue briefly. Engine state is guarded by
// one mutex, mu, which is never held while calling out: not around the
// handler, the Source, or the callbacks. Workers take and settle records in
// small batches, so the lock is taken a few times per batch rather than per
// record. commitMu serialises commits and pauseMu serialises pause and
// resume calls; both are taken before mu, never after.
package engine

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
)

// Handler processes one record. attempt is 1 on first delivery.
type Handler[R any] func(ctx context.Context, r R, attempt int) error

// Engine is safe for concurrent use. Run it once.
type Engine[R any] struct {
	cfg    Config
	handle Handler[R]
	log    *slog.Logger
	seed   maphash.Seed
	t0     time.Time // base of the coarse per-item start times

	handlerCtx   context.Context // parent of every partition's context
	stopHandlers context.CancelFunc
	workers      sync.WaitGroup
	commitMu     sync.Mutex
	metaEnc      offsetmeta.Encoder // used under commitMu and mu
	pauseMu      sync.Mutex

	// calls and peak change around every handler call, on every CPU:
	// they get a cache line of their own, apart from mu, which every
	// settle takes.
	_     [64]byte
	calls atomic.Int64 // handler calls running
	peak  atomic.Int64 // most handler calls ever running at once
	_     [64]byte

	mu         sync.Mutex
	cond       sync.Cond // on mu: workers wait for runnable items
	src        Source[R] // set by Run, under mu
	phase      phase
	parts      map[TP]*partition[R]
	ready      queue[R]
	retries    retries[R]
	pool       pool[R]
	epoch      uint64
	window     int64 // span at which a partition is paused: see updateWindow
	flow       flow
	inflight   int           // items taken by workers
	callTime   time.Duration // mean handler time per record, for batch sizes; starts slow
	idle       int           // workers waiting in cond
	waking     int           // of them, signalled and not yet returned from Wait
	pauseDirty []*partition[R]
	unpause    []TP  // dropped partitions left paused in the Source
	holds      holds // partitions an operator paused: hold.go
	commits    commitTrigger
	metaBudget int // bytes of commit metadata the broker takes; 0: none
	fatal      error
	stopFetch  context.CancelCauseFunc // ends the fetch loop on a fatal error
	counters   Counters

	// Share mode: acker is src's Acker, set by Run; acks are outcomes
	// decided under mu and not yet told, sent by flushAcks outside it;
	// renews is acker.Renews() as the fetch loop last read it.
	acker   Acker[R]
	acks    []ackReq[R]
	renews  bool
	pace    pacer       // rate limit and holds; see pace.go
	frozen  bool        // dispatch held while the group is asked about a freeze; see freeze.go
	stall   commitStall // dispatch held while a commit is stuck; see stall.go
	takeMax int         // most records a worker takes at once
	conc    concurrency
}

// phase is where the engine is in its life.
type phase uint8

const (
	idle     phase = iota // before Run
	running               // Run is fetching and dispatching
	draining              // Run's context ended: no new dispatch
	stopped               // Run has returned or is about to
)

// Counters are running totals since the engine started.
type Counters struct {
	Processed      uint64 // handler returned nil
	Failed         uint64 // retries used up
	Retried        uint64 // attempts scheduled again
	Skipped        uint64 // failed and marked done by the Skip policy
	DeadLettered   uint64 // failed and stored by the DeadLetter policy
	Commits        uint64 // successful commit requests
	CommitErrors   uint64 // failed commit requests
	Assigned       uint64 // partitions assigned
	Revoked        uint64 // partitions revoked
	Lost           uint64 // partitions lost
	Joins          uint64 // times the group was joined (Assign calls)
	RevokeTimeouts uint64 // revokes that dropped records still running
	Dropped        uint64 // records fetched for a partition no longer owned
	Restored       uint64 // records skipped: done by the partition's previous owner
	Pauses         uint64 // partitions paused because their window was full
	Blocked        uint64 // records that used up their retries under the Block policy
	Unblocked      uint64 // blocked records let go by Release
	Holds          uint64 // times all dispatch was held for a RetryAfter error (extensions not counted)
	Freezes        uint64 // times the process was found to have not run for FreezeAfter or more
	CommitStalls   uint64 // times a commit took longer than CommitStallHold and dispatch was held
	Polls          uint64 // Source polls that returned records
	PeakInFlight   int

	// Share mode.
	Acquired uint64 // records taken in
	Accepted uint64 // records acknowledged as accepted
	Released uint64 // records released to the broker for redelivery
	Rejected uint64 // records rejected: failed for good and skipped
	// Deliveries counts records taken in by their delivery count: index i
	// holds count i+1, the last index counts MaxDeliveryBucket and more.
	Deliveries [MaxDeliveryBucket]uint64
}

// MaxDeliveryBucket is the last bucket of Counters.Deliveries: the broker's
// default delivery limit (group.share.delivery.count.limit, 5).
const MaxDeliveryBucket = 5

// ErrNotAcker is returned by Run in share mode when the Source cannot
// acknowledge records.
var ErrNotAcker = errors.New("share mode needs a Source that implements Acker")

// ErrFatal wraps the error that stopped the engine under the Stop policy or
// when a dead letter could not be stored.
var ErrFatal = errors.New("record failed for good")

// ErrDrainTimeout is returned by Run when handlers were still running at
// the shutdown deadline; their records stay uncommitted.
var ErrDrainTimeout = errors.New("handlers still running at the shutdown deadline")

// ErrHandlersLeaked is returned by Run, joined with ErrDrainTimeout, when
// handlers had not returned ShutdownMargin after their context was
// cancelled: they ignore it, and still run after Run returns.
var ErrHandlersLeaked = errors.New("handlers ignored their cancelled context")

// ErrRunTwice is returned by a second Run.
var ErrRunTwice = errors.New("engine already ran")

// New returns an engine; Run runs it. Group events (Assign, Revoke, Lose)
// are accepted from the moment New returns.
func New[R any](cfg Config, h Handler[R]) *Engine[R] {
	e := &Engine[R]{
		cfg:    cfg,
		handle: h,
		log:    cfg.Logger,
		seed:   maphash.MakeSeed(),
		t0:     time.Now(),
		parts:  make(map[TP]*partition[R]),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.cond.L = &e.mu
	e.callTime = time.Second // assume slow handlers until measured
	e.pool.max = cfg.MaxBuffered + cfg.MaxProcCount
	e.flow.maxRecords, e.flow.maxBytes = cfg.MaxBuffered, cfg.MaxBufferedBytes
	e.retries.lo, e.retries.hi = cfg.BackoffMin, cfg.BackoffMax
	e.commits = commitTrigger{count: cfg.CommitCount, C: make(chan struct{}, 1)}
	e.handlerCtx, e.stopHandlers = context.WithCancel(context.Background())
	e.takeMax = e.pace.init(cfg.MaxRecordsPerSecond)
	e.conc.init(cfg.MaxProcCount, cfg.Adaptive, cfg.Ordering)
	if cfg.Adaptive {
		// One record per take: the limit moves with every settle, and no
		// worker holds records that a cut would leave waiting behind a
		// slow call. The lock round per record is small beside the
		// I/O-bound calls adaptive concurrency is for.
		e.takeMax = 1
	}
	e.updateWindow()
	return e
}

// SetMetadataBudget sets how many bytes of commit metadata the broker
// accepts (offset.metadata.max.bytes); 0 commits none. Each commit carries,
// per partition, the offsets above the commit point that are already done
// (internal/offsetmeta), so that the partition's next owner does not
// process them again; what does not fit is left out, lowest offsets first
// kept.
func (e *Engine[R]) SetMetadataBudget(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.metaBudget = max(n, 0)
}

func (e *Engine[R]) hashKey(k []byte) uint64 { return maphash.Bytes(e.seed, k) }

// now is the time since the engine was made, for the age of running calls.
func (e *Engine[R]) now() time.Duration { return time.Since(e.t0) }

// Run consumes src until ctx ends or a record fails for good, then shuts
// down: it stops fetching, lets running handlers finish for up to
// ShutdownTimeout (then cancels their context and waits up to
// ShutdownMargin more), commits what is done and closes src. It returns only
// after every goroutine it started has returned, except handlers that
// ignore their cancelled context (ErrHandlersLeaked).
//
// It returns nil after a shutdown asked for through ctx, ErrFatal (wrapped)
// for a record that failed for good, ErrDrainTimeout (wrapped) if handlers
// outlived ShutdownTimeout, joined with the final commit's error if that
// failed.
func (e *Engine[R]) Run(ctx context.Context, src Source[R]) error {
	fetchCtx, stopFetch := context.WithCancelCause(ctx)
	defer stopFetch(nil)
	e.mu.Lock()
	if e.phase != idle {
		e.mu.Unlock()
		return ErrRunTwice
	}
	if e.cfg.Share {
		a, ok := src.(Acker[R])
		if !ok {
			e.mu.Unlock()
			return ErrNotAcker
		}
		e.acker = a
	}
	e.phase, e.src, e.stopFetch = running, src, stopFetch
	if e.fatal != nil {
		stopFetch(e.fatal)
	}
	e.mu.Unlock()

	e.mu.Lock()
	e.startWorkers()
	e.mu.Unlock()
	commitCtx, stopCommits := context.WithCancel(context.Background())
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		e.commitLoop(commitCtx)
	}()
	if mc, ok := src.(MemberChecker); ok && e.cfg.FreezeAfter > 0 && !e.cfg.Share {
		freezeDone := make(chan struct{})
		go func() {
			defer close(freezeDone)
			e.watchFreeze(fetchCtx, mc)
		}()
		defer func() { stopFetch(nil); <-freezeDone }()
	}

	e.fetchLoop(fetchCtx, src)

	err := e.drain()
	e.flushAcks()
	stopCommits()
	<-committerDone
	finalCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.CommitTimeout)
	if cerr := e.commitParts(finalCtx, nil); cerr != nil {
		err = errors.Join(err, cerr)
	}
	cancel()
	e.mu.Lock()
	e.phase = stopped
	e.mu.Unlock()
	// Leaving the group revokes what is left: the engine has nothing more
	// to commit and does not wait again for stuck handlers.
	src.Close()
	e.stopHandlers()
	if ferr := e.Err(); ferr != nil {
		return errors.Join(ferr, err)
	}
	return err
}

// Err returns the fatal error, if any.
func (e *Engine[R]) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fatal
}

// setFatal records the first fatal error and stops fetching. Called with mu
// held.
func (e *Engine[R]) setFatal(err error) {
	if e.fatal != nil {
		return
	}
	e.fatal = err
	if e.stopFetch != nil {
		e.stopFetch(err)
	}
}
