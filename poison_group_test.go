// One poison record fed to a 3-member group, under each failure policy: the
// measurement behind BlockPolicy being the default without a dead-letter
// topic (Config.FailurePolicy). Both run on kfake and on the real broker
// (KAFKA_BOOTSTRAP_SERVERS).
package kafkaworker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

const poisonSeq = 42

// poisonGroup is a topic of 3 partitions holding n records, one of them
// poison (it fails every attempt), and a handler that says where it is.
type poisonGroup struct {
	cl               *testkafka.Cluster
	topic, group     string
	ends             map[int32]int64
	where            atomic.Pointer[[2]int64] // partition, offset of the poison record
	others, poisoned atomic.Int64             // calls: good records, the poison record
	handler          kafkaworker.HandlerFunc
	n                int
}

func newPoisonGroup(t *testing.T, n int) *poisonGroup {
	cl := testkafka.Start(t)
	g := &poisonGroup{cl: cl, topic: cl.Topic(t, 3), group: cl.Name(t, "g"), n: n}
	cl.Produce(t, g.topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i)) })
	g.ends = cl.EndOffsets(t, g.topic)
	g.handler = func(ctx context.Context, r *kafkaworker.Record) error {
		if testkafka.Seq(r.Value) == poisonSeq {
			g.where.Store(&[2]int64{int64(r.Partition), r.Offset})
			g.poisoned.Add(1)
			return errors.New("cannot parse order 42")
		}
		g.others.Add(1)
		return nil
	}
	return g
}

func (g *poisonGroup) config() kafkaworker.Config {
	cfg := baseConfig(g.cl, g.group, g.topic)
	cfg.MaxRetries = 1
	return cfg
}

// Under stop, the member that owns the poison record's partition exits; a
// supervisor restarts it (as Kubernetes restarts a pod), and meanwhile the
// partition has moved to another member, which exits in turn. The test
// counts exits until there have been twice as many as members.
func TestPoisonRecordUnderStopTakesMembersDownInTurn(t *testing.T) {
	g := newPoisonGroup(t, 300)
	cfg := g.config()
	cfg.FailurePolicy = kafkaworker.StopPolicy
	const members, wantExits = 3, 6
	var exits atomic.Int32
	var exitsBy [members]atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := kafkaworker.New(cfg, g.handler, kafkaworker.WithLogger(testLogger()))
				if err != nil {
					t.Error(err)
					return
				}
				err = c.Run(ctx)
				switch {
				case errors.Is(err, kafkaworker.ErrRecordFailed):
					exits.Add(1)
					exitsBy[m].Add(1)
				case err != nil && ctx.Err() == nil:
					t.Errorf("member %d: %v", m, err)
					return
				}
			}
		}()
	}
	poll.Until(t, 120*time.Second, fmt.Sprintf("%d member exits", wantExits), func() bool { return exits.Load() >= wantExits })
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	w := g.where.Load()
	committed := g.cl.Committed(t, g.group, g.topic)
	t.Logf("tier %s, stop: %d exits in %s (by member %d, %d, %d); poison record %d@%d tried %d times; partition committed at %d",
		g.cl.Tier(), exits.Load(), elapsed.Round(time.Millisecond), exitsBy[0].Load(), exitsBy[1].Load(), exitsBy[2].Load(),
		w[0], w[1], g.poisoned.Load(), committed[int32(w[0])])
	if committed[int32(w[0])] > w[1] {
		t.Fatalf("the poison record's partition committed past it: %d > %d", committed[int32(w[0])], w[1])
	}
}

// Under block (the default without a dead-letter topic) no member exits:
// every other partition is processed and committed to its end, the poison
// partition's commit point waits at the poison record, which one member
// lists in Stats; releasing it there lets the commit reach the end.
func TestPoisonRecordUnderBlockKeepsTheGroupFlowing(t *testing.T) {
	g := newPoisonGroup(t, 300)
	cfg := g.config()
	if p := cfg.WithDefaults().FailurePolicy; p != kafkaworker.BlockPolicy {
		t.Fatalf("default FailurePolicy without a dead-letter topic is %q, want block", p)
	}
	var cs []*kafkaworker.Consumer
	var stops []func() error
	for range 3 {
		c, stop := startConsumer(t, cfg, g.handler)
		cs, stops = append(cs, c), append(stops, stop)
	}
	poll.Until(t, 60*time.Second, "the poison record blocked", func() bool { return g.where.Load() != nil })
	w := g.where.Load()
	pp, po := int32(w[0]), w[1]
	poll.Until(t, 60*time.Second, "every other partition committed to its end, the poison one up to it", func() bool {
		offs := g.cl.Committed(t, g.group, g.topic)
		for p, end := range g.ends {
			if want := map[bool]int64{true: po, false: end}[p == pp]; offs[p] != want {
				return false
			}
		}
		return true
	})
	// The owner lists it: coordinates, attempts, error.
	var owner *kafkaworker.Consumer
	poll.Until(t, 30*time.Second, "the owner listing the blocked record", func() bool {
		for _, c := range cs {
			for _, p := range c.Stats().Partitions {
				if p.Partition == pp && len(p.Blocked) == 1 && p.Blocked[0].Offset == po && p.Blocked[0].Attempts >= 2 {
					owner = c
					return true
				}
			}
		}
		return false
	})
	if n := g.others.Load(); n < int64(g.n-1) {
		t.Fatalf("%d good records processed, want all %d", n, g.n-1)
	}
	blockedFor := g.poisoned.Load()
	if err := owner.Release(g.topic, pp, po, kafkaworker.SkipPolicy); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "all committed after the release", func() bool { return committedAll(g.cl, g.group, g.topic, g.ends) })
	for i, stop := range stops {
		if err := stop(); err != nil {
			t.Fatalf("member %d exited: %v", i, err)
		}
	}
	var released uint64
	for _, c := range cs {
		released += c.Stats().Unblocked
	}
	t.Logf("tier %s, block: 0 exits; poison record %d@%d tried %d times while the other partitions reached their end; released: %d",
		g.cl.Tier(), pp, po, blockedFor, released)
	if released != 1 {
		t.Fatalf("released %d, want 1", released)
	}
}
