package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// PanicError is a handler panic turned into an error.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the panicking goroutine's stack
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
	blocking                    // failed for good under Block: retried without end
	throttled                   // the downstream asked for a pause: hold dispatch, retry after it
	notRun                      // taken but not run because of a hold: queue it again
	abandoned                   // its context ended, or it was not run: leave it pending
)

// maxTake bounds the records a worker takes at once. Taking a few at once
// costs one lock round per batch instead of per record; taking only a fair
// share of the queue (see take) keeps workers from holding records that an
// idle worker could run.
const maxTake = 32

// work is a worker's loop: take runnable records, run them one after the
// other, settle each as it finishes (the last together with the next take).
func (e *Engine[R]) work() {
	defer e.workers.Done()
	var mine, next []*item[R]
	var last []*item[R]    // the batch's last record, settled with the next take
	var call time.Duration // how long the batch's first call took; 0: none ran
	e.mu.Lock()
	for {
		if call > 0 {
			e.noteCallTime(call)
			call = 0
		}
		var resume bool
		next, resume = e.settleAll(last, next)
		if len(e.acks) > 0 {
			// Told before this worker may wait in take: a member
			// polls again only once its whole batch is acknowledged.
			e.mu.Unlock()
			e.flushAcks()
			e.mu.Lock()
		}
		if len(last) > 0 {
			// Its batch settled, this worker holds nothing: a slot
			// under the concurrency limit is free.
			e.conc.busy--
		}
		if resume {
			// A partition this worker emptied can be fetched again; the
			// fetch loop may be waiting in a poll only it could answer.
			e.mu.Unlock()
			e.applyPauses()
			e.mu.Lock()
		}
		mine = e.take(next, mine[:0])
		next = next[:0]
		if len(mine) == 0 {
			e.mu.Unlock()
			e.flushAcks() // take released what it held
			return
		}
		e.mu.Unlock()
		allowed, ok := e.pace.wait(len(mine))
		if !ok {
			// The drain began: leave them pending.
			for _, it := range mine {
				it.out, it.err = abandoned, nil
			}
			last = mine
			e.mu.Lock()
			continue
		}
		last = mine[len(mine)-1:]
		for i, it := range mine {
			if i == allowed || e.pace.holding.Load() || (e.conc.adapt != nil && int(e.calls.Load()) >= e.conc.adapt.Limit()) {
				// The rate limit was lowered below the batch, a hold
				// began, or the adaptive limit fell below the calls
				// running: the rest of the batch goes back to the
				// queue, to run after it.
				for _, rest := range mine[i:] {
					rest.out, rest.err = notRun, nil
				}
				last = mine[i:]
				break
			}
			n := e.calls.Add(1)
			if n > e.peak.Load() {
				e.notePeak(n)
			}
			var t0 time.Time
			if e.conc.adapt != nil {
				t0 = time.Now()
			}
			it.out, it.err = e.run(it)
			if i == 0 {
				// One call per batch is timed, from the take that
				// started it: one clock read more per batch, not per
				// record. The first call only, not the time the
				// worker held the batch, which also counts its waits
				// for a CPU and for the lock between calls and would
				// make quick handlers look slow under load.
				call = max(e.now()-it.started, 1)
			}
			e.calls.Add(-1)
			if e.conc.adapt != nil {
				e.conc.adapt.Sample(time.Since(t0), int(n), it.err != nil && e.cfg.Overloaded != nil && e.cfg.Overloaded(it.err))
			}
			if i == len(mine)-1 {
				break
			}
			// Settle it now, not with the batch: the next call may run
			// long, and this record's completion (its commit, its
			// chain's next record) must not wait for it.
			e.mu.Lock()
			next, resume = e.settleAll(mine[i:i+1], next)
			acks := len(e.acks) > 0
			e.mu.Unlock()
			if acks {
				e.flushAcks()
			}
			if resume {
				e.applyPauses()
			}
		}
		e.mu.Lock()
	}
}

// take returns records to run: first cont (records released to this worker
// by the chains it ran), then up to a fair share of the ready queue. It
// waits while there is nothing, and returns none once the engine drains.
// Called with mu held.
func (e *Engine[R]) take(cont, dst []*item[R]) []*item[R] {
	for {
		if e.phase >= draining {
			// Released records stay pending: they are processed again
			// by whoever consumes the partition next.
			for _, it := range cont {
				e.abandon(it)
			}
			return dst
		}
		for _, it := range cont {
			if it.p.state != active {
				e.abandon(it)
				continue
			}
			dst = append(dst, it)
		}
		cont = cont[:0]
		switch {
		case !e.mayTake(0):
			// Dispatch is on hold, the concurrency limit is reached,
			// or handlers are quick and enough workers hold records:
			// the records released to this worker wait in the queue
			// with the others.
			for _, it := range dst {
				e.ready.push(it)
			}
			dst = dst[:0]
		case len(dst) > 0 && e.ready.len() > 0 && !e.mayTake(1):
			// Records wait that no other worker may take: the ones
			// released to this worker go behind them, so that the
			// chains take turns on the workers there are instead of
			// each worker keeping its own.
			for _, it := range dst {
				e.ready.push(it)
			}
			dst = dst[:0]
		}
		if n := e.ready.len(); n > 0 && len(dst) == 0 && e.mayTake(0) {
			// A fair share of the queue, of one partition: a record
			// that runs long then delays only later records of its own
			// partition, which could not be committed before it anyway.
			// With quick handlers, a full batch: see fast.
			k := min(e.takeMax, max(1, n/e.conc.limit))
			if e.fast() {
				k = e.takeMax
			}
			var p *partition[R]
			for len(dst) < k {
				it := e.ready.peek()
				if it == nil || (p != nil && it.p != p) {
					break
				}
				e.ready.pop()
				if it.p.state != active {
					e.abandon(it)
					continue
				}
				p = it.p
				dst = append(dst, it)
			}
		}
		if len(dst) > 0 {
			now := e.now()
			for _, it := range dst {
				it.started = now
				it.p.running.pushBack(it)
			}
			e.inflight += len(dst)
			e.conc.busy++
			e.conc.peak = max(e.conc.peak, e.conc.busy)
			if e.ready.len() > 0 && e.waking == 0 {
				// Records are left for another worker. One wake at a
				// time: the woken worker wakes the next if records are
				// still left when it has taken its own, so wakes
				// never outnumber what there is to take.
				e.wake(1)
			}
			return dst
		}
		e.idle++
		e.cond.Wait()
		e.idle--
		e.waking = max(e.waking-1, 0) // 0 after a Broadcast that wakes all
	}
}

// fastCall is the mean handler time below which workers take full batches
// and fewer of them hold records (see mayTake): waking a goroutine costs
// about as much as a call this short, so with quick handlers the engine
// would otherwise spend more on hand-offs than on work. A worker holding 32
// such records delays the last by well under a millisecond.
const fastCall = 20 * time.Microsecond

// slowCall is what a call timed longer counts as in the mean. Only which
// side of fastCall the mean is on matters, so nothing is lost for slow
// handlers, while a quick call whose worker lost its CPU between the take
// and the call's end (a lock handed to a waiter does that) cannot make
// quick handlers look slow for long.
const slowCall = 4 * fastCall

// noteCallTime folds a call's time into the running mean (exponentially
// weighted, 1/8). Called with mu held.
func (e *Engine[R]) noteCallTime(d time.Duration) {
	e.callTime += (min(d, slowCall) - e.callTime) / 8
}

// fast reports whether handlers are quick: see fastCall. Called with mu
// held.
func (e *Engine[R]) fast() bool { return e.callTime < fastCall }

// notePeak raises the peak of concurrent handler calls to n.
func (e *Engine[R]) notePeak(n int64) {
	for {
		p := e.peak.Load()
		if n <= p || e.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// run calls the handler and, when the record has failed for good, applies
// the failure policy. It runs without mu. A record of a partition that is
// no longer active is not run.
func (e *Engine[R]) run(it *item[R]) (outcome, error) {
	ctx := it.p.ctx
	if ctx.Err() != nil {
		return abandoned, nil
	}
	if it.release != 0 {
		return e.released(ctx, it)
	}
	err := e.call(ctx, it)
	switch {
	case err == nil:
		return succeeded, nil
	case ctx.Err() != nil:
		return abandoned, err
	case e.cfg.RetryAfter != nil:
		if _, ok := e.cfg.RetryAfter(err); ok {
			return throttled, err
		}
	}
	switch {
	case it.attempt-it.throttled <= e.cfg.MaxRetries && (e.cfg.Permanent == nil || !e.cfg.Permanent(err)):
		return retry, err
	}
	tp := it.p.tp
	switch e.cfg.Policy {
	case Block:
		return blocking, err
	case Skip:
		e.log.Error("record failed; skipping it", "topic", tp.Topic, "partition", tp.Partition,
			"offset", it.off, "attempts", it.attempt, "err", err)
		return skipped, err
	case DeadLetter:
		if derr := e.src.DeadLetter(ctx, it.rec, it.attempt, err); derr != nil {
			if ctx.Err() != nil {
				return abandoned, derr
			}
			return fatal, fmt.Errorf("%w: dead-lettering %s[%d]@%d: %w (the record failed with: %w)",
				ErrFatal, tp.Topic, tp.Partition, it.off, derr, err)
		}
		e.log.Warn("record failed; sent to the dead-letter topic", "topic", tp.Topic,
			"partition", tp.Partition, "offset", it.off, "attempts", it.attempt, "err", err)
		return deadLettered, err
	}
	return fatal, fmt.Errorf("%w: record %s[%d]@%d failed after %d attempts: %w",
		ErrFatal, tp.Topic, tp.Partition, it.off, it.attempt, err)
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

// settleAll records the outcomes of a worker's finished records and returns
// the records their chains released to it, and whether a partition is to be
// resumed. Called with mu held.
func (e *Engine[R]) settleAll(done, cont []*item[R]) ([]*item[R], bool) {
	if len(done) == 0 {
		return cont, false
	}
	if e.conc.adapt != nil {
		e.adaptLimit()
	}
	e.inflight -= len(done)
	for i, it := range done {
		done[i] = nil
		p := it.p
		p.running.remove(it)
		if p.drained != nil && p.running.n == 0 {
			close(p.drained)
			p.drained = nil
		}
		if next := e.settle(it); next != nil {
			cont = append(cont, next)
		}
	}
	return cont, len(e.pauseDirty) > 0
}

// settle records the outcome of one finished attempt and returns the record
// its chain released, if any. Called with mu held.
func (e *Engine[R]) settle(it *item[R]) *item[R] {
	p := it.p
	out, err := it.out, it.err
	it.err = nil
	switch out {
	case succeeded:
		e.counters.Processed++
	case skipped:
		if !it.blocked { // a blocked record was counted when it blocked
			e.counters.Failed++
		}
		e.counters.Skipped++
	case deadLettered:
		if !it.blocked {
			e.counters.Failed++
		}
		e.counters.DeadLettered++
	case notRun:
		if p.state == active && e.phase == running {
			e.ready.push(it)
			return nil
		}
		out = abandoned
	case throttled:
		e.counters.Retried++
		if p.state == active && e.phase == running {
			d, _ := e.cfg.RetryAfter(err)
			e.hold(d)
			e.retries.scheduleAfter(it, d, e.requeue)
			return nil
		}
		out = abandoned
	case blocking:
		if p.state == active && e.phase == running {
			e.block(it, err)
			return nil
		}
		out = abandoned
	case retry:
		e.counters.Retried++
		if p.state == active && e.phase == running && (!e.cfg.Share || e.renews) {
			e.retries.schedule(it, e.requeue)
			return nil
		}
		out = abandoned
	case fatal:
		e.counters.Failed++
		e.setFatal(err)
		out = abandoned
	}
	if e.cfg.Share {
		// The failure policy has spoken (accept; reject when it let a
		// failed record go), or the record is not finished here
		// (release): either way the broker is told.
		a := Accept
		switch out {
		case abandoned:
			a = Release
		case skipped:
			a = Reject
		}
		e.settleShare(it, a)
		return nil
	}
	if p.state == dropped {
		e.pool.freeItem(it)
		return nil
	}
	if out == abandoned {
		// Left pending: never committed, so processed again later. Its
		// chain stays busy, so nothing ordered behind it runs either.
		return nil
	}
	return e.done(it)
}

// abandon leaves a taken or queued record pending, or frees it if its
// partition is gone. Called with mu held.
func (e *Engine[R]) abandon(it *item[R]) {
	if e.cfg.Share {
		e.settleShare(it, Release)
		return
	}
	if it.p.state == dropped {
		e.pool.freeItem(it)
	}
}

// done marks a record finished for good and returns the record its chain
// released, if any. Called with mu held.
func (e *Engine[R]) done(it *item[R]) *item[R] {
	p := it.p
	if err := p.finish(it.off, it.size); err != nil {
		// Cannot happen while the item is live; losing track would
		// risk a skipped offset, so say so loudly.
		e.log.Error("engine bug: finished record not pending", "topic", p.tp.Topic,
			"partition", p.tp.Partition, "offset", it.off, "err", err)
	}
	e.flow.remove(1, it.size)
	if it.blocked {
		e.unblock(it)
	}
	next := p.release(it, &e.pool)
	e.pool.freeItem(it)
	e.commits.done()
	if p.want {
		e.updatePause(p, false)
	}
	return next
}
