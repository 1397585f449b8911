package engine

import (
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// pacer slows dispatch down: a rate limit on records started
// (MaxRecordsPerSecond), and a hold on all dispatch that a handler asks for
// by returning an error RetryAfter recognises (an HTTP 429 or 503 with
// Retry-After). Neither costs anything per record when unused: the limiter
// is nil without a rate, and the hold is checked once per take.
type pacer struct {
	// lim is nil without a rate limit. Safe for concurrent use; workers
	// reserve a whole batch from it without mu.
	lim *rate.Limiter
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

// init sets the pacer up for a rate (0: none) and returns the most records
// a worker may take at once: a rate-limited batch is reserved in one go,
// so it may not exceed the limiter's burst.
func (p *pacer) init(perSecond float64) int {
	p.stop = make(chan struct{})
	if perSecond <= 0 {
		return maxTake
	}
	// A burst of 20 ms of records (at most maxTake): large enough that a
	// worker woken late catches up instead of losing the tokens, small
	// enough that the rate holds over any window of a fraction of a second.
	burst := min(maxTake, max(1, int(perSecond/50)))
	p.lim = rate.NewLimiter(rate.Limit(perSecond), burst)
	return burst
}

// wait blocks until n records may start, and reports false if the drain
// began first (the records are then not run).
func (p *pacer) wait(n int) bool {
	r := p.lim.ReserveN(time.Now(), n)
	d := r.Delay()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		r.Cancel()
		return false
	}
}

// held reports whether dispatch is on hold. Called with mu held.
func (e *Engine[R]) held() bool {
	return !e.pace.until.IsZero()
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
