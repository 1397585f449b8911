package engine

import (
	"context"
	"errors"
)

// ErrDrainTimeout is returned by Shutdown when handlers were still running at
// its deadline; their records stay uncommitted.
var ErrDrainTimeout = errors.New("handlers still running at the shutdown deadline")

// Shutdown stops dispatching, waits for running handlers until ctx ends (then
// cancels their context and stops waiting), stops the committer and makes a
// final commit with commitCtx. Records queued but not started, and records
// waiting to be retried, stay uncommitted: whoever consumes the partitions
// next processes them. It returns ErrDrainTimeout if ctx ended first, joined
// with the final commit's error if that failed.
func (e *Engine[R]) Shutdown(ctx, commitCtx context.Context) error {
	e.mu.Lock()
	e.draining = true
	e.cond.Broadcast()
	for it := e.backoff.head; it != nil; it = it.next {
		it.timer.Stop()
		it.timer = nil
	}
	e.backoff = list[R]{}
	if e.inflight == 0 {
		e.closeDrained()
	}
	if e.roomWait != nil {
		close(e.roomWait)
		e.roomWait = nil
	}
	e.mu.Unlock()

	var drainErr error
	select {
	case <-e.drained:
		e.workers.Wait()
	case <-ctx.Done():
		drainErr = ErrDrainTimeout
		e.stopHandlers()
	}
	close(e.stopCommit)
	<-e.committerDone
	err := e.commitParts(commitCtx, nil)
	e.stopHandlers()
	return errors.Join(drainErr, err)
}
