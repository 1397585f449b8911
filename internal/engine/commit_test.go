package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The seed's promise about MaxMsgCountBeforeCommit (N), as the committer
// keeps it: no more than N finished records are left out of every commit
// sent for longer than one commit round trip. ("Sent", because a record
// that finishes just after a commit has left can at best be in the next
// one, which may leave only when this one returns: one commit is in flight
// at a time.) And the count is a trigger, not a rate: the triggers that come
// while a commit is in flight merge into the next one, so at full speed
// commits go out once per round trip, not once per N records.
//
// In virtual time: 10 workers, 1 ms handlers (10,000 records/s), N = 5
// (2,000 triggers/s), a 10 ms commit round trip, no interval commits.
func TestCommitCountIsATriggerNotARate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			records = 10_000
			rtt     = 10 * time.Millisecond
			count   = 5
		)
		cfg := testConfig()
		cfg.MaxProcCount, cfg.CommitCount = 10, count
		var mu sync.Mutex
		finished := make([]time.Time, records)
		h := func(_ context.Context, r rec, _ int) error {
			time.Sleep(time.Millisecond)
			mu.Lock()
			finished[r.off] = time.Now()
			mu.Unlock()
			return nil
		}
		fc := &fakeCommits{delay: rtt}
		tp := TP{"t", 0}
		e := run(t, cfg, h, fc, nil, tp)
		begin := time.Now()
		feed(e, tp, 0, records, nil)
		waitFor(t, "every record handled", func() bool { return e.Stats().Processed == records })
		end := time.Now()
		synctest.Wait() // the commit in flight, if any, has been sent
		fc.mu.Lock()
		sent := slices.Clone(fc.sent)
		fc.mu.Unlock()
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
		if fc.overlap.Load() {
			t.Fatal("two commits were in flight at once")
		}

		// A trigger per N records would be 2,000 commits; one per round
		// trip is at most span/rtt + 1.
		span := end.Sub(begin)
		if max := int(span/rtt) + 1; len(sent) > max {
			t.Fatalf("%d commits in %v of %v round trips: more than one per round trip (at most %d)", len(sent), span, rtt, max)
		}

		// Each record is committable once it and every record below it
		// have finished; it is late from one round trip after that until
		// the first commit sent that covers it. At no instant may more
		// than N records be late.
		type event struct {
			at    time.Time
			delta int
		}
		var events []event
		var committable time.Time
		next := 0 // the first commit that may cover the record
		for off := range int64(records) {
			if finished[off].After(committable) {
				committable = finished[off]
			}
			for next < len(sent) && sent[next].offs[0].Offset <= off {
				next++
			}
			covered := end
			if next < len(sent) {
				covered = sent[next].at
			}
			if late := committable.Add(rtt); covered.After(late) {
				events = append(events, event{late, +1}, event{covered, -1})
			}
		}
		slices.SortFunc(events, func(a, b event) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return a.delta - b.delta // an interval ends before one that starts at the same instant
		})
		late, worst := 0, 0
		for _, ev := range events {
			late += ev.delta
			worst = max(worst, late)
		}
		t.Logf("%d records in %v: %d commits (%v round trip), at most %d records late at once", records, span, len(sent), rtt, worst)
		if worst > count {
			t.Fatalf("%d finished records waited more than one commit round trip for a commit at once; the promise is at most %d", worst, count)
		}
	})
}
