package kafkaworker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// produceTo writes n records to one partition.
func produceTo(t *testing.T, cl *testkafka.Cluster, topic string, partition int32, n int) {
	t.Helper()
	p, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range n {
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: partition, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// A paused partition fetches nothing more while the others go on; resumed,
// it catches up. Stats say which is held.
func TestPausePartitionsHoldsOneUntilResumed(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 2), cl.Name(t, "g")
	var mu sync.Mutex
	handled := map[int32]int{}
	h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		handled[r.Partition]++
		mu.Unlock()
		return nil
	})
	count := func(p int32) int {
		mu.Lock()
		defer mu.Unlock()
		return handled[p]
	}
	c, stop := startConsumer(t, baseConfig(cl, group, topic), h)
	poll.Until(t, 30*time.Second, "both partitions assigned", func() bool { return len(c.Stats().Partitions) == 2 })
	c.PausePartitions(kafkaworker.TopicPartition{Topic: topic, Partition: 0})
	produceTo(t, cl, topic, 0, 20)
	produceTo(t, cl, topic, 1, 20)
	// Partition 1's records were fetched by polls made after the pause:
	// those polls brought nothing of partition 0.
	poll.Until(t, 30*time.Second, "partition 1's records", func() bool { return count(1) == 20 })
	if n := count(0); n != 0 {
		t.Fatalf("%d records of the paused partition were handled", n)
	}
	ps := c.Stats().Partitions
	if !ps[0].Held || !ps[0].Paused || ps[1].Held || ps[1].Paused {
		t.Fatalf("stats: %+v", ps)
	}
	if all, tps := c.Paused(); all || len(tps) != 1 || tps[0].Partition != 0 {
		t.Fatalf("Paused() = %v %v", all, tps)
	}
	c.ResumeAll()
	poll.Until(t, 30*time.Second, "partition 0's records after ResumeAll", func() bool { return count(0) == 20 })
	if err := c.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := cl.Committed(t, group, topic); got[0] != 20 || got[1] != 20 {
		t.Fatalf("committed after Commit: %v, want 20 and 20", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(context.Background()); !errors.Is(err, kafkaworker.ErrNotRunning) {
		t.Fatalf("Commit after Run: %v, want ErrNotRunning", err)
	}
}

type ctxKey struct{}

// Record.Context is what the client's fetch hooks attached, and a dead
// letter is produced with it, so that a tracing hook can carry the trace on.
func TestRecordContextReachesHandlerAndDeadLetter(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dead, group := cl.Topic(t, 1), cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 1, nil)
	hooks := &ctxHooks{dead: dead, seen: make(chan any, 1)}
	got := make(chan any, 1)
	h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		got <- r.Context().Value(ctxKey{})
		return kafkaworker.Permanent(errors.New("bad record"))
	})
	cfg := baseConfig(cl, group, topic)
	cfg.DeadLetterTopic = dead
	_, stop := startConsumer(t, cfg, h, kafkaworker.WithClientOptions(kgo.WithHooks(hooks)))
	select {
	case v := <-got:
		if v != "fetched" {
			t.Fatalf("handler's Record.Context value %v, want the fetch hook's", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no record handled")
	}
	select {
	case v := <-hooks.seen:
		if v != "fetched" {
			t.Fatalf("dead letter produced with context value %v, want the fetch hook's", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no dead letter produced")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// ctxHooks tags fetched records' contexts and reports the context a dead
// letter is produced with.
type ctxHooks struct {
	dead string
	seen chan any
}

func (h *ctxHooks) OnFetchRecordBuffered(r *kgo.Record) {
	r.Context = context.WithValue(context.Background(), ctxKey{}, "fetched")
}

func (h *ctxHooks) OnProduceRecordBuffered(r *kgo.Record) {
	if r.Topic == h.dead {
		select {
		case h.seen <- r.Context.Value(ctxKey{}):
		default:
		}
	}
}
