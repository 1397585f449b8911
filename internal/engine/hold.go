package engine

// holds are the partitions an operator paused (Engine.Pause), as opposed to
// the pauses the engine decides itself for a full window. A partition is
// paused in the Source while either asks for it; the engine's own resume
// (its window falling to half) therefore never undoes an operator's pause.
// Holds are kept by topic and partition, not per assignment: a held
// partition that is revoked and assigned again stays held. Guarded by the
// engine's mutex.
type holds struct {
	all bool            // every partition, including ones assigned later
	tps map[TP]struct{} // these partitions (while all is false)
}

// has reports whether tp is held.
func (h *holds) has(tp TP) bool {
	if h.all {
		return true
	}
	if len(h.tps) == 0 {
		return false
	}
	_, ok := h.tps[tp]
	return ok
}

// pauseWanted reports whether p should be paused in the Source: its window
// asks for it, or an operator does. A held partition stays paused while it
// is revoked too; drop undoes the pause in the Source when it is gone.
// Called with mu held.
func (e *Engine[R]) pauseWanted(p *partition[R]) bool {
	return p.want || e.holds.has(p.tp)
}

// Pause holds partitions: they are paused in the Source until Resume, and
// the engine's own resume decisions leave them paused. all holds every
// partition, now and assigned later. Records already fetched still run; a
// held partition's fetching stops at once for partitions owned now (before
// Pause returns, the Source is told) and, for one assigned later, after the
// first poll that brings it records. Safe for concurrent use; it does not
// block on handlers.
func (e *Engine[R]) Pause(tps []TP, all bool) {
	e.mu.Lock()
	if all {
		e.holds.all = true
	}
	for _, tp := range tps {
		if e.holds.tps == nil {
			e.holds.tps = make(map[TP]struct{})
		}
		e.holds.tps[tp] = struct{}{}
	}
	e.markHolds()
	e.mu.Unlock()
	e.applyPauses()
}

// Resume releases held partitions (all: every one, and the hold on
// partitions assigned later). A partition whose window is full stays paused
// until the window falls to half, as if it had never been held. Resuming
// one partition while all are held holds each other owned partition on its
// own, so that only the one named resumes.
func (e *Engine[R]) Resume(tps []TP, all bool) {
	e.mu.Lock()
	if all {
		e.holds = holds{}
	} else {
		if e.holds.all && len(tps) > 0 {
			e.holds.all = false
			if e.holds.tps == nil {
				e.holds.tps = make(map[TP]struct{}, len(e.parts))
			}
			for tp := range e.parts {
				e.holds.tps[tp] = struct{}{}
			}
		}
		for _, tp := range tps {
			delete(e.holds.tps, tp)
		}
	}
	e.markHolds()
	e.mu.Unlock()
	e.applyPauses()
}

// Held returns what is held: all, or the partitions named (sorted by
// nothing; the caller sorts).
func (e *Engine[R]) Held() (all bool, tps []TP) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for tp := range e.holds.tps {
		tps = append(tps, tp)
	}
	return e.holds.all, tps
}

// markHolds queues for applyPauses every owned partition whose pause state
// no longer matches what is wanted. Before Run there is no Source to tell:
// the holds then apply at the first intake. Called with mu held.
func (e *Engine[R]) markHolds() {
	if e.phase != running {
		return
	}
	for _, p := range e.parts {
		if e.pauseWanted(p) != p.paused && !p.dirty {
			p.dirty = true
			e.pauseDirty = append(e.pauseDirty, p)
		}
	}
}
