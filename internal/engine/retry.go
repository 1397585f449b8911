package engine

import (
	"math/rand/v2"
	"time"
)

// scheduleRetry puts it in backoff. Its chain stays busy, so records ordered
// behind it wait; others go on. Called with mu held.
func (e *Engine[R]) scheduleRetry(it *item[R]) {
	d := jittered(backoff(e.cfg.BackoffMin, e.cfg.BackoffMax, it.attempt))
	it.attempt++
	e.backoff.pushBack(it)
	it.timer = time.AfterFunc(d, func() { e.requeue(it) })
}

// backoff doubles from lo for each attempt after the first, up to hi.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// jittered is "equal jitter": half fixed, half random, so retries neither
// synchronise nor come back at once.
func jittered(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// requeue makes a record runnable again after its backoff.
func (e *Engine[R]) requeue(it *item[R]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if it.timer == nil {
		return // the drain got here first
	}
	it.timer = nil
	e.backoff.remove(it)
	switch {
	case it.p.state == dropped:
		e.pool.freeItem(it)
	case it.p.state != active || e.phase != running:
		// Leave it pending; it is processed again later.
	default:
		e.ready.push(it)
		e.wakeWorkers(1)
	}
}

// stopRetries stops every backoff timer; the records stay pending. Called
// with mu held.
func (e *Engine[R]) stopRetries() {
	for it := e.backoff.head; it != nil; it = it.next {
		it.timer.Stop()
		it.timer = nil
	}
	for it := e.backoff.popFront(); it != nil; it = e.backoff.popFront() {
		e.abandon(it)
	}
}
