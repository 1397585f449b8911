package engine

// Share mode (Config.Share): the broker, not the engine, keeps track of
// what is done. The engine still bounds the buffer and the handler calls,
// retries and applies the failure policy, but instead of marking offsets in
// a window it tells the Source each record's final outcome: Accept once it
// is handled (or skipped, or dead-lettered), Release when it is not
// finished here. Every record taken in gets exactly one Ack.

// ackReq is an outcome decided under mu, to be told to the Acker outside it.
type ackReq[R any] struct {
	rec R
	ack Ack
}

// sharePartition returns the partition a share record belongs to, tracking
// it from its first record: there is no assignment to wait for. Called with
// mu held.
func (e *Engine[R]) sharePartition(tp TP) *partition[R] {
	if p := e.parts[tp]; p != nil {
		return p
	}
	e.epoch++
	p := &partition[R]{tp: tp, epoch: e.epoch, committed: -1, start: -1, hwm: -1}
	p.ctx, p.cancel = e.handlerCtx, func() {}
	e.parts[tp] = p
	e.counters.Assigned++
	return p
}

// acquired counts a share record taken in. Called with mu held.
func (e *Engine[R]) acquired(p *partition[R], attempt int) {
	e.counters.Acquired++
	e.counters.Deliveries[min(max(attempt, 1), MaxDeliveryBucket)-1]++
	p.held++
}

// settleShare ends a share record's life in the engine with its Ack: the
// buffer gives back its room and the item is freed. Called with mu held.
func (e *Engine[R]) settleShare(it *item[R], a Ack) {
	p := it.p
	switch a {
	case Accept:
		e.counters.Accepted++
	case Reject:
		e.counters.Rejected++
	default:
		e.counters.Released++
	}
	p.bytes -= it.size
	p.held--
	p.acked++
	e.flow.remove(1, it.size)
	e.acks = append(e.acks, ackReq[R]{rec: it.rec, ack: a})
	e.pool.freeItem(it)
}

// releaseQueued releases the records queued and not started, at the end of
// the drain. Called with mu held.
func (e *Engine[R]) releaseQueued() {
	for it := e.ready.pop(); it != nil; it = e.ready.pop() {
		e.settleShare(it, Release)
	}
}

// flushAcks tells the Acker the outcomes decided so far. Called without mu.
// In consumer-group mode there is no Acker (Run sets it before any
// goroutine starts, and never changes it) and nothing to do.
func (e *Engine[R]) flushAcks() {
	if e.acker == nil {
		return
	}
	e.mu.Lock()
	acks := e.acks
	e.acks = nil
	e.mu.Unlock()
	for i := range acks {
		e.acker.Ack(acks[i].rec, acks[i].ack)
	}
}
