package contenders

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runFranzPool is the usual hand-written way to get more concurrency than
// partitions out of franz-go: a goroutine per partition takes each fetched
// batch of its partition, hands it to a pool of N workers (N = MaxProcCount
// ÷ partitions, rounded up), waits for the whole batch, then marks its last
// record: in-order commits done naively, one batch at a time, so a slow
// record holds back the batch's other workers. franz-go commits the marks
// every AutoCommitInterval (5 s) and once more before we stop.
func runFranzPool(ctx context.Context, s Spec, t *Tally) error {
	n := max(1, (s.MPC+len(s.Ends)-1)/max(1, len(s.Ends)))
	w := &franzWorkers{work: s.Model.Handler(s.CPUIters, t), t: t, parts: map[int32]chan []*kgo.Record{}}
	w.handle = func(recs []*kgo.Record) *kgo.Record { return poolBatch(recs, n, w.work, t) }
	return runFranzWith(ctx, s, t, w)
}

// poolBatch handles recs with n workers taking records in offset order and
// returns the last record of the handled prefix (all of them unless the run
// stopped), or nil. Every record a worker takes is handled, so what was
// handled is always a prefix of the batch.
func poolBatch(recs []*kgo.Record, n int, work func([]byte), t *Tally) *kgo.Record {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, len(recs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !t.Stopped() {
				i := next.Add(1) - 1
				if i >= int64(len(recs)) {
					return
				}
				r := recs[i]
				work(r.Value)
				t.Count(r.Partition, r.Offset)
			}
		}()
	}
	wg.Wait()
	taken := min(next.Load(), int64(len(recs)))
	if taken == 0 {
		return nil
	}
	return recs[taken-1]
}
