package engine

import (
	"context"
	"time"
)

// MemberChecker is implemented by Sources that can ask the group whether
// this process is still a member. The engine asks after it finds that the
// process was frozen (see watchFreeze).
type MemberChecker interface {
	// StillMember reports whether the group still counts this process
	// as the member it joined as. An error means it could not tell.
	StillMember(ctx context.Context) (bool, error)
}

// freezeTick is how often watchFreeze looks at the clock. A gap between
// two ticks much longer than this means the process did not run.
const freezeTick = 250 * time.Millisecond

// memberCheckTimeout bounds one StillMember call; past it the engine goes
// on as before (the client learns of a lost membership at its next
// heartbeat anyway).
const memberCheckTimeout = 5 * time.Second

// watchFreeze notices that the process was frozen — SIGSTOP, a paused
// container or VM, a stall — for FreezeAfter or more (the session timeout):
// long enough for the group to have expelled it and given its partitions
// to other members, which started from the last commit. The client learns
// that only at its next heartbeat, seconds later; meanwhile the engine
// would go on handling buffered and newly fetched records that are no
// longer its own, each one handled twice. So on waking it stops dispatching
// until the group answers: expelled, it drops every partition at once (as a
// lost session does); still a member, it carries on.
func (e *Engine[R]) watchFreeze(ctx context.Context, mc MemberChecker) {
	t := time.NewTicker(freezeTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		gap := now.Sub(last)
		last = now
		if gap >= e.cfg.FreezeAfter {
			e.afterFreeze(ctx, gap, mc)
			last = time.Now()
		}
	}
}

// afterFreeze holds dispatch while it asks the group whether this process
// is still a member, and drops every partition if it is not. A join, revoke
// or loss that the client reported meanwhile means the client already knows
// (its callbacks did the work): then nothing is dropped, lest partitions
// assigned by that very join be forgotten.
func (e *Engine[R]) afterFreeze(ctx context.Context, gap time.Duration, mc MemberChecker) {
	e.mu.Lock()
	e.frozen = true
	e.counters.Freezes++
	events := e.counters.Joins + e.counters.Revoked + e.counters.Lost
	e.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, memberCheckTimeout)
	still, err := mc.StillMember(cctx)
	cancel()

	e.mu.Lock()
	e.frozen = false
	var dropped int
	switch {
	case err != nil:
		e.log.Warn("the process did not run for longer than the session timeout; could not ask the group whether it is still a member, carrying on",
			"stopped_for", gap.Round(time.Millisecond), "err", err)
	case still:
		e.log.Info("the process did not run for longer than the session timeout; still a member of the group",
			"stopped_for", gap.Round(time.Millisecond))
	case events != e.counters.Joins+e.counters.Revoked+e.counters.Lost:
		// The client rejoined meanwhile: its callbacks settled it.
	default:
		for _, p := range e.parts {
			if p.state == active {
				e.drop(p)
				e.counters.Lost++
				dropped++
			}
		}
		e.log.Warn("the process did not run for longer than the session timeout and the group expelled it: dropping its partitions until it joins again",
			"stopped_for", gap.Round(time.Millisecond), "partitions", dropped)
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	e.applyPauses()
}
