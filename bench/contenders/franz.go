package contenders

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runFranz is the baseline: franz-go's goroutine_per_partition_consuming
// example (autocommit_marks). One poll loop hands each partition's records
// to that partition's goroutine, which handles them in order and marks
// them; franz-go commits the marks every AutoCommitInterval (default 5 s)
// and once more, synchronously, before we stop. Concurrency is therefore
// the partition count (12), whatever the handler.
func runFranz(ctx context.Context, s Spec, t *Tally) error {
	w := &franzWorkers{work: s.Model.Handler(s.CPUIters, t), t: t, parts: map[int32]chan []*kgo.Record{}}
	w.handle = w.serial
	return runFranzWith(ctx, s, t, w)
}

// runFranzWith runs the poll loop of raw franz-go and of the worker pool:
// w.handle says how a partition's goroutine handles one batch.
func runFranzWith(ctx context.Context, s Spec, t *Tally, w *franzWorkers) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(s.Bootstrap),
		kgo.ConsumerGroup(s.Group),
		kgo.ConsumeTopics(s.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(w.assigned),
		kgo.OnPartitionsRevoked(w.revoked),
		kgo.OnPartitionsLost(w.revoked),
		kgo.WithHooks(t.CommitHook()),
	)
	if err != nil {
		return err
	}
	w.cl = cl
	defer cl.CloseAllowingRebalance()
	// A poll with nothing left to fetch blocks until its context ends: end
	// it when the last record is handled.
	pollCtx, cancelPoll := context.WithCancel(ctx)
	defer cancelPoll()
	go func() {
		select {
		case <-t.Done():
		case <-ctx.Done():
		}
		cancelPoll()
	}()
	for {
		select {
		case <-t.Done():
			w.stopAll()
			err := cl.CommitMarkedOffsets(ctx)
			t.Finish()
			return err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		fetches := cl.PollFetches(pollCtx)
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				w.send(p.Partition, p.Records, t.Done())
			}
		})
		cl.AllowRebalance()
	}
}

// franzWorkers owns the per-partition goroutines. parts is written only by
// the group callbacks and read by the poll loop; franz-go never runs them at
// once (BlockRebalanceOnPoll), but the mutex keeps the race detector honest.
type franzWorkers struct {
	cl   *kgo.Client
	work func([]byte)
	// handle handles a batch and returns the last record to mark, or nil.
	handle func([]*kgo.Record) *kgo.Record
	t      *Tally
	mu     sync.Mutex
	parts  map[int32]chan []*kgo.Record // closed by revoked or stopAll
	wg     sync.WaitGroup
}

func (w *franzWorkers) assigned(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, list := range ps {
		for _, p := range list {
			ch := make(chan []*kgo.Record, 4)
			w.parts[p] = ch
			w.wg.Add(1)
			go w.loop(ch)
		}
	}
}

// loop handles one partition's batches in order and marks each batch.
func (w *franzWorkers) loop(ch chan []*kgo.Record) {
	defer w.wg.Done()
	for recs := range ch {
		w.t.Start()
		if last := w.handle(recs); last != nil {
			w.cl.MarkCommitRecords(last)
		}
	}
}

// serial handles a batch's records one after another. Once the run stops
// it handles nothing more (a batch can hold thousands of records: at 10 ms
// each, finishing it would take minutes) and returns the last record it
// handled.
func (w *franzWorkers) serial(recs []*kgo.Record) *kgo.Record {
	var last *kgo.Record
	for _, r := range recs {
		if w.t.Stopped() {
			break
		}
		w.work(r.Value)
		w.t.Count(r.Partition, r.Offset)
		last = r
	}
	return last
}

// send blocks while the partition's goroutine is behind: the example's
// backpressure. done unblocks it at the end of the run.
func (w *franzWorkers) send(p int32, recs []*kgo.Record, done <-chan struct{}) {
	w.mu.Lock()
	ch := w.parts[p]
	w.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- recs:
	case <-done:
	}
}

func (w *franzWorkers) revoked(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
	w.mu.Lock()
	for _, list := range ps {
		for _, p := range list {
			if ch := w.parts[p]; ch != nil {
				close(ch)
				delete(w.parts, p)
			}
		}
	}
	w.mu.Unlock()
	w.wg.Wait()
	cl.CommitMarkedOffsets(ctx)
}

// stopAll ends every partition goroutine and waits for them, so that every
// mark is in place before the final commit.
func (w *franzWorkers) stopAll() {
	w.mu.Lock()
	for p, ch := range w.parts {
		close(ch)
		delete(w.parts, p)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
