package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The Block policy keeps a record that failed for good where it is: it is
// retried without end (the backoff grows to BackoffMax and stays there), its
// chain stays busy, so records of its key (ByKey) or of its partition
// (ByPartition) wait behind it, and the partition's commit point stays below
// it; unordered records behind it run on until the partition's window fills,
// and then only that partition is paused. Nothing else waits, and the engine
// never stops for it. A blocked record is listed in Stats (PartitionStats.
// Blocked) until it succeeds or an operator lets it go with Release.

// ErrNotBlocked is returned by Release for a record that is not blocked: it
// is not of an owned partition, it has not used up its retries, or it has
// finished meanwhile.
var ErrNotBlocked = errors.New("no such blocked record")

// BlockedRecord is a record held by the Block policy.
type BlockedRecord struct {
	Offset   int64
	Since    time.Time // when its retries were used up
	Attempts int       // attempts made so far
	Err      error     // the last attempt's error
	Released bool      // Release was called; the action is under way
}

// block keeps a record that failed for good under the Block policy and
// schedules its next attempt, or runs the action Release asked for while it
// ran. Called with mu held, the partition active and the engine running.
func (e *Engine[R]) block(it *item[R], err error) {
	p := it.p
	it.cause, it.release = err, 0
	if !it.blocked {
		it.blocked, it.since = true, time.Now()
		e.counters.Failed++
		e.counters.Blocked++
		if p.blocked == nil {
			p.blocked = make(map[int64]*item[R])
		}
		p.blocked[it.off] = it
		e.log.Error("record failed; blocking it: retrying without end until it succeeds or is released",
			"topic", p.tp.Topic, "partition", p.tp.Partition, "offset", it.off, "attempts", it.attempt,
			"holds", e.cfg.Ordering.holds(), "err", err)
	}
	if a := it.releaseReq; a != 0 {
		it.releaseReq, it.release = 0, a
		e.ready.push(it)
		e.wakeWorkers(1)
		return
	}
	e.counters.Retried++
	e.retries.schedule(it, e.requeue)
}

// holds says, for the log, what a blocked record holds back.
func (o Ordering) holds() string {
	switch o {
	case ByKey:
		return "its key and the partition's commit point"
	case ByPartition:
		return "its partition"
	}
	return "the partition's commit point"
}

// unblock forgets a blocked record that finished. Called with mu held.
func (e *Engine[R]) unblock(it *item[R]) {
	p := it.p
	delete(p.blocked, it.off)
	if len(p.blocked) == 0 {
		p.blocked = nil
	}
	e.log.Info("blocked record finished", "topic", p.tp.Topic, "partition", p.tp.Partition,
		"offset", it.off, "attempts", it.attempt, "blocked_for", time.Since(it.since).Round(time.Millisecond))
}

// Release lets a blocked record go: action Skip marks it done, DeadLetter
// hands it to the Source's DeadLetter first (if that fails, the record stays
// blocked and is retried as before). It returns once the action is queued,
// without waiting for it: the record leaves Stats' Blocked list when it is
// done. A record whose handler is running is released when that attempt
// ends, unless the attempt succeeds. It returns ErrNotBlocked when tp and
// offset name no blocked record.
func (e *Engine[R]) Release(tp TP, offset int64, action Policy) error {
	if action != Skip && action != DeadLetter {
		return fmt.Errorf("release action %d: must be Skip or DeadLetter", action)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.parts[tp]
	if p == nil || p.state != active || e.phase != running {
		return fmt.Errorf("%w: %s[%d]@%d (partition not being consumed)", ErrNotBlocked, tp.Topic, tp.Partition, offset)
	}
	it := p.blocked[offset]
	if it == nil {
		return fmt.Errorf("%w: %s[%d]@%d", ErrNotBlocked, tp.Topic, tp.Partition, offset)
	}
	e.counters.Unblocked++
	e.log.Warn("releasing a blocked record", "topic", tp.Topic, "partition", tp.Partition, "offset", offset,
		"action", action.String())
	switch {
	case it.timer != nil:
		// In backoff: run the action now rather than at the timer.
		t := it.timer
		e.retries.due(it)
		t.Stop()
		it.release = action
		e.ready.push(it)
		e.wakeWorkers(1)
	case p.isRunning(it):
		// Its worker reads release without mu; settle picks this up.
		it.releaseReq = action
	default:
		// In the ready queue: the worker that takes it reads release
		// after take, under mu.
		it.release = action
	}
	return nil
}

// isRunning reports whether it was taken by a worker and not yet settled.
// It walks the partition's running list: Release is rare.
func (p *partition[R]) isRunning(it *item[R]) bool {
	for r := p.running.head; r != nil; r = r.next {
		if r == it {
			return true
		}
	}
	return false
}

// released applies the action Release asked for, in place of the handler.
// It runs without mu, on the worker that took the record.
func (e *Engine[R]) released(ctx context.Context, it *item[R]) (outcome, error) {
	tp := it.p.tp
	if it.release == Skip {
		e.log.Warn("blocked record released; skipping it", "topic", tp.Topic, "partition", tp.Partition,
			"offset", it.off, "attempts", it.attempt-1, "err", it.cause)
		return skipped, it.cause
	}
	if derr := e.src.DeadLetter(ctx, it.rec, it.attempt-1, it.cause); derr != nil {
		if ctx.Err() != nil {
			return abandoned, derr
		}
		e.log.Error("blocked record released to the dead-letter topic, which failed; it stays blocked",
			"topic", tp.Topic, "partition", tp.Partition, "offset", it.off, "err", derr)
		return blocking, it.cause
	}
	e.log.Warn("blocked record released; sent to the dead-letter topic", "topic", tp.Topic,
		"partition", tp.Partition, "offset", it.off, "attempts", it.attempt-1, "err", it.cause)
	return deadLettered, it.cause
}

// String names a policy for logs.
func (p Policy) String() string {
	switch p {
	case Stop:
		return "stop"
	case Skip:
		return "skip"
	case DeadLetter:
		return "dead-letter"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// blockedStats lists p's blocked records in offset order, or nil. Called
// with mu held.
func (p *partition[R]) blockedStats() []BlockedRecord {
	if len(p.blocked) == 0 {
		return nil
	}
	out := make([]BlockedRecord, 0, len(p.blocked))
	for _, it := range p.blocked {
		out = append(out, BlockedRecord{Offset: it.off, Since: it.since, Attempts: it.attempt - 1, Err: it.cause,
			Released: it.release != 0 || it.releaseReq != 0})
	}
	slices.SortFunc(out, func(a, b BlockedRecord) int { return cmp.Compare(a.Offset, b.Offset) })
	return out
}
