package engine

import (
	"math"
	"runtime"

	"github.com/kafkaworker/kafkaworker/internal/limit"
)

// concurrency is how many workers may hold records at once: procs workers
// exist (MaxProcCount, or what SetMaxProcCount set since), and limit of
// them may work, procs itself unless the limit is adaptive. Each worker
// runs its records one at a time, so limit bounds handler calls. Guarded by
// the engine's mutex, except adapt, which is safe for concurrent use.
type concurrency struct {
	procs   int         // the maximum: MaxProcCount or SetMaxProcCount's
	started int         // workers started: the most procs has been while running
	limit   int         // workers that may hold records: procs, or adapt's limit
	busy    int         // workers holding records
	adapt   *limit.AIMD // nil unless Adaptive
	// quick bounds, while handlers are quick (see Engine.fast), the
	// workers that hold records outside a handler call: see mayTake.
	quick int
	peak  int // most workers holding records at once: for tests
}

// adaptiveStart is where an adaptive limit starts; slow start doubles it
// each round trip until latency rises.
const adaptiveStart = 8

// quickPerCPU is how many workers per CPU may hold records outside a
// handler call while handlers are quick. A few per CPU keep every CPU busy
// when one worker waits on the engine's lock; more only take turns. At 1,000
// workers and no-op handlers, letting every worker hold a batch cost 4×
// more per record in BenchmarkEngine than 8 workers did: each batch then
// ended with its worker parking and the next poll waking another, cold one.
const quickPerCPU = 4

func (c *concurrency) init(procs int, adaptive bool, o Ordering) {
	c.procs, c.limit = procs, procs
	c.quick = quickPerCPU * runtime.GOMAXPROCS(0)
	if o == ByPartition {
		// A worker there keeps its partition's chain, running record
		// after record without parking, so many workers cost nothing
		// more; a bound would only make the partitions take turns on a
		// few workers, and each turn moves a partition's state to
		// another CPU (measured: 12% more CPU per record at 0 ms).
		c.quick = math.MaxInt32
	}
	if adaptive {
		c.adapt = limit.New(min(procs, adaptiveStart), procs)
		c.limit = c.adapt.Limit()
	}
}

// mayTake reports whether a worker may take records now, with extra more
// workers holding records than do: see room.
func (e *Engine[R]) mayTake(extra int) bool { return e.room() > extra }

// room returns how many more workers may take records now: none while
// dispatch is held, none past the concurrency limit, and, while handlers
// are quick, none once conc.quick workers hold records outside a handler
// call. More would only wait for a CPU while holding records, and each
// would wake and park once per batch. Workers inside a call do not count,
// so quick handlers that wait (on I/O, on a lock) still get the whole
// limit. calls is read only when it can matter: its cache line moves
// between CPUs with every call. Called with mu held.
func (e *Engine[R]) room() int {
	if e.held() {
		return 0
	}
	n := e.conc.limit - e.conc.busy
	if n > e.conc.quick-e.conc.busy && e.fast() {
		n = min(n, e.conc.quick-(e.conc.busy-int(e.calls.Load())))
	}
	return n
}

// startWorkers starts workers up to procs. Called with mu held, by Run and
// by SetMaxProcCount while running; the workers are waited for by the
// drain.
func (e *Engine[R]) startWorkers() {
	if n := e.conc.procs - e.conc.started; n > 0 {
		e.workers.Add(n)
		for range n {
			go e.work()
		}
		e.conc.started = e.conc.procs
	}
}

// setLimit changes how many workers may hold records, waking waiting
// workers when it rose. Called with mu held.
func (e *Engine[R]) setLimit(n int) {
	n = max(1, min(n, e.conc.procs))
	if n > e.conc.limit && e.idle > 0 {
		e.cond.Broadcast()
	}
	e.conc.limit = n
}

// adaptLimit takes the adaptive limit's latest value. Called with mu held,
// once per settled batch.
func (e *Engine[R]) adaptLimit() { e.setLimit(e.conc.adapt.Limit()) }

// SetMaxProcCount changes MaxProcCount at run time: the most handler calls
// at once (the ceiling of the adaptive limit, when adaptive). Raising it
// while running starts workers; lowering it lets the extra workers finish
// their records and then wait, so it takes effect within a batch. n below
// 1 counts as 1. Safe for concurrent use, before, during or after Run.
func (e *Engine[R]) SetMaxProcCount(n int) {
	n = max(n, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conc.procs = n
	if e.conc.adapt != nil {
		e.conc.adapt.SetMax(n)
		e.setLimit(e.conc.adapt.Limit())
	} else {
		e.setLimit(n)
	}
	if e.phase == running {
		e.startWorkers()
	}
}

// ConcurrencyLimit returns how many handler calls may run at once now.
func (e *Engine[R]) ConcurrencyLimit() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conc.limit
}
