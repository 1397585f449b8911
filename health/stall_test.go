package health

import (
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// fakeClock is a Checker's clock, moved by the test.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestStallRules(t *testing.T) {
	const timeout = time.Second
	t0 := time.Unix(1_000_000, 0)
	part := func(epoch uint64, committable int64, pending int, oldest time.Duration) kafkaworker.Stats {
		return kafkaworker.Stats{Running: true, Joins: 1, Partitions: []kafkaworker.PartitionStats{{
			Topic: "t", Partition: 4, Epoch: epoch, Committable: committable, Pending: pending, OldestInFlight: oldest,
		}}}
	}
	type step struct {
		at     time.Duration
		stats  kafkaworker.Stats
		reason string // "" when not stalled
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"moving commit point", []step{
			{0, part(1, 10, 5, 0), ""},
			{800 * time.Millisecond, part(1, 20, 5, 0), ""},
			{1600 * time.Millisecond, part(1, 30, 5, 0), ""},
		}},
		{"stuck commit point with pending records", []step{
			{0, part(1, 10, 5, 0), ""},
			{time.Second, part(1, 10, 5, 0), ""}, // not longer than timeout yet
			{1500 * time.Millisecond, part(1, 10, 5, 0), ReasonCommit},
			{1600 * time.Millisecond, part(1, 11, 5, 0), ""}, // moved: clock restarts
		}},
		{"idle partition never stalls", []step{
			{0, part(1, 10, 0, 0), ""},
			{time.Hour, part(1, 10, 0, 0), ""},
			{time.Hour + 500*time.Millisecond, part(1, 10, 3, 0), ""}, // clock starts with pending work
			{time.Hour + 1600*time.Millisecond, part(1, 10, 3, 0), ReasonCommit},
		}},
		{"long handler", []step{
			{0, part(1, 10, 5, 1500*time.Millisecond), ReasonHandler},
		}},
		{"reassignment restarts the clock", []step{
			{0, part(1, 10, 5, 0), ""},
			{2 * time.Second, part(2, 10, 5, 0), ""},
			{3500 * time.Millisecond, part(2, 10, 5, 0), ReasonCommit},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{}
			var stats kafkaworker.Stats
			c := newChecker(func() kafkaworker.Stats { return stats }, clock.now, timeout)
			for i, s := range tt.steps {
				stats, clock.t = s.stats, t0.Add(s.at)
				r := c.Check()
				switch {
				case s.reason == "" && (len(r.Stalled) != 0 || r.Status != Ready):
					t.Fatalf("step %d: %+v, want ready", i, r)
				case s.reason != "" && (r.Status != Stalled || len(r.Stalled) != 1 || r.Stalled[0].Reason != s.reason || r.Stalled[0].Partition != 4):
					t.Fatalf("step %d: %+v, want partition 4 stalled: %q", i, r, s.reason)
				}
			}
		})
	}
}

func TestCheckerForgetsPartitions(t *testing.T) {
	stats := kafkaworker.Stats{Partitions: []kafkaworker.PartitionStats{{Topic: "t", Partition: 1, Pending: 1}}}
	c := newChecker(func() kafkaworker.Stats { return stats }, (&fakeClock{}).now, time.Second)
	c.Check()
	stats = kafkaworker.Stats{}
	c.Check()
	if len(c.parts) != 0 {
		t.Fatalf("the checker still remembers %v", c.parts)
	}
}
