package kafkaworker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// The group protocol the tier asks for is the one the broker runs:
// franz-go falls back to classic without a word when the broker lacks
// KIP-848 or the first balancer is not sticky or range, so a run of the
// tier with KAFKA_GROUP_PROTOCOL=consumer must show a consumer group.
func TestGroupProtocolIsTheOneConfigured(t *testing.T) {
	cl := testkafka.Start(t)
	if !cl.Real {
		t.Skip("needs the real broker: ListGroups v5 gives the group's type")
	}
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	cl.Produce(t, topic, 300, nil)
	tr := newTracker()
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		tr.mark(r)
		return nil
	}))
	poll.Until(t, 60*time.Second, "all consumed", func() bool { return tr.unique() >= 300 })
	got := cl.GroupType(t, group)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("tier %s: group type %q", cl.Tier(), got)
	if want := cl.GroupProtocol(); got != want {
		t.Fatalf("group type %q, want %q", got, want)
	}
}

// flowClock records, for each partition, who handled records when.
type flowClock struct {
	mu    sync.Mutex
	first map[int32]map[int]time.Time // partition → member → first record handled after mark
	mark  time.Time
	n     int
}

func (f *flowClock) handled(member int, p int32) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.mark.IsZero() {
		return
	}
	m := f.first[p]
	if m == nil {
		m = map[int]time.Time{}
		f.first[p] = m
	}
	if _, ok := m[member]; !ok {
		m[member] = now
	}
}

func (f *flowClock) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *flowClock) start() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mark = time.Now()
	f.first = map[int32]map[int]time.Time{}
	return f.mark
}

// settled reports whether every partition had a record handled since mark,
// and member 2 handled records of want partitions; pause is then the time
// from mark until the last partition member 2 took over flowed, and moved
// the partitions it took.
// first is the time from mark until member 2 handled its first record.
func (f *flowClock) settled(partitions int32, want int) (ok bool, first, pause time.Duration, moved []int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	first = time.Duration(1<<63 - 1)
	for p := range partitions {
		m := f.first[p]
		if len(m) == 0 {
			return false, 0, 0, nil
		}
		if at, ok := m[2]; ok {
			moved = append(moved, p)
			pause = max(pause, at.Sub(f.mark))
			first = min(first, at.Sub(f.mark))
		}
	}
	sort.Slice(moved, func(i, j int) bool { return moved[i] < moved[j] })
	return len(moved) >= want, first, pause, moved
}

// The rebalance pause: one member consumes a backlog on 12 partitions, a
// second joins; the pause is the time from the second member's start until
// every partition it takes over is flowing again (those the first keeps
// never stop: both protocols are incremental). Reported, not asserted: the
// test fails only if the partitions do not flow again, or are not shared.
// KAFKA_GROUP_PROTOCOL picks the protocol; a fast and a slow handler.
func TestRebalancePauseWhenAMemberJoins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		work  func() time.Duration
		procs int
		n     int
	}{
		// About 4,000 records/s: the backlog outlasts the test.
		{"fast handler", func() time.Duration { return time.Millisecond }, 4, 150000},
		// 100 ms a record, 64 at once: a revoke waits on records in flight.
		{"slow handler", func() time.Duration { return time.Duration(50+rand.IntN(100)) * time.Millisecond }, 64, 40000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := testkafka.Start(t)
			if !cl.Real {
				t.Skip("a timing report for the real broker")
			}
			const partitions = 12
			topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
			cl.Produce(t, topic, tc.n, func(i int) []byte { return []byte(fmt.Sprint("k", i%1000)) })
			fc := &flowClock{}
			cfg := baseConfig(cl, group, topic)
			cfg.MaxProcCount = tc.procs
			member := func(id int) kafkaworker.HandlerFunc {
				return func(ctx context.Context, r *kafkaworker.Record) error {
					time.Sleep(tc.work())
					fc.handled(id, r.Partition)
					return nil
				}
			}
			_, stop1 := startConsumer(t, cfg, member(1))
			poll.Until(t, 60*time.Second, "the first member consuming", func() bool { return fc.count() >= 500 })
			fc.start()
			_, stop2 := startConsumer(t, cfg, member(2))
			var first, pause time.Duration
			var moved []int32
			if !poll.For(120*time.Second, func() bool {
				var ok bool
				ok, first, pause, moved = fc.settled(partitions, partitions/2)
				return ok
			}) {
				t.Fatalf("120s after the second member started: it flows on %v (want %d partitions), every partition flowing: %v", moved, partitions/2, fc.everyPartition(partitions))
			}
			handled := fc.count()
			if err := stop2(); err != nil {
				t.Fatal(err)
			}
			if err := stop1(); err != nil {
				t.Fatal(err)
			}
			t.Logf("tier %s, %s: a member joined; %d partitions moved %v; its first record %v after its start, every moved partition flowing %v after its start",
				cl.Tier(), tc.name, len(moved), moved, first.Round(time.Millisecond), pause.Round(time.Millisecond))
			if handled >= tc.n {
				t.Fatalf("the backlog of %d ran out during the measurement: the pause is not measured", tc.n)
			}
		})
	}
}

func (f *flowClock) everyPartition(partitions int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p := range partitions {
		if len(f.first[p]) == 0 {
			return false
		}
	}
	return true
}
