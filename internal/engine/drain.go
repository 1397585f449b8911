package engine

import (
	"errors"
	"time"
)

// drain stops dispatching and waits for running handlers: up to
// ShutdownTimeout, then it cancels their contexts and waits up to
// ShutdownMargin more. Records queued but not started, and records waiting
// to be retried, stay uncommitted: whoever consumes the partitions next
// processes them.
func (e *Engine[R]) drain() error {
	e.mu.Lock()
	e.phase = draining
	e.cond.Broadcast()
	e.retries.stopAll(e.abandon)
	if e.cfg.Share {
		e.releaseQueued()
	}
	e.stopPacing()
	e.flow.release()
	e.mu.Unlock()
	e.flushAcks()

	workersDone := make(chan struct{})
	go func() {
		e.workers.Wait()
		close(workersDone)
	}()
	timer := time.NewTimer(e.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-workersDone:
		return nil
	case <-timer.C:
	}
	e.log.Warn("handlers still running at the shutdown deadline; cancelling them", "in_flight", e.inFlight())
	e.stopHandlers()
	margin := time.NewTimer(e.cfg.ShutdownMargin)
	defer margin.Stop()
	select {
	case <-workersDone:
		return ErrDrainTimeout
	case <-margin.C:
		n := e.inFlight()
		e.log.Error("handlers ignored their cancelled context; returning without them", "in_flight", n)
		return errors.Join(ErrDrainTimeout, ErrHandlersLeaked)
	}
}

func (e *Engine[R]) inFlight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inflight
}
