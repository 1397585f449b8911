package engine

import (
	"context"
	"errors"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
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
		p := &partition[R]{tp: tp, epoch: e.epoch, ctx: ctx, cancel: cancel, committed: -1, start: -1, hwm: -1}
		if e.cfg.Ordering == ByKey {
			p.keys = make(map[uint64]*chain[R])
		}
		e.parts[tp] = p
		e.counters.Assigned++
	}
	e.updateWindow()
}

// Restore implements Group: it sets where p starts and the offsets above
// it that its previous owner finished (from the commit metadata, ignored
// unless it is ours, intact and written for this very offset).
func (e *Engine[R]) Restore(tp TP, committed int64, metadata string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.parts[tp]
	if p == nil || p.win.Next() >= 0 || committed < 0 {
		return // not ours, or already fetching: too late to skip anything
	}
	p.committed, p.meta = committed, metadata
	if d, ok := offsetmeta.Decode(metadata, committed); ok && d.Count() > 0 {
		p.restored = &d
	}
}

// Lose forgets partitions that the group took away without a revoke (session
// lost): their records are no longer ours, so nothing is committed, and
// handlers still running see their context cancelled.
func (e *Engine[R]) Lose(tps []TP) {
	e.mu.Lock()
	for _, tp := range tps {
		if p := e.parts[tp]; p != nil {
			e.drop(p)
			e.counters.Lost++
		}
	}
	e.mu.Unlock()
	e.applyPauses()
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
	// Once the drain is over, whatever still runs is stuck: do not wait
	// for it a second time.
	wait := e.phase < stopped
	var revoked []*partition[R]
	var waits []chan struct{}
	for _, tp := range tps {
		p := e.parts[tp]
		if p == nil || p.state != active {
			continue
		}
		p.state = revoking
		revoked = append(revoked, p)
		if p.running.n > 0 && wait {
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
	for _, p := range revoked {
		if timedOut && p.running.n > 0 {
			e.counters.RevokeTimeouts++
			e.log.Warn("revoke timed out with records still running; they will be processed again by the next owner",
				"topic", p.tp.Topic, "partition", p.tp.Partition, "running", p.running.n)
		}
		e.drop(p)
		e.counters.Revoked++
	}
	e.mu.Unlock()
	e.applyPauses()
	if err != nil {
		return errors.Join(errRevokeCommit, err)
	}
	return nil
}

var errRevokeCommit = errors.New("final commit of revoked partitions failed")

// drop forgets a partition. Its pending records stop counting against the
// buffer bound; items that still reference it are freed as workers, the
// ready queue and retry timers come across them. Called with mu held; the
// caller runs applyPauses after unlocking.
func (e *Engine[R]) drop(p *partition[R]) {
	if p.state == dropped {
		return
	}
	p.state = dropped
	p.cancel()
	delete(e.parts, p.tp)
	e.flow.remove(p.win.Pending(), p.bytes)
	if p.paused {
		// The client keeps a pause across assignments: undo it so that
		// a later assignment of this partition is fetched.
		e.unpause = append(e.unpause, p.tp)
	}
	p.want, p.paused = false, false
	if p.drained != nil && p.running.n == 0 {
		close(p.drained)
		p.drained = nil
	}
	e.updateWindow()
}
