package engine

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// pacer slows dispatch down: a rate limit on records started
// (MaxRecordsPerSecond, changed at run time by SetMaxRecordsPerSecond), and
// a hold on all dispatch that a handler asks for by returning an error
// RetryAfter recognises (an HTTP 429 or 503 with Retry-After). Neither costs
// more than an atomic load per batch when unused: the limit in force has no
// limiter without a rate, and the hold is checked once per take.
type pacer struct {
	// limit is the rate limit in force, never nil after init. Workers
	// load it without mu, once per batch; set replaces it under mu.
	limit atomic.Pointer[rateLimit]
	// stop is closed by the drain, ending waits for the limiter. Closed
	// by stopAll, once.
	stop chan struct{}

	// holding mirrors until != 0 for workers running a batch without mu:
	// they stop at the next record when a hold begins.
	holding atomic.Bool

	// Guarded by the engine's mutex.
	until   time.Time   // no dispatch before; zero: no hold
	timer   *time.Timer // ends the hold
	stopped bool
}

// rateLimit is one setting of the rate limit. A change makes a new one
// rather than adjusting the limiter: rate.Limiter.SetLimit leaves
// reservations already made at the old rate, so a worker that reserved 32
// records at 1/s would wait 32 s after the limit was raised to 10,000/s.
// Instead changed wakes the workers waiting on the old one, which cancel
// and reserve again from the new one.
type rateLimit struct {
	lim       *rate.Limiter // nil: no limit. Safe for concurrent use.
	perSecond float64       // 0: no limit
	changed   chan struct{} // closed when the next setting replaces this one
}

// init sets the pacer up for a rate (0: none) and returns the most records
// a worker may take at once.
func (p *pacer) init(perSecond float64) int {
	p.stop = make(chan struct{})
	return p.set(perSecond)
}

// set puts a rate in force (0, negative, NaN or +Inf: none) and returns
// the most records a worker may take at once: a rate-limited batch is
// reserved in one go, so it should not exceed the limiter's burst (a batch
// taken before a change is reserved in bursts, see wait). The new limiter
// starts with a full bucket: a change lets one burst start at once. Called
// with mu held, or from New.
func (p *pacer) set(perSecond float64) int {
	next := &rateLimit{changed: make(chan struct{})}
	take := maxTake
	if perSecond > 0 && !math.IsInf(perSecond, 1) { // NaN fails the first test
		// A burst of 20 ms of records (at most maxTake): large enough
		// that a worker woken late catches up instead of losing the
		// tokens, small enough that the rate holds over any window of a
		// fraction of a second.
		take = min(maxTake, max(1, int(perSecond/50)))
		next.lim = rate.NewLimiter(rate.Limit(perSecond), take)
		next.perSecond = perSecond
	}
	if prev := p.limit.Swap(next); prev != nil {
		close(prev.changed)
	}
	return take
}

// perSecond returns the rate limit in force; 0: none.
func (p *pacer) perSecond() float64 { return p.limit.Load().perSecond }

// wait blocks until records may start under the rate limit in force and
// returns how many of the n a worker took may: all of them, or the first
// burst when a limit lowered since the take made n larger than its burst
// (ReserveN would refuse n outright, and reserving n in bursts would hold
// the first records back until the last one's token). ok is false if the
// drain began first; the records are then not run. When the limit changes
// meanwhile, the records wait for the new one only.
func (p *pacer) wait(n int) (k int, ok bool) {
	for {
		l := p.limit.Load()
		if l.lim == nil {
			return n, true
		}
		k = min(n, l.lim.Burst())
		r := l.lim.ReserveN(time.Now(), k)
		d := r.Delay()
		if d <= 0 {
			return k, true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return k, true
		case <-l.changed:
			t.Stop()
			r.Cancel() // and reserve from the new limit
		case <-p.stop:
			t.Stop()
			r.Cancel()
			return 0, false
		}
	}
}

// SetMaxRecordsPerSecond changes the rate limit on records started, at
// run time: perSecond 0 (or less, NaN, +Inf) lifts it; a limit may be put
// in force where none was configured. Workers waiting for the old limit
// wait for the new one instead, so a change takes effect at once, and the
// new limiter starts with a full burst (20 ms of records). Safe for
// concurrent use, before, during or after Run.
func (e *Engine[R]) SetMaxRecordsPerSecond(perSecond float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.takeMax = e.pace.set(perSecond)
	if e.cfg.Adaptive {
		e.takeMax = 1 // see New
	}
}

// MaxRecordsPerSecond returns the rate limit in force; 0: none.
func (e *Engine[R]) MaxRecordsPerSecond() float64 { return e.pace.perSecond() }

// held reports whether dispatch is on hold: a RetryAfter hold, a check of
// the group after a freeze (freeze.go), or a stuck commit (stall.go).
// Called with mu held.
func (e *Engine[R]) held() bool {
	return !e.pace.until.IsZero() || e.frozen || e.stall.stalled
}

// hold stops all dispatch for d (extending a hold that ends sooner): the
// downstream said it is overloaded and when to come back. Running calls go
// on; workers take nothing new until the hold ends. Called with mu held.
func (e *Engine[R]) hold(d time.Duration) {
	until := time.Now().Add(d)
	if e.pace.stopped || !until.After(e.pace.until) {
		return
	}
	if e.pace.until.IsZero() {
		e.counters.Holds++ // a new hold, not an extension
	}
	e.pace.until = until
	e.pace.holding.Store(true)
	if e.pace.timer == nil {
		e.pace.timer = time.AfterFunc(d, e.endHold)
	} else {
		e.pace.timer.Reset(d)
	}
}

// endHold ends the hold when its time has come, and wakes the workers.
func (e *Engine[R]) endHold() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pace.until.IsZero() {
		return
	}
	if left := time.Until(e.pace.until); left > 0 {
		// Extended since the timer was set.
		e.pace.timer.Reset(left)
		return
	}
	e.pace.until = time.Time{}
	e.pace.holding.Store(false)
	e.cond.Broadcast()
}

// stopPacing ends waits for the limiter and any hold, for the drain.
// Called with mu held.
func (e *Engine[R]) stopPacing() {
	if e.pace.stopped {
		return
	}
	e.pace.stopped = true
	close(e.pace.stop)
	if e.pace.timer != nil {
		e.pace.timer.Stop()
	}
	e.pace.until = time.Time{}
	e.pace.holding.Store(false)
}

// scheduleAfter puts it in backoff for exactly d, for a retry the
// downstream timed (RetryAfter); it does not use up a retry.
func (r *retries[R]) scheduleAfter(it *item[R], d time.Duration, fire func(*item[R])) {
	it.attempt++
	it.throttled++
	r.waiting.pushBack(it)
	it.timer = time.AfterFunc(d, func() { fire(it) })
}
