package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// PanicError is a handler panic turned into an error.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// outcome is what a finished attempt leads to.
type outcome uint8

const (
	succeeded    outcome = iota // done
	retry                       // run again after a backoff
	skipped                     // failed for good; done by the Skip policy
	deadLettered                // failed for good; stored, done
	fatal                       // failed for good; the engine stops
	abandoned                   // its context ended: leave it pending
)

// work is a worker's loop: take a runnable record, run it, settle it.
func (e *Engine[R]) work() {
	defer e.workers.Done()
	e.mu.Lock()
	for {
		it := e.take()
		if it == nil {
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		out, err := e.run(it)
		e.mu.Lock()
		e.settle(it, out, err)
	}
}

// take waits for a runnable record and marks it running, or returns nil when
// the engine drains. Called with mu held.
func (e *Engine[R]) take() *item[R] {
	for {
		for e.ready.len() == 0 && !e.draining {
			e.cond.Wait()
		}
		if e.draining {
			return nil
		}
		it := e.ready.pop()
		p := it.p
		if p.state != active {
			// Revoked or dropped while queued: not ours to run.
			if p.state == dropped {
				e.freeItem(it)
			}
			continue
		}
		it.started = time.Now()
		p.running.pushBack(it)
		e.inflight++
		e.counters.PeakInFlight = max(e.counters.PeakInFlight, e.inflight)
		return it
	}
}

// run calls the handler and, when the record has failed for good, applies
// the failure policy. It runs without mu.
func (e *Engine[R]) run(it *item[R]) (outcome, error) {
	ctx := it.p.ctx
	err := e.call(ctx, it)
	switch {
	case err == nil:
		return succeeded, nil
	case ctx.Err() != nil:
		return abandoned, err
	case it.attempt <= e.cfg.MaxRetries && (e.cfg.Permanent == nil || !e.cfg.Permanent(err)):
		return retry, err
	}
	switch e.cfg.Policy {
	case Skip:
		e.log.Error("record failed; skipping it", "topic", it.p.tp.Topic, "partition", it.p.tp.Partition,
			"offset", it.off, "attempts", it.attempt, "err", err)
		return skipped, err
	case DeadLetter:
		if derr := e.dead(ctx, it.rec, it.attempt, err); derr != nil {
			if ctx.Err() != nil {
				return abandoned, derr
			}
			return fatal, fmt.Errorf("%w: dead-lettering %s[%d]@%d: %w (the record failed with: %w)",
				ErrFatal, it.p.tp.Topic, it.p.tp.Partition, it.off, derr, err)
		}
		e.log.Warn("record failed; sent to the dead-letter topic", "topic", it.p.tp.Topic,
			"partition", it.p.tp.Partition, "offset", it.off, "attempts", it.attempt, "err", err)
		return deadLettered, err
	}
	return fatal, fmt.Errorf("%w: record %s[%d]@%d failed after %d attempts: %w",
		ErrFatal, it.p.tp.Topic, it.p.tp.Partition, it.off, it.attempt, err)
}

// call runs the handler, turning a panic into a *PanicError.
func (e *Engine[R]) call(ctx context.Context, it *item[R]) (err error) {
	defer func() {
		if v := recover(); v != nil {
			pe := &PanicError{Value: v, Stack: debug.Stack()}
			e.log.Error("handler panicked", "topic", it.p.tp.Topic, "partition", it.p.tp.Partition,
				"offset", it.off, "panic", v, "stack", string(pe.Stack))
			err = pe
		}
	}()
	return e.handle(ctx, it.rec, it.attempt)
}

// settle records the outcome of a finished attempt. Called with mu held.
func (e *Engine[R]) settle(it *item[R], out outcome, err error) {
	p := it.p
	p.running.remove(it)
	e.inflight--
	if p.drained != nil && p.running.n == 0 {
		close(p.drained)
		p.drained = nil
	}
	if e.draining && e.inflight == 0 {
		e.closeDrained()
	}
	switch out {
	case succeeded:
		e.counters.Processed++
	case skipped:
		e.counters.Failed++
		e.counters.Skipped++
	case deadLettered:
		e.counters.Failed++
		e.counters.DeadLettered++
	case retry:
		e.counters.Retried++
		if p.state == active && !e.draining {
			e.scheduleRetry(it)
			return
		}
		out = abandoned
	case fatal:
		e.counters.Failed++
		e.setFatal(err)
		out = abandoned
	}
	if p.state == dropped || out == abandoned {
		// Left pending: never committed, so processed again later.
		if p.state == dropped {
			e.freeItem(it)
		}
		return
	}
	e.done(it)
}

// done marks a record finished for good. Called with mu held.
func (e *Engine[R]) done(it *item[R]) {
	p := it.p
	if _, err := p.win.Done(it.off); err != nil {
		// Cannot happen while the item is live; losing track would
		// risk a skipped offset, so say so loudly.
		e.log.Error("engine bug: finished record not pending", "topic", p.tp.Topic,
			"partition", p.tp.Partition, "offset", it.off, "err", err)
	}
	e.buffered--
	e.release(it)
	e.freeItem(it)
	e.sinceCommit++
	if e.sinceCommit == e.cfg.CommitCount {
		select {
		case e.commitNow <- struct{}{}:
		default:
		}
	}
	e.signalRoom()
	if p.paused && p.win.Span() <= e.resumeSpan() {
		e.wake()
	}
}

// scheduleRetry puts it in backoff. Its chain stays busy, so records ordered
// behind it wait; others go on. Called with mu held.
func (e *Engine[R]) scheduleRetry(it *item[R]) {
	d := e.backoffFor(it.attempt)
	it.attempt++
	e.backoff.pushBack(it)
	it.timer = time.AfterFunc(d, func() { e.requeue(it) })
}

// backoffFor is exponential from BackoffMin to BackoffMax with "equal
// jitter": half fixed, half random, so retries neither synchronise nor come
// back at once.
func (e *Engine[R]) backoffFor(attempt int) time.Duration {
	d := e.cfg.BackoffMin
	for i := 1; i < attempt && d < e.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, e.cfg.BackoffMax)
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
		return // Shutdown got here first
	}
	it.timer = nil
	e.backoff.remove(it)
	switch {
	case it.p.state == dropped:
		e.freeItem(it)
	case it.p.state != active || e.draining:
		// Leave it pending; it is processed again later.
	default:
		e.ready.push(it)
		e.cond.Signal()
	}
}

// closeDrained reports that nothing runs any more. Called with mu held.
func (e *Engine[R]) closeDrained() {
	select {
	case <-e.drained:
	default:
		close(e.drained)
	}
}
