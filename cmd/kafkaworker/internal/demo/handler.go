package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// errInjected is the failure the simulated handler returns on purpose.
var errInjected = errors.New("demo: injected failure (first attempt only)")

// simHandler stands in for a user's handler: it sleeps a random latency,
// fails a share of first attempts, and records every record it finished so
// the demo can prove nothing was lost, count duplicates and check order. It is
// safe for concurrent use: all its state is atomic.
type simHandler struct {
	maxLatency time.Duration
	failRate   float64
	records    uint64

	seen     []atomic.Uint64 // bit seq set once seq has been processed
	unique   atomic.Int64    // distinct sequences processed
	twice    atomic.Int64    // calls that succeeded for a sequence already processed
	injected atomic.Int64    // failures injected
	// busy is the simulated latency per partition, over all attempts:
	// what a consumer handling one record at a time per partition would
	// have spent in its handler. It sums the latencies drawn, not the time
	// slept: timers overshoot by a fraction of a millisecond, more on a
	// loaded machine, and counting that would flatter the comparison.
	busy []atomic.Int64
	// order checks the ordering mode's guarantee, per key or, with
	// byPartition, per partition; nil in unordered mode.
	order       *orderCheck
	byPartition bool
}

func newSimHandler(o options) *simHandler {
	h := &simHandler{
		maxLatency: o.latency,
		failRate:   o.failRate,
		records:    uint64(o.records),
		seen:       make([]atomic.Uint64, (o.records+63)/64),
		busy:       make([]atomic.Int64, o.partitions),
	}
	switch o.ordering {
	case kafkaworker.KeyOrdered:
		h.order = newOrderCheck(o.keys)
	case kafkaworker.PartitionOrdered:
		h.order, h.byPartition = newOrderCheck(o.partitions), true
	}
	return h
}

// Handle implements kafkaworker.Handler.
func (h *simHandler) Handle(ctx context.Context, r *kafkaworker.Record) error {
	seq, unit, err := h.decode(r)
	if err != nil {
		return err
	}
	if h.order != nil {
		h.order.enter(unit)
		defer h.order.leave(unit)
	}

	var d time.Duration
	if h.maxLatency > 0 {
		d = rand.N(h.maxLatency + 1)
	}
	h.busy[r.Partition].Add(int64(d))
	if err := sleep(ctx, d); err != nil {
		return err
	}
	if r.Attempt == 1 && h.failRate > 0 && rand.Float64() < h.failRate {
		h.injected.Add(1)
		return errInjected
	}
	if h.order != nil {
		h.order.done(unit, r.Offset)
	}
	h.mark(seq)
	return nil
}

// decode returns r's sequence number and the unit whose order it belongs
// to: its key or, in partition mode, its partition. A record the demo did
// not produce is an error (the stop policy then ends the run), not a panic
// on an index out of range.
func (h *simHandler) decode(r *kafkaworker.Record) (seq uint64, unit int, err error) {
	seq, key, err := decodeValue(r.Value)
	if err != nil {
		return 0, 0, err
	}
	unit = int(key)
	if h.byPartition {
		unit = int(r.Partition)
	}
	if seq >= h.records || r.Partition < 0 || int(r.Partition) >= len(h.busy) ||
		(h.order != nil && unit >= h.order.units()) {
		return 0, 0, fmt.Errorf("demo: record %s/%d@%d is not one the demo produced", r.Topic, r.Partition, r.Offset)
	}
	return seq, unit, nil
}

// mark records seq as processed.
func (h *simHandler) mark(seq uint64) {
	bit := uint64(1) << (seq % 64)
	if h.seen[seq/64].Or(bit)&bit != 0 {
		h.twice.Add(1)
		return
	}
	h.unique.Add(1)
}

// sequentialTime is the simulated time of the busiest partition: how long
// a consumer processing one record at a time per partition, with partitions
// in parallel, would have needed for the same latencies.
func (h *simHandler) sequentialTime() time.Duration {
	var most int64
	for i := range h.busy {
		most = max(most, h.busy[i].Load())
	}
	return time.Duration(most)
}

// sleep waits d or until ctx ends, so that a shutdown is not held up by a
// long simulated latency.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
