package engine

import (
	"context"
	"time"
)

// commitLoop commits when CommitCount records have finished since the last
// commit or CommitInterval has passed, whichever comes first. The count is
// a trigger, not a rate: at most one commit is in flight, and triggers that
// come while it is coalesce into the next one. A failed commit is retried
// with backoff; it never stops the engine, because the offsets it carried
// are still committable and the next attempt carries newer ones.
func (e *Engine[R]) commitLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.CommitInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.commits.C:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		e.commitStarted()
		ok := false
		for attempt := 1; ; attempt++ {
			err := e.commitParts(ctx, nil)
			if err == nil || ctx.Err() != nil {
				ok = err == nil
				break
			}
			d := backoff(100*time.Millisecond, 5*time.Second, attempt)
			e.log.Warn("commit failed; retrying", "err", err, "attempt", attempt, "backoff", d)
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				e.commitEnded(false)
				return
			}
		}
		e.commitEnded(ok)
	}
}

// Commit commits every partition whose committable offset moved. It waits
// for a commit already in flight, so at most one is ever sent at a time.
func (e *Engine[R]) Commit(ctx context.Context) error { return e.commitParts(ctx, nil) }

// commitParts commits the given partitions (nil: all owned ones) whose
// committable offset is above what was last committed.
func (e *Engine[R]) commitParts(ctx context.Context, only []*partition[R]) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()

	e.mu.Lock()
	src := e.src
	var offs []Offset
	var parts []*partition[R]
	add := func(p *partition[R]) {
		if c, meta, ok := p.toCommit(&e.metaEnc, e.metaBudget); ok {
			offs = append(offs, Offset{TP: p.tp, Offset: c, Epoch: p.epoch, Metadata: meta})
			parts = append(parts, p)
		}
	}
	if only == nil {
		for _, p := range e.parts {
			add(p)
		}
		e.commits.reset()
	} else {
		for _, p := range only {
			add(p)
		}
	}
	e.mu.Unlock()
	if len(offs) == 0 || src == nil {
		return nil
	}

	start := time.Now()
	err := src.Commit(ctx, offs)
	if e.cfg.OnCommit != nil {
		e.cfg.OnCommit(time.Since(start), len(offs), err)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.counters.CommitErrors++
		return err
	}
	e.counters.Commits++
	for i, p := range parts {
		// p may have been dropped meanwhile; its value is then unused.
		if offs[i].Offset >= p.committed {
			p.committed, p.meta = offs[i].Offset, offs[i].Metadata
		}
	}
	return nil
}
