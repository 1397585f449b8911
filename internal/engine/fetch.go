package engine

import (
	"context"
	"errors"
)

// fetchLoop polls records into the engine until ctx ends or the source
// closes. It never blocks between a Poll and AllowRebalance, so group
// membership is never held up by a slow handler: backpressure is applied by
// polling no more than there is room for, and by pausing partitions whose
// window is full.
func (e *Engine[R]) fetchLoop(ctx context.Context, src Source[R]) {
	var b Batch[R]
	for {
		n, err := e.waitRoom(ctx)
		if err != nil {
			return
		}
		b.reset()
		err = src.Poll(ctx, n, &b)
		if e.acker != nil {
			renews := e.acker.Renews()
			e.mu.Lock()
			e.renews = renews
			e.mu.Unlock()
		}
		if len(b.Records) > 0 || len(b.Marks) > 0 {
			e.intake(&b)
		}
		e.flushAcks()
		e.applyPauses()
		src.AllowRebalance()
		if errors.Is(err, ErrSourceClosed) || ctx.Err() != nil {
			return
		}
	}
}

// waitRoom blocks until there is room for more records, then returns how
// many the next poll may bring. Once a bound is reached it waits until the
// buffer falls to 7/8 of it, so that polls come in useful sizes.
//
// There is no smaller cap: a poll that takes all the client has buffered for
// a partition leaves nothing to drop if that partition is then paused,
// whereas taking part of it and pausing drops the rest, which is then
// fetched and decoded again.
func (e *Engine[R]) waitRoom(ctx context.Context) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.flow.full() && e.phase == running {
		ch := e.flow.waiter()
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		e.mu.Lock()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	room := e.flow.room()
	if e.cfg.Ordering == ByPartition && !e.fast() {
		// In partition order a partition's records run one at a time: a
		// poll that took a whole fetch of one partition would fill the
		// buffer with records that must wait their turn, and the other
		// partitions would get nothing (concurrency falls to the few
		// partitions that were polled). Half a window per poll keeps
		// every partition at its fair share; the pause that follows
		// drops what the client prefetched beyond it, a cost that
		// matters only when handlers are quick, when records do not
		// wait long anyway and the cap is off.
		room = min(room, int(max(e.window/2, 1)))
	}
	return room, nil
}

// intake takes a polled batch into the windows, the chains and the ready
// queue, and wakes workers for what became runnable.
func (e *Engine[R]) intake(b *Batch[R]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counters.Polls++
	pushed := 0
	var p *partition[R]
	for i := range b.Records {
		f := &b.Records[i]
		if p == nil || p.tp != f.TP {
			if p != nil {
				e.updatePause(p, true)
			}
			p = e.parts[f.TP]
			if p == nil && e.cfg.Share {
				p = e.sharePartition(f.TP)
			}
		}
		if p == nil || p.state != active || e.phase != running {
			e.counters.Dropped++
			if e.cfg.Share {
				// Acquired and given straight back: Acquired
				// stays Accepted + Released + held.
				e.counters.Acquired++
				e.counters.Released++
				e.acks = append(e.acks, ackReq[R]{rec: f.Rec, ack: Release})
			}
			continue
		}
		if e.cfg.Share {
			// Offsets come in any order and again: no window.
			p.bytes += int64(f.Size)
			e.acquired(p, f.Attempt)
		} else if p.skipRestored(f.Offset) {
			// Done by the partition's previous owner (commit metadata).
			e.counters.Restored++
			continue
		} else if err := p.add(f.Offset, int64(f.Size)); err != nil {
			// A fetch that went back (it should not happen): the window
			// already tracks this offset, so processing it would be a
			// duplicate.
			e.counters.Dropped++
			e.log.Warn("dropping a record fetched out of order", "topic", f.TP.Topic,
				"partition", f.TP.Partition, "offset", f.Offset, "err", err)
			continue
		}
		it := e.pool.item()
		it.rec, it.p, it.off, it.size, it.attempt = f.Rec, p, f.Offset, int64(f.Size), max(f.Attempt, 1)
		e.flow.add(it.size)
		if ch := p.chainFor(e.cfg.Ordering, f.Key, e.hashKey, &e.pool); ch != nil {
			it.ch = ch
			if ch.busy {
				ch.waiting.pushBack(it)
				continue
			}
			ch.busy = true
		}
		e.ready.push(it)
		pushed++
	}
	if p != nil {
		e.updatePause(p, true)
	}
	for _, w := range b.Marks {
		if p := e.parts[w.TP]; p != nil {
			p.hwm = w.High
		}
	}
	e.wakeWorkers(pushed)
}

// wakeWorkers wakes idle workers for n newly runnable records. Called with
// mu held.
func (e *Engine[R]) wakeWorkers(n int) {
	if e.fast() {
		// Each takes a full batch: wake as many as the queue fills.
		n = (e.ready.len() + maxTake - 1) / maxTake
	}
	e.wake(n)
}

// wake wakes up to n idle workers, no more than may take records (see
// mayTake), counting those woken and not yet up. Called with mu held.
func (e *Engine[R]) wake(n int) {
	asleep := e.idle - e.waking
	n = min(n, e.room()-e.waking, asleep)
	if n <= 0 {
		return
	}
	e.waking += n
	if n == asleep {
		e.cond.Broadcast()
		return
	}
	for range n {
		e.cond.Signal()
	}
}

// applyPauses tells the source about partitions whose pause state changed.
// pauseMu keeps the calls in the order of the decisions: whoever applies
// last applies the newest state, so the source never ends up paused when
// the engine wants it resumed.
func (e *Engine[R]) applyPauses() {
	e.pauseMu.Lock()
	defer e.pauseMu.Unlock()
	e.mu.Lock()
	if len(e.pauseDirty) == 0 && len(e.unpause) == 0 {
		e.mu.Unlock()
		return
	}
	var pause []TP
	resume := e.unpause
	e.unpause = nil
	for _, p := range e.pauseDirty {
		p.dirty = false
		want := e.pauseWanted(p)
		if p.state == dropped || want == p.paused {
			continue
		}
		p.paused = want
		if want {
			pause = append(pause, p.tp)
			if p.want {
				e.counters.Pauses++
			}
		} else {
			resume = append(resume, p.tp)
		}
	}
	clear(e.pauseDirty)
	e.pauseDirty = e.pauseDirty[:0]
	src := e.src
	e.mu.Unlock()
	if src == nil {
		return
	}
	if len(resume) > 0 {
		src.Resume(resume)
	}
	if len(pause) > 0 {
		src.Pause(pause)
	}
}

// updateWindow sets each partition's window: PartitionWindow, or, in
// partition order, the partition's fair share of MaxBuffered when that is
// smaller. There, a partition's records run one at a time, so without the
// share a few partitions would fill the whole buffer with records that
// cannot run yet while the others get nothing. Unordered records can all
// run, and keyed ones mostly can (keys are many), so a full buffer there
// means busy workers, not starved partitions. Called with mu held.
func (e *Engine[R]) updateWindow() {
	e.window = e.cfg.PartitionWindow
	if e.cfg.Ordering == ByPartition {
		share := int64(e.cfg.MaxBuffered) / int64(max(len(e.parts), 1))
		e.window = min(e.window, share)
	}
	e.window = max(e.window, 1)
}
