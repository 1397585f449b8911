package engine

import "github.com/kafkaworker/kafkaworker/internal/limit"

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
}

// adaptiveStart is where an adaptive limit starts; slow start doubles it
// each round trip until latency rises.
const adaptiveStart = 8

func (c *concurrency) init(procs int, adaptive bool) {
	c.procs, c.limit = procs, procs
	if adaptive {
		c.adapt = limit.New(min(procs, adaptiveStart), procs)
		c.limit = c.adapt.Limit()
	}
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
