// Package engine runs a handler on many records of many partitions at once
// and decides which offsets may be committed. It knows nothing of Kafka's
// client: the caller feeds it fetched records (Add), tells it about the
// group's assignment (Assign, Revoke, Lose), applies the pause and resume
// decisions it makes (FetchPlan), and gives it a Committer.
//
// Goroutines: MaxProcCount workers and one committer, all started by Start
// and owned by the Engine; retry timers run requeue briefly. All state is
// guarded by one mutex, mu, which is never held while calling out: not
// around the handler, the dead-letter function, the Committer, or the
// callbacks. commitMu serialises commits and is always taken before mu.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Handler processes one record. attempt is 1 on first delivery.
type Handler[R any] func(ctx context.Context, r R, attempt int) error

// DeadLetterFunc stores a record whose retries are used up, returning only
// once it is durably stored.
type DeadLetterFunc[R any] func(ctx context.Context, r R, attempt int, cause error) error

// Fetched is one record handed to Add.
type Fetched[R any] struct {
	TP     TP
	Offset int64
	Key    []byte // nil: no key
	Rec    R
}

// Engine is safe for concurrent use.
type Engine[R any] struct {
	cfg       Config
	handle    Handler[R]
	dead      DeadLetterFunc[R]
	committer Committer
	log       *slog.Logger
	onFatal   func(error)

	handlerCtx    context.Context // parent of every partition's context
	stopHandlers  context.CancelFunc
	workers       sync.WaitGroup
	committerDone chan struct{} // closed by commitLoop when it returns
	stopCommit    chan struct{} // closed by Shutdown
	commitNow     chan struct{} // cap 1: the count threshold was reached
	commitMu      sync.Mutex

	mu          sync.Mutex
	cond        sync.Cond // on mu: workers wait for runnable items
	parts       map[TP]*partition[R]
	ready       queue[R]
	backoff     list[R] // items waiting out a retry delay
	free        []*item[R]
	freeChains  []*chain[R]
	epoch       uint64
	buffered    int // items added and not finished: sum of windows' Pending
	inflight    int // handler calls running
	draining    bool
	drained     chan struct{} // closed when draining and nothing runs
	roomWait    chan struct{} // closed when buffered falls to resumeAt
	waker       context.CancelFunc
	wakePending bool // a wake found no waker: see SetWaker
	unpause     []TP // dropped partitions left paused in the client
	sinceCommit int
	window      int64 // span at which a partition is paused: see updateWindow
	fatal       error
	counters    Counters
}

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
	PeakInFlight   int
}

// ErrFatal wraps the error that stopped the engine under the Stop policy or
// when a dead letter could not be stored.
var ErrFatal = errors.New("engine stopped")

// New returns an engine; Start runs it. dead may be nil unless cfg.Policy is
// DeadLetter. onFatal, if not nil, is called once, with mu held, when the
// engine meets a fatal error; it must not block or call back into the engine.
func New[R any](cfg Config, h Handler[R], c Committer, dead DeadLetterFunc[R], onFatal func(error)) *Engine[R] {
	e := &Engine[R]{
		cfg:           cfg,
		handle:        h,
		dead:          dead,
		committer:     c,
		log:           cfg.Logger,
		onFatal:       onFatal,
		committerDone: make(chan struct{}),
		stopCommit:    make(chan struct{}),
		commitNow:     make(chan struct{}, 1),
		parts:         make(map[TP]*partition[R]),
		drained:       make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.cond.L = &e.mu
	e.handlerCtx, e.stopHandlers = context.WithCancel(context.Background())
	e.updateWindow()
	return e
}

// Start launches the workers and the committer. The engine accepts
// assignments and records before Start; it runs nothing until then.
// Handlers' contexts are cancelled by Shutdown's deadline or when their
// partition is lost or revoked past RevokeTimeout, never because the
// consumer was merely asked to stop: in-flight work is let finish.
func (e *Engine[R]) Start() {
	e.workers.Add(e.cfg.MaxProcCount)
	for range e.cfg.MaxProcCount {
		go e.work()
	}
	go e.commitLoop()
}

// Err returns the fatal error, if any.
func (e *Engine[R]) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fatal
}

// setFatal records the first fatal error. Called with mu held.
func (e *Engine[R]) setFatal(err error) {
	if e.fatal != nil {
		return
	}
	e.fatal = err
	if e.onFatal != nil {
		e.onFatal(err)
	}
}
