package engine

import (
	"math/rand/v2"
	"time"
)

// retries holds the records waiting out a backoff, each with its timer.
// Guarded by the engine's mutex.
type retries[R any] struct {
	lo, hi  time.Duration
	waiting list[R]
}

// schedule puts it in backoff for its attempt and calls fire after it.
func (r *retries[R]) schedule(it *item[R], fire func(*item[R])) {
	d := jittered(backoff(r.lo, r.hi, it.attempt))
	it.attempt++
	r.waiting.pushBack(it)
	it.timer = time.AfterFunc(d, func() { fire(it) })
}

// due takes it out of backoff; false if stopAll got there first.
func (r *retries[R]) due(it *item[R]) bool {
	if it.timer == nil {
		return false
	}
	it.timer = nil
	r.waiting.remove(it)
	return true
}

// stopAll stops every timer and returns the records, which stay pending.
func (r *retries[R]) stopAll(each func(*item[R])) {
	for it := r.waiting.popFront(); it != nil; it = r.waiting.popFront() {
		it.timer.Stop()
		it.timer = nil
		each(it)
	}
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

// requeue makes a record runnable again after its backoff. Its chain stayed
// busy meanwhile, so records ordered behind it waited; others went on.
func (e *Engine[R]) requeue(it *item[R]) {
	e.mu.Lock()
	if !e.retries.due(it) {
		e.mu.Unlock()
		return // the drain got here first
	}
	switch {
	case it.p.state == dropped:
		e.pool.freeItem(it)
	case it.p.state != active || e.phase != running:
		// Leave it pending; it is processed again later (released, in
		// share mode).
		e.abandon(it)
	default:
		e.ready.push(it)
		e.wakeWorkers(1)
	}
	e.mu.Unlock()
	e.flushAcks()
}
