package kafkaworker_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Out-of-order completion with random latencies: everything is processed
// exactly once, the committed offsets end equal to the end offsets, and the
// peak concurrency reaches MaxProcCount.
func TestConsumeAllOutOfOrderCommitsEndOffsets(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 12), cl.Name(t, "g")
	const n = 20000
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%1000)) })
	ends := cl.EndOffsets(t, topic)

	tr := newTracker()
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = 64
	var running, peak atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		cur := running.Add(1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond) // simulated work
		running.Add(-1)
		tr.mark(r)
		return nil
	})
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 60*time.Second, "all processed", func() bool { return tr.count() >= n })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	lost, dup, first := tr.check(ends)
	if lost != 0 || dup != 0 {
		t.Fatalf("lost %d (first %s), duplicates %d", lost, first, dup)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want end offsets %v", cl.Committed(t, group, topic), ends)
	}
	if got := peak.Load(); got != int32(cfg.MaxProcCount) {
		t.Fatalf("peak concurrency %d, want MaxProcCount %d", got, cfg.MaxProcCount)
	}
	t.Logf("tier %s: %d records, commits %d", cl.Tier(), n, c.Stats().Commits)
}

// A consumer stopped mid-stream and a new one started in the same group:
// zero records skipped, zero processed twice, in every ordering mode. At a
// graceful stop, records queued behind running ones stay unfinished while
// later ones are done: the final commit's metadata carries those, so the
// next consumer does not run them again.
func TestStopAndRestartMidStreamSkipsNothingAndRepeatsNothing(t *testing.T) {
	for _, ord := range []kafkaworker.Ordering{kafkaworker.Unordered, kafkaworker.KeyOrdered, kafkaworker.PartitionOrdered} {
		t.Run(string(ord), func(t *testing.T) { testStopAndRestart(t, ord) })
	}
}

func testStopAndRestart(t *testing.T, ord kafkaworker.Ordering) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 6), cl.Name(t, "g")
	n := 30000
	if ord == kafkaworker.PartitionOrdered {
		n = 6000 // six records at a time
	}
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%500)) })
	ends := cl.EndOffsets(t, topic)
	tr := newTracker()
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) // simulated work, 0-2 ms
		tr.mark(r)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = 64
	cfg.Ordering = ord
	rounds := 0
	var restored uint64
	for ; tr.unique() < n; rounds++ {
		if rounds > 10 {
			t.Fatal("not done after 10 restarts")
		}
		c, stop := startConsumer(t, cfg, h)
		target := min(n, tr.unique()+n/4)
		poll.Until(t, 60*time.Second, "a quarter more processed", func() bool { return tr.unique() >= target })
		if err := stop(); err != nil {
			t.Fatalf("round %d: Run: %v", rounds, err)
		}
		restored += c.Stats().Restored
	}
	lost, dup, first := tr.check(ends)
	t.Logf("tier %s, %s: %d records in %d runs, %d skipped as done by the previous run, %d handled twice", cl.Tier(), ord, n, rounds, restored, dup)
	if lost != 0 || dup != 0 {
		t.Fatalf("lost %d (first %s), handled twice %d", lost, first, dup)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
}

// Per-key order holds under random latencies on a real consume path.
func TestKeyOrderingEndToEnd(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 4), cl.Name(t, "g")
	const n, keys = 8000, 50
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%keys)) })
	var mu sync.Mutex
	last := map[string]uint64{}
	busy := map[string]bool{}
	violations := 0
	var processed atomic.Int64
	cfg := baseConfig(cl, group, topic)
	cfg.Ordering = kafkaworker.KeyOrdered
	cfg.MaxProcCount = 64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		k, s := string(r.Key), testkafka.Seq(r.Value)
		mu.Lock()
		if busy[k] || (last[k] != 0 && s <= last[k]) {
			violations++
		}
		busy[k], last[k] = true, s
		mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) // simulated work
		mu.Lock()
		busy[k] = false
		mu.Unlock()
		processed.Add(1)
		return nil
	})
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 60*time.Second, "all processed", func() bool { return processed.Load() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if violations != 0 {
		t.Fatalf("%d per-key order violations", violations)
	}
	if peak := c.Stats().PeakInFlight; peak < 8 {
		t.Fatalf("peak %d: different keys should run in parallel", peak)
	}
}

// Consumers join and leave a 12-partition group while records flow:
// nothing is left unprocessed, and duplicates come only from revokes that
// timed out (none here, so none at all), in every ordering mode.
func TestMembersJoinAndLeaveMidStream(t *testing.T) {
	for _, ord := range []kafkaworker.Ordering{kafkaworker.Unordered, kafkaworker.KeyOrdered, kafkaworker.PartitionOrdered} {
		t.Run(string(ord), func(t *testing.T) { testMembersJoinAndLeave(t, ord) })
	}
}

func testMembersJoinAndLeave(t *testing.T, ord kafkaworker.Ordering) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 12), cl.Name(t, "g")
	n := 100000
	if testing.Short() {
		n = 30000
	}
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%5000)) })
	ends := cl.EndOffsets(t, topic)
	tr := newTracker()
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if rand.IntN(100) == 0 {
			time.Sleep(time.Millisecond) // an occasional slow record
		}
		tr.mark(r)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = 50
	cfg.Ordering = ord
	var consumers []*kafkaworker.Consumer
	var stops []func() error
	start := func() {
		c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
		stops = append(stops, runConsumer(t, c))
	}
	start()
	// Membership changes at fixed fractions of the stream.
	steps := []func(){start, start, func() { stopOne(t, &stops, 0) }, start, func() { stopOne(t, &stops, 1) }}
	for i, step := range steps {
		target := n * (i + 1) / (len(steps) + 2)
		poll.Until(t, 90*time.Second, fmt.Sprintf("%d processed", target), func() bool { return tr.count() >= target })
		step()
	}
	poll.Until(t, 90*time.Second, "all processed", func() bool {
		lost, _, _ := tr.check(ends)
		return lost == 0
	})
	for i := range stops {
		if stops[i] != nil {
			if err := stops[i](); err != nil {
				t.Fatalf("consumer %d: %v", i, err)
			}
		}
	}
	var timeouts, revoked uint64
	for _, c := range consumers {
		timeouts += c.Stats().RevokeTimeouts
		revoked += c.Stats().Revoked
	}
	lost, dup, first := tr.check(ends)
	t.Logf("tier %s, %s: %d records, %d consumers, %d partitions revoked, %d revoke timeouts, %d duplicates",
		cl.Tier(), ord, n, len(consumers), revoked, timeouts, dup)
	if lost != 0 {
		t.Fatalf("lost %d records (first %s)", lost, first)
	}
	if timeouts == 0 && dup != 0 {
		t.Fatalf("%d duplicates with no revoke timing out", dup)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
}

func stopOne(t *testing.T, stops *[]func() error, i int) {
	t.Helper()
	if err := (*stops)[i](); err != nil {
		t.Fatalf("stopping consumer %d: %v", i, err)
	}
	(*stops)[i] = nil
}
