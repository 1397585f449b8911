package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// watcher follows a run: it shows progress and decides when the run is
// complete. It is used by one goroutine.
type watcher struct {
	c        *kafkaworker.Consumer
	h        *simHandler
	ends     map[int32]int64 // end offset per partition
	produced int64
	share    bool // a share group: acknowledgements stand for commits
	progress *progress
	// allProcessed is when the last record was processed: the rest of the
	// wait is for the commit interval.
	allProcessed time.Time
}

// wait polls until every record has been processed and every partition's
// committed offset has reached its end offset, and returns "". It returns
// early with a reason when ctx ends or nothing moves for stallLimit, and
// with Run's error, as runErr, if Run returns first: then Run has already
// returned and must not be waited for again.
func (w *watcher) wait(ctx context.Context, runDone <-chan error) (outcome string, runErr error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	defer w.progress.finish()
	var lastProcessed, lastCommitted int64
	lastMove := time.Now()
	for {
		select {
		case <-ctx.Done():
			return "interrupted", nil
		case err := <-runDone:
			if err == nil {
				err = errors.New("kafkaworker: Run returned before the demo was complete")
			}
			return "consumer stopped", err
		case now := <-tick.C:
			s := w.c.Stats()
			processed, committed := w.h.unique.Load(), committedRecords(s)
			if w.share {
				committed = int64(s.Accepted + s.Rejected)
			}
			w.progress.update(now, processed, s.InFlight, committed)
			if processed >= w.produced && w.allProcessed.IsZero() {
				w.allProcessed = now
			}
			if processed >= w.produced && (w.committedAll(s) || w.share && s.Accepted+s.Rejected >= uint64(w.produced)) {
				return "", nil
			}
			if processed != lastProcessed || committed != lastCommitted {
				lastProcessed, lastCommitted, lastMove = processed, committed, now
			} else if now.Sub(lastMove) > stallLimit {
				return fmt.Sprintf("no progress for %v", stallLimit), nil
			}
		}
	}
}

// committedAll reports whether the consumer has committed every partition
// up to its end offset.
func (w *watcher) committedAll(s kafkaworker.Stats) bool {
	committed := make(map[int32]int64, len(s.Partitions))
	for _, p := range s.Partitions {
		if p.Topic == topic {
			committed[p.Partition] = p.Committed
		}
	}
	for p, end := range w.ends {
		if end > 0 && committed[p] < end {
			return false
		}
	}
	return true
}

// committedRecords is how many records the consumer's committed offsets
// cover. The demo topic starts at offset 0, so an offset is a count.
func committedRecords(s kafkaworker.Stats) int64 {
	var n int64
	for _, p := range s.Partitions {
		if p.Topic == topic {
			n += max(p.Committed, 0)
		}
	}
	return n
}
