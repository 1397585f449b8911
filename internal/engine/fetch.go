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
		if len(b.Records) > 0 || len(b.Marks) > 0 {
			e.intake(&b)
		}
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
	return e.flow.room(), nil
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
		}
		if p == nil || p.state != active || e.phase != running {
			e.counters.Dropped++
			continue
		}
		if p.skipRestored(f.Offset) {
			// Done by the partition's previous owner (commit metadata).
			e.counters.Restored++
			continue
		}
		if err := p.add(f.Offset, int64(f.Size)); err != nil {
			// A fetch that went back (it should not happen): the window
			// already tracks this offset, so processing it would be a
			// duplicate.
			e.counters.Dropped++
			e.log.Warn("dropping a record fetched out of order", "topic", f.TP.Topic,
				"partition", f.TP.Partition, "offset", f.Offset, "err", err)
			continue
		}
		it := e.pool.item()
		it.rec, it.p, it.off, it.size, it.attempt = f.Rec, p, f.Offset, int64(f.Size), 1
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
	if n <= 0 || e.idle == 0 {
		return
	}
	if e.fast() {
		// Each takes a full batch: wake as many as the queue fills.
		n = (e.ready.len() + maxTake - 1) / maxTake
	}
	if n >= e.idle {
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
		if p.state == dropped || p.want == p.paused {
			continue
		}
		p.paused = p.want
		if p.want {
			pause = append(pause, p.tp)
			e.counters.Pauses++
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
