package health

import (
	"encoding/json"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// Why a partition is stalled, as Stall.Reason says it.
const (
	// ReasonHandler: the partition's oldest running handler call is
	// older than the stall timeout.
	ReasonHandler = "handler running too long"
	// ReasonCommit: the partition has pending records and its commit
	// point (PartitionStats.Committable) has not moved for longer than the
	// stall timeout, although no single call is that old (a handler that
	// keeps failing and being retried, for example).
	ReasonCommit = "commit point not moving"
)

// Stall names a partition that is not making progress.
type Stall struct {
	Topic     string        `json:"topic"`
	Partition int32         `json:"partition"`
	Reason    string        `json:"reason"` // ReasonHandler or ReasonCommit
	For       time.Duration `json:"for"`    // how long; in JSON a Go duration such as "1.5s"
}

// stallJSON is Stall as JSON, with For spelled as a Go duration.
type stallJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Reason    string `json:"reason"`
	For       string `json:"for"`
}

// MarshalJSON writes For as a Go duration ("1.5s"), as an operator reads it.
func (s Stall) MarshalJSON() ([]byte, error) {
	return json.Marshal(stallJSON{s.Topic, s.Partition, s.Reason, s.For.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Stall) UnmarshalJSON(b []byte) error {
	var j stallJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.For)
	if err != nil {
		return err
	}
	*s = Stall{j.Topic, j.Partition, j.Reason, d}
	return nil
}

type tp struct {
	topic     string
	partition int32
}

// seen is what a Checker remembers of a partition between checks.
type seen struct {
	epoch       uint64
	committable int64
	since       time.Time // when committable last moved, or records became pending
}

// stalls returns the stalled partitions in s at time now, in s's order, and
// forgets partitions the consumer no longer owns. The caller holds c.mu.
func (c *Checker) stalls(s *kafkaworker.Stats, now time.Time) []Stall {
	var stalls []Stall
	owned := make(map[tp]bool, len(s.Partitions))
	for _, p := range s.Partitions {
		k := tp{p.Topic, p.Partition}
		owned[k] = true
		prev, ok := c.parts[k]
		// A new assignment, a moved commit point or nothing to do
		// restarts the clock: only pending work can stall.
		if !ok || prev.epoch != p.Epoch || prev.committable != p.Committable || p.Pending == 0 {
			prev = seen{epoch: p.Epoch, committable: p.Committable, since: now}
		}
		c.parts[k] = prev
		switch {
		case p.OldestInFlight > c.timeout:
			stalls = append(stalls, Stall{p.Topic, p.Partition, ReasonHandler, p.OldestInFlight.Round(time.Millisecond)})
		case now.Sub(prev.since) > c.timeout:
			stalls = append(stalls, Stall{p.Topic, p.Partition, ReasonCommit, now.Sub(prev.since).Round(time.Millisecond)})
		}
	}
	for k := range c.parts {
		if !owned[k] {
			delete(c.parts, k)
		}
	}
	return stalls
}
