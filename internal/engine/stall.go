package engine

import "time"

// A commit that does not complete within CommitStallHold is stuck: under
// the classic protocol franz-go holds every commit while the group joins
// and syncs (seconds when a member died: the join waits for its session),
// and a coordinator that moves refuses commits until it has loaded the
// group. Everything the handlers finish meanwhile stays uncommitted, and
// if the rebalance ends with this member's partitions lost (ILLEGAL_
// GENERATION, UNKNOWN_MEMBER_ID: another member joined mid-rebalance, or
// this one was expelled), the next owners do all of it again. So while a
// commit is stuck, workers start nothing new: records running finish, and
// the work at risk stays what one stall allows. Dispatch resumes when a
// commit succeeds (or has nothing left to carry: the partitions went).
//
// The cost is lag during such rebalances, which under the classic protocol
// already stop the group's progress where partitions move; KIP-848 commits
// through them, so its commits do not stall.
type commitStall struct {
	timer   *time.Timer // the commit loop's own
	round   uint64      // the commit round the timer is armed for; guarded by mu
	active  bool        // a round is under way; guarded by mu
	stalled bool        // dispatch held; guarded by mu
}

// commitStarted arms the stall timer for a commit (and its retries) that
// begins now. Called by the commit loop only, without mu.
func (e *Engine[R]) commitStarted() {
	if e.cfg.CommitStallHold <= 0 {
		return
	}
	e.mu.Lock()
	e.stall.round++
	round := e.stall.round
	e.stall.active = true
	e.mu.Unlock()
	e.stall.timer = time.AfterFunc(e.cfg.CommitStallHold, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		// A timer that fired as its round ended must not hold the next.
		if e.stall.active && e.stall.round == round && !e.stall.stalled {
			e.stall.stalled = true
			e.counters.CommitStalls++
			e.log.Warn("a commit is taking long (a rebalance or a coordinator change holds it): starting no new records until it completes",
				"after", e.cfg.CommitStallHold)
		}
	})
}

// commitEnded disarms the timer and lets dispatch go on. Called by the
// commit loop only, without mu.
func (e *Engine[R]) commitEnded() {
	if e.stall.timer == nil {
		return
	}
	e.stall.timer.Stop()
	e.stall.timer = nil
	e.mu.Lock()
	e.stall.active = false
	if e.stall.stalled {
		e.stall.stalled = false
		e.log.Info("the stuck commit completed: dispatching again")
		e.cond.Broadcast()
	}
	e.mu.Unlock()
}
