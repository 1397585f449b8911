//go:build unix

// A consumed topic deleted under a running consumer: it neither crashes nor
// spins (measured with getrusage(2), hence unix only), and still shuts down
// promptly.

package kafkaworker_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// A topic deleted under a running consumer, with everything committed or
// with a record still running: the consumer neither crashes nor spins, and
// Run still returns promptly when asked to stop, with nil or with an error
// naming the topic (the final commit of a deleted partition fails).
func TestBadInputTopicDeletedWhileConsuming(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		t.Run(fmt.Sprintf("in flight %t", inFlight), func(t *testing.T) { topicDeleted(t, inFlight) })
	}
}

func topicDeleted(t *testing.T, inFlight bool) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	const n = 300
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	// With inFlight, the last record of the fullest partition is held
	// until the topic is gone.
	var hp int32
	for p, end := range ends {
		if end > ends[hp] {
			hp = p
		}
	}
	held, release := make(chan struct{}), make(chan struct{})
	var processed atomic.Int64
	c, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		if inFlight && r.Partition == hp && r.Offset == ends[hp]-1 {
			close(held)
			<-release
		}
		processed.Add(1)
		return nil
	}))
	want, wantProcessed := maps.Clone(ends), int64(n)
	if inFlight {
		want[hp]--
		wantProcessed--
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("the record to hold never came")
		}
	}
	poll.Until(t, 30*time.Second, "all committed but the held record", func() bool {
		return processed.Load() == wantProcessed && committedAll(cl, group, topic, want)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Admin().DeleteTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	waitTopicGone(t, cl, topic)
	if inFlight {
		close(release) // it finishes after its partition is gone
	}
	// Watch the consumer for a while with the topic gone: it must stay up
	// and idle.
	const watch = 2 * time.Second
	cpu0, t0 := cpuTime(t), time.Now()
	for time.Since(t0) < watch {
		if s := c.Stats(); !s.Running {
			t.Fatalf("the consumer stopped running after its topic was deleted: %+v", s)
		}
		time.Sleep(50 * time.Millisecond) // sampling, not synchronisation
	}
	wall, cpu := time.Since(t0), cpuTime(t)-cpu0
	s := c.Stats()
	t.Logf("tier %s: topic deleted; over %s the process used %s CPU; partitions %d, revoked %d, lost %d, commits %d, commit errors %d",
		cl.Tier(), wall.Round(time.Millisecond), cpu.Round(time.Millisecond), len(s.Partitions), s.Revoked, s.Lost, s.Commits, s.CommitErrors)
	if cpu > wall/2 {
		t.Fatalf("%s of CPU in %s after the topic was deleted: the consumer spins", cpu, wall)
	}
	if s.CommitErrors > 10 {
		t.Fatalf("%d commit errors in %s: commits of the deleted topic are retried without backoff", s.CommitErrors, wall)
	}
	t0 = time.Now()
	err := stop()
	d := time.Since(t0)
	t.Logf("shutdown took %s: Run = %v", d.Round(time.Millisecond), err)
	if err != nil && !strings.Contains(err.Error(), topic) {
		t.Fatalf("Run after the topic was deleted = %v, want nil or an error naming the topic", err)
	}
	if d > 10*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
	if got := processed.Load(); got != n {
		t.Fatalf("processed %d records, want %d (nothing new after the deletion)", got, n)
	}
}
