package engine

import (
	"context"
	"errors"
	"time"
)

// Assign starts tracking newly assigned partitions. It is called on every
// join of the group, with an empty list when nothing new was assigned.
func (e *Engine[R]) Assign(tps []TP) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counters.Joins++
	for _, tp := range tps {
		if _, ok := e.parts[tp]; ok {
			continue
		}
		e.epoch++
		ctx, cancel := context.WithCancel(e.handlerCtx)
		p := &partition[R]{tp: tp, epoch: e.epoch, ctx: ctx, cancel: cancel, committed: -1, hwm: -1}
		if e.cfg.Ordering == ByKey {
			p.keys = make(map[string]*chain[R])
		}
		e.parts[tp] = p
		e.counters.Assigned++
	}
	e.updateWindow()
}

// Add hands fetched records to the engine and returns how many it kept.
// Records of partitions not assigned, or no longer active, are dropped: they
// belong to an assignment that is over, and the next owner fetches them
// again from the committed offset. Add never blocks on the handler; the
// caller bounds what it adds with WaitRoom.
func (e *Engine[R]) Add(recs []Fetched[R]) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := 0
	var p *partition[R]
	for i := range recs {
		f := &recs[i]
		if p == nil || p.tp != f.TP {
			p = e.parts[f.TP]
		}
		if p == nil || p.state != active || e.draining {
			e.counters.Dropped++
			continue
		}
		if p.win.Next() < 0 {
			// The first record is where the group's committed offset (or
			// the reset policy) placed us: there is nothing to commit
			// until a record finishes.
			p.committed = f.Offset
		}
		if err := p.win.Add(f.Offset); err != nil {
			// A fetch that went back (it should not happen): the window
			// already tracks this offset, so processing it would be a
			// duplicate.
			e.counters.Dropped++
			e.log.Warn("dropping a record fetched out of order", "topic", f.TP.Topic,
				"partition", f.TP.Partition, "offset", f.Offset, "err", err)
			continue
		}
		it := e.newItem()
		it.rec, it.p, it.off, it.attempt = f.Rec, p, f.Offset, 1
		e.buffered++
		kept++
		if ch := e.chainFor(p, f.Key); ch != nil {
			it.ch = ch
			if ch.busy {
				ch.waiting.pushBack(it)
				continue
			}
			ch.busy = true
		}
		e.ready.push(it)
		e.cond.Signal()
	}
	return kept
}

// Watermark is a partition's high watermark as a fetch reported it.
type Watermark struct {
	TP
	High int64
}

// SetWatermarks records the log end offsets the last fetch saw, for lag.
func (e *Engine[R]) SetWatermarks(ws []Watermark) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range ws {
		if p := e.parts[w.TP]; p != nil {
			p.hwm = w.High
		}
	}
}

// chainFor returns the chain a record with key must run in, creating it, or
// nil when the record is not ordered behind anything. Called with mu held.
func (e *Engine[R]) chainFor(p *partition[R], key []byte) *chain[R] {
	switch e.cfg.Ordering {
	case ByPartition:
		if p.serial == nil {
			p.serial = e.newChain("")
		}
		return p.serial
	case ByKey:
		if key == nil {
			return nil
		}
		if ch, ok := p.keys[string(key)]; ok {
			return ch
		}
		ch := e.newChain(string(key))
		p.keys[ch.key] = ch
		return ch
	}
	return nil
}

// release lets the next record of it's chain run, or retires the chain.
// Called with mu held when an item finishes for good.
func (e *Engine[R]) release(it *item[R]) {
	ch := it.ch
	if ch == nil {
		return
	}
	it.ch = nil
	if next := ch.waiting.popFront(); next != nil {
		e.ready.push(next)
		e.cond.Signal()
		return
	}
	ch.busy = false
	p := it.p
	if e.cfg.Ordering == ByKey {
		delete(p.keys, ch.key)
		e.freeChain(ch)
	}
}

// WaitRoom blocks until there is room for more records, then returns how
// many. It returns early with ctx's error.
//
// To fetch in useful batches, once the bound is reached it waits until
// buffered records fall to 7/8 of it.
func (e *Engine[R]) WaitRoom(ctx context.Context) (int, error) {
	e.mu.Lock()
	for e.buffered >= e.cfg.MaxBuffered {
		ch := make(chan struct{})
		e.roomWait = ch
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			e.mu.Lock()
			e.roomWait = nil
			e.mu.Unlock()
			return 0, ctx.Err()
		}
		e.mu.Lock()
	}
	room := e.cfg.MaxBuffered - e.buffered
	e.mu.Unlock()
	return room, nil
}

// resumeAt is the buffered count at which a waiting fetch loop is woken.
func (e *Engine[R]) resumeAt() int { return e.cfg.MaxBuffered - max(1, e.cfg.MaxBuffered/8) }

// SetWaker registers the cancel function of the fetch loop's current poll,
// which the engine calls when a paused partition should be resumed; nil
// clears it. This lets a poll that waits on paused partitions return.
//
// A wake that comes while no poll is registered (between FetchPlan and
// SetWaker) is kept and delivered to the next waker at once: otherwise the
// poll would wait for data from other partitions, possibly forever, while
// the partition that should be resumed stays paused.
func (e *Engine[R]) SetWaker(cancel context.CancelFunc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waker = cancel
	if cancel != nil && e.wakePending {
		e.wake()
	}
}

// wake interrupts the fetch loop's poll, or leaves word for the next one.
// Called with mu held.
func (e *Engine[R]) wake() {
	if e.waker == nil {
		e.wakePending = true
		return
	}
	e.waker()
	e.waker = nil
	e.wakePending = false
}

// FetchPlan returns the partitions to pause and to resume so that each
// partition's window stays within its share (see window), and the most
// records the next poll may bring. The caller applies resume before pause.
// A partition is resumed once its span falls to half its window, so that it
// does not flap at the edge: every pause drops what the client had buffered
// for it, and every resume fetches that again.
func (e *Engine[R]) FetchPlan() (pause, resume []TP, pollMax int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	resume, e.unpause = e.unpause, nil
	// This plan acts on everything a pending wake was about.
	e.wakePending = false
	e.updateWindow()
	for _, p := range e.parts {
		if p.state != active {
			continue
		}
		span := p.win.Span()
		switch {
		case !p.paused && span >= e.window:
			p.paused = true
			pause = append(pause, p.tp)
		case p.paused && span <= e.resumeSpan():
			p.paused = false
			resume = append(resume, p.tp)
		}
	}
	// Half a window per poll: one poll alone never fills a partition's
	// window, which would pause it (dropping what the client buffered for
	// it) while it is merely busy rather than stuck.
	return pause, resume, int(max(e.window/2, 1))
}

// updateWindow sets each partition's window: PartitionWindow, or, in
// partition order, the partition's fair share of MaxBuffered when that is
// smaller. There, a partition's records run one at a time, so without the
// share a few partitions would fill the whole buffer with records that
// cannot run yet while the others get nothing. Unordered records can all
// run, and keyed ones mostly can (keys are many), so a full buffer there
// means busy workers, not starved partitions; a smaller window would only
// pause partitions more often, and every pause makes the client fetch again
// what it had buffered. Called with mu held.
func (e *Engine[R]) updateWindow() {
	e.window = e.cfg.PartitionWindow
	if e.cfg.Ordering == ByPartition {
		share := int64(e.cfg.MaxBuffered) / int64(max(len(e.parts), 1))
		e.window = min(e.window, share)
	}
	e.window = max(e.window, 1)
}

func (e *Engine[R]) resumeSpan() int64 { return e.window / 2 }

// Lose forgets partitions that the group took away without a revoke (session
// lost): their records are no longer ours, so nothing is committed, and
// handlers still running see their context cancelled.
func (e *Engine[R]) Lose(tps []TP) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tp := range tps {
		if p := e.parts[tp]; p != nil {
			e.drop(p)
			e.counters.Lost++
		}
	}
}

// Revoke gives partitions back to the group: it stops dispatching them, waits
// up to RevokeTimeout for their running records, commits what is done, and
// forgets them. Other partitions keep running throughout. Records still
// running at the deadline have their context cancelled and their completion
// ignored: the next owner processes them again (counted in RevokeTimeouts).
//
// Revoke blocks; it is meant for the client's revoke callback, which is the
// last moment a commit for these partitions is accepted.
func (e *Engine[R]) Revoke(ctx context.Context, tps []TP) error {
	e.mu.Lock()
	// After Shutdown has drained, whatever still runs is stuck: do not wait
	// for it a second time.
	draining := e.draining
	var revoked []*partition[R]
	var waits []chan struct{}
	for _, tp := range tps {
		p := e.parts[tp]
		if p == nil || p.state != active {
			continue
		}
		p.state = revoking
		revoked = append(revoked, p)
		if p.running.n > 0 && !draining {
			p.drained = make(chan struct{})
			waits = append(waits, p.drained)
		}
	}
	e.mu.Unlock()
	if len(revoked) == 0 {
		return nil
	}

	timer := time.NewTimer(e.cfg.RevokeTimeout)
	defer timer.Stop()
	timedOut := false
wait:
	for _, ch := range waits {
		select {
		case <-ch:
		case <-timer.C:
			timedOut = true
			break wait
		case <-ctx.Done():
			timedOut = true
			break wait
		}
	}

	err := e.commitParts(ctx, revoked)

	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range revoked {
		if timedOut && p.running.n > 0 {
			e.counters.RevokeTimeouts++
			e.log.Warn("revoke timed out with records still running; they will be processed again by the next owner",
				"topic", p.tp.Topic, "partition", p.tp.Partition, "running", p.running.n)
		}
		e.drop(p)
		e.counters.Revoked++
	}
	if err != nil {
		return errors.Join(errRevokeCommit, err)
	}
	return nil
}

var errRevokeCommit = errors.New("final commit of revoked partitions failed")

// drop forgets a partition. Its pending records stop counting against the
// buffer bound; items that still reference it are freed as workers, the
// ready queue and retry timers come across them. Called with mu held.
func (e *Engine[R]) drop(p *partition[R]) {
	if p.state == dropped {
		return
	}
	p.state = dropped
	p.cancel()
	delete(e.parts, p.tp)
	e.buffered -= p.win.Pending()
	if p.paused {
		// The client keeps a pause across assignments: undo it so that
		// a later assignment of this partition is fetched.
		e.unpause = append(e.unpause, p.tp)
		e.wake()
	}
	if p.drained != nil && p.running.n == 0 {
		close(p.drained)
		p.drained = nil
	}
	e.signalRoom()
}

// signalRoom wakes a WaitRoom caller once buffered has fallen far enough.
// Called with mu held.
func (e *Engine[R]) signalRoom() {
	if e.roomWait != nil && e.buffered <= e.resumeAt() {
		close(e.roomWait)
		e.roomWait = nil
	}
}

func (e *Engine[R]) newItem() *item[R] {
	if n := len(e.free); n > 0 {
		it := e.free[n-1]
		e.free = e.free[:n-1]
		return it
	}
	return new(item[R])
}

// freeItem recycles it. Called with mu held, once nothing refers to it.
func (e *Engine[R]) freeItem(it *item[R]) {
	*it = item[R]{}
	if len(e.free) < 4096 {
		e.free = append(e.free, it)
	}
}

func (e *Engine[R]) newChain(key string) *chain[R] {
	if n := len(e.freeChains); n > 0 {
		ch := e.freeChains[n-1]
		e.freeChains = e.freeChains[:n-1]
		ch.key = key
		return ch
	}
	return &chain[R]{key: key}
}

func (e *Engine[R]) freeChain(ch *chain[R]) {
	*ch = chain[R]{}
	if len(e.freeChains) < 4096 {
		e.freeChains = append(e.freeChains, ch)
	}
}
