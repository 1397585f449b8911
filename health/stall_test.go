package admin

import (
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

func TestStallDetector(t *testing.T) {
	const timeout = time.Second
	t0 := time.Unix(1_000_000, 0)
	part := func(epoch uint64, committable int64, pending int, oldest time.Duration) kafkaworker.Stats {
		return kafkaworker.Stats{Partitions: []kafkaworker.PartitionStats{{
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
			{1500 * time.Millisecond, part(1, 10, 5, 0), reasonCommit},
			{1600 * time.Millisecond, part(1, 11, 5, 0), ""}, // moved: clock restarts
		}},
		{"idle partition never stalls", []step{
			{0, part(1, 10, 0, 0), ""},
			{time.Hour, part(1, 10, 0, 0), ""},
			{time.Hour + 500*time.Millisecond, part(1, 10, 3, 0), ""}, // clock starts with pending work
			{time.Hour + 1600*time.Millisecond, part(1, 10, 3, 0), reasonCommit},
		}},
		{"long handler", []step{
			{0, part(1, 10, 5, 1500*time.Millisecond), reasonHandler},
		}},
		{"reassignment restarts the clock", []step{
			{0, part(1, 10, 5, 0), ""},
			{2 * time.Second, part(2, 10, 5, 0), ""},
			{3500 * time.Millisecond, part(2, 10, 5, 0), reasonCommit},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newStallDetector(timeout)
			for i, s := range tt.steps {
				got := d.check(s.stats, t0.Add(s.at))
				switch {
				case s.reason == "" && len(got) != 0:
					t.Fatalf("step %d: stalled %+v, want none", i, got)
				case s.reason != "" && (len(got) != 1 || got[0].Reason != s.reason || got[0].Partition != 4):
					t.Fatalf("step %d: stalled %+v, want partition 4 %q", i, got, s.reason)
				}
			}
		})
	}
}

func TestStallDetectorForgetsPartitions(t *testing.T) {
	d := newStallDetector(time.Second)
	now := time.Unix(0, 0)
	d.check(kafkaworker.Stats{Partitions: []kafkaworker.PartitionStats{{Topic: "t", Partition: 1, Pending: 1}}}, now)
	d.check(kafkaworker.Stats{}, now)
	if len(d.parts) != 0 {
		t.Fatalf("detector still remembers %v", d.parts)
	}
}
