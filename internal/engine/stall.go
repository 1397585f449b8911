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
	// The commit loop's own.
	timer   *time.Timer
	began   time.Time
	typical time.Duration // moving average of rounds that did not stall

	round   uint64 // the commit round the timer is armed for; guarded by mu
	active  bool   // a round is under way; guarded by mu
	stalled bool   // dispatch held; guarded by mu
}

// A round counts as stuck after stallFactor times the typical round, at
// least minStallHold and at most CommitStallHold: on loopback a commit takes
// a few milliseconds and a rebalance is seen within a quarter second; on a
// slow link or a loaded machine the bound grows with the commits' own time,
// so that ordinary commits never hold anything.
const (
	stallFactor  = 10
	minStallHold = 250 * time.Millisecond
)

// stallHold is how long the round beginning now may take.
func (e *Engine[R]) stallHold() time.Duration {
	if e.stall.typical == 0 {
		return e.cfg.CommitStallHold
	}
	return min(max(stallFactor*e.stall.typical, minStallHold), e.cfg.CommitStallHold)
}

// commitStarted arms the stall timer for a commit (and its retries) that
// begins now. Called by the commit loop only, without mu.
func (e *Engine[R]) commitStarted() {
	if e.cfg.CommitStallHold <= 0 {
		return
	}
	hold := e.stallHold()
	e.stall.began = time.Now()
	e.mu.Lock()
	e.stall.round++
	round := e.stall.round
	e.stall.active = true
	e.mu.Unlock()
	e.stall.timer = time.AfterFunc(hold, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		// A timer that fired as its round ended must not hold the next.
		if e.stall.active && e.stall.round == round && !e.stall.stalled {
			e.stall.stalled = true
			e.counters.CommitStalls++
			e.log.Warn("a commit is taking long (a rebalance or a coordinator change holds it): starting no new records until it completes",
				"after", hold)
		}
	})
}

// commitEnded disarms the timer and lets dispatch go on; a round that
// succeeded without stalling updates the typical round. Called by the
// commit loop only, without mu.
func (e *Engine[R]) commitEnded(ok bool) {
	if e.stall.timer == nil {
		return
	}
	e.stall.timer.Stop()
	e.stall.timer = nil
	d := time.Since(e.stall.began)
	e.mu.Lock()
	e.stall.active = false
	if ok && !e.stall.stalled {
		if e.stall.typical == 0 {
			e.stall.typical = d
		} else {
			e.stall.typical = (7*e.stall.typical + d) / 8
		}
	}
	if e.stall.stalled {
		e.stall.stalled = false
		e.log.Info("the stuck commit completed: dispatching again")
		e.cond.Broadcast()
	}
	e.mu.Unlock()
}
