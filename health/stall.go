package admin

import (
	"sync"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// stall names a partition that is not making progress.
type stall struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Reason    string `json:"reason"`
	For       string `json:"for"` // how long, as a Go duration
}

const (
	reasonHandler = "handler running too long"
	reasonCommit  = "commit point not moving"
)

type tp struct {
	topic     string
	partition int32
}

// seen is what the detector remembers of a partition between checks.
type seen struct {
	epoch       uint64
	committable int64
	since       time.Time // when committable last moved, or records became pending
}

// stallDetector finds stalled partitions. A partition is stalled when its
// oldest running handler call is older than timeout, or when it has pending
// records and its commit point (Committable) has not moved for longer than
// timeout. Stats carries no history, so the detector remembers each
// partition's commit point between calls: the second rule can only fire once
// a partition has been seen twice, timeout apart. It is safe for concurrent
// use.
type stallDetector struct {
	timeout time.Duration

	mu    sync.Mutex
	parts map[tp]seen
}

func newStallDetector(timeout time.Duration) *stallDetector {
	return &stallDetector{timeout: timeout, parts: make(map[tp]seen)}
}

// check returns the stalled partitions in s at time now, in s's order, and
// forgets partitions the consumer no longer owns.
func (d *stallDetector) check(s kafkaworker.Stats, now time.Time) []stall {
	d.mu.Lock()
	defer d.mu.Unlock()
	var stalls []stall
	owned := make(map[tp]bool, len(s.Partitions))
	for _, p := range s.Partitions {
		k := tp{p.Topic, p.Partition}
		owned[k] = true
		prev, ok := d.parts[k]
		// A new assignment, a moved commit point or nothing to do
		// restarts the clock: only pending work can stall.
		if !ok || prev.epoch != p.Epoch || prev.committable != p.Committable || p.Pending == 0 {
			prev = seen{epoch: p.Epoch, committable: p.Committable, since: now}
		}
		d.parts[k] = prev
		switch {
		case p.OldestInFlight > d.timeout:
			stalls = append(stalls, stall{p.Topic, p.Partition, reasonHandler, p.OldestInFlight.Round(time.Millisecond).String()})
		case now.Sub(prev.since) > d.timeout:
			stalls = append(stalls, stall{p.Topic, p.Partition, reasonCommit, now.Sub(prev.since).Round(time.Millisecond).String()})
		}
	}
	for k := range d.parts {
		if !owned[k] {
			delete(d.parts, k)
		}
	}
	return stalls
}
