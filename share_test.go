package kafkaworker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

func shareConfig(cl *testkafka.Cluster, group, topic string) kafkaworker.Config {
	cfg := baseConfig(cl, group, topic)
	cfg.GroupType = kafkaworker.ShareGroup
	cfg.ShareMembers = 2
	cfg.MaxProcCount = 20
	return cfg
}

// sumStats adds up the share counters of consumers.
func sumStats(cs []*kafkaworker.Consumer) (s kafkaworker.Stats) {
	for _, c := range cs {
		st := c.Stats()
		s.Acquired += st.Acquired
		s.Accepted += st.Accepted
		s.Released += st.Released
		s.Retried += st.Retried
		for i := range s.Deliveries {
			s.Deliveries[i] += st.Deliveries[i]
		}
	}
	return s
}

// Share mode with 1, 3 and 5 consumers and a flaky handler (2% of records
// fail their first delivery): every record succeeds (lost = 0), and every
// record is accepted once and only after it succeeded.
func TestShareGroupLosesNothing(t *testing.T) {
	for _, consumers := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(consumers, "-consumers"), func(t *testing.T) {
			cl := testkafka.Start(t)
			topic, group := cl.Topic(t, 6), cl.Name(t, "sg")
			const n = 3000
			cl.Produce(t, topic, n, nil)
			ends := cl.EndOffsets(t, topic)
			tr := newTracker()
			var failed atomic.Int64
			h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
				if testkafka.Seq(r.Value)%50 == 7 && r.Attempt == 1 {
					failed.Add(1)
					return errors.New("flaky")
				}
				tr.mark(r)
				return nil
			})
			var cs []*kafkaworker.Consumer
			var stops []func() error
			for range consumers {
				c, err := kafkaworker.New(shareConfig(cl, group, topic), h, kafkaworker.WithLogger(testLogger()))
				if err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
				stops = append(stops, runConsumer(t, c))
			}
			poll.Until(t, 90*time.Second, "every record handled", func() bool {
				lost, _, _ := tr.check(ends)
				return lost == 0
			})
			poll.Until(t, 30*time.Second, "every record accepted", func() bool {
				return sumStats(cs).Accepted >= n
			})
			for i, stop := range stops {
				if err := stop(); err != nil {
					t.Fatalf("consumer %d: Run: %v", i, err)
				}
			}
			lost, dup, first := tr.check(ends)
			s := sumStats(cs)
			t.Logf("%s, %d consumers: lost=%d duplicates=%d failed=%d acquired=%d accepted=%d released=%d retried=%d deliveries=%v",
				cl.Tier(), consumers, lost, dup, failed.Load(), s.Acquired, s.Accepted, s.Released, s.Retried, s.Deliveries)
			if lost != 0 {
				t.Fatalf("lost %d records, first %s", lost, first)
			}
			if failed.Load() == 0 || s.Retried == 0 {
				t.Fatalf("the flaky handler failed %d times, %d retries: the test proves nothing", failed.Load(), s.Retried)
			}
			if s.Accepted != uint64(n+dup) {
				t.Fatalf("accepted %d, want one per success (%d)", s.Accepted, n+dup)
			}
			// The broker's view: every record acknowledged, the share
			// group's start offsets at the end offsets.
			if !poll.For(30*time.Second, func() bool { return shareAcknowledgedAll(cl, group, topic, ends) }) {
				t.Fatalf("share start offsets %v, end offsets %v", shareStart(cl, group, topic), ends)
			}
		})
	}
}

// The failure policies in share mode: skip rejects a record that keeps
// failing; dead-letter produces it, then accepts it; stop releases it and
// Run returns the error.
func TestShareFailurePolicies(t *testing.T) {
	for _, policy := range []kafkaworker.FailurePolicy{kafkaworker.SkipPolicy, kafkaworker.DeadLetterPolicy, kafkaworker.StopPolicy} {
		t.Run(string(policy), func(t *testing.T) {
			cl := testkafka.Start(t)
			topic, group := cl.Topic(t, 1), cl.Name(t, "sg")
			const n = 20
			cl.Produce(t, topic, n, nil)
			var dlq string
			cfg := shareConfig(cl, group, topic)
			cfg.FailurePolicy, cfg.MaxRetries = policy, 1
			if policy == kafkaworker.DeadLetterPolicy {
				dlq = cl.Topic(t, 1)
				cfg.DeadLetterTopic = dlq
			}
			var ok atomic.Int64
			var attempts sync.Map
			h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
				if testkafka.Seq(r.Value) == 5 {
					attempts.Store(r.Attempt, true)
					return errors.New("always fails")
				}
				ok.Add(1)
				return nil
			})
			c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			if policy == kafkaworker.StopPolicy {
				var err error
				select {
				case err = <-done:
				case <-time.After(60 * time.Second):
					t.Fatal("Run did not stop on the failing record")
				}
				if !errors.Is(err, kafkaworker.ErrRecordFailed) {
					t.Fatalf("Run = %v, want ErrRecordFailed", err)
				}
				if s := c.Stats(); s.Released == 0 {
					t.Fatalf("the failed record was not released: %+v", s)
				}
				return
			}
			poll.Until(t, 60*time.Second, "all acknowledged", func() bool { s := c.Stats(); return s.Accepted+s.Rejected == n })
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			s := c.Stats()
			if _, ok := attempts.Load(2); !ok || s.Failed != 1 {
				t.Fatalf("failed %d, want 1 after a retry (Attempt 2)", s.Failed)
			}
			if policy == kafkaworker.DeadLetterPolicy {
				if s.DeadLettered != 1 || cl.EndOffsets(t, dlq)[0] != 1 {
					t.Fatalf("dead-lettered %d, topic holds %v", s.DeadLettered, cl.EndOffsets(t, dlq))
				}
			} else if s.Skipped != 1 || s.Rejected != 1 || s.Accepted != n-1 {
				t.Fatalf("skipped %d, rejected %d, accepted %d; want 1, 1, %d", s.Skipped, s.Rejected, s.Accepted, n-1)
			}
			if policy == kafkaworker.DeadLetterPolicy && (s.Rejected != 0 || s.Accepted != n) {
				t.Fatalf("dead-letter: rejected %d, accepted %d; want 0, %d", s.Rejected, s.Accepted, n)
			}
		})
	}
}

// A record released by one member comes back with its delivery count as
// Attempt: the stop policy releases it, and a second consumer of the same
// share group then receives it with Attempt 2 or more (the first
// consumer's other member may have acquired it again before it closed,
// which counts as a delivery too), where a local count would say 1.
func TestShareRedeliveryCountsAttempts(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "sg")
	cl.Produce(t, topic, 1, nil)
	cfg := shareConfig(cl, group, topic)
	cfg.FailurePolicy, cfg.MaxRetries = kafkaworker.StopPolicy, -1
	first, err := kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		return errors.New("not here")
	}), kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Run(context.Background()); !errors.Is(err, kafkaworker.ErrRecordFailed) {
		t.Fatalf("first Run = %v, want ErrRecordFailed", err)
	}
	got := make(chan int, 1)
	second, err := kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		select {
		case got <- r.Attempt:
		default:
		}
		return nil
	}), kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, second)
	select {
	case a := <-got:
		if a < 2 {
			t.Fatalf("redelivered record has Attempt %d, want the broker's delivery count, 2 or more", a)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the released record never came back")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// newClientHook counts the clients it was installed in.
type newClientHook struct{ n atomic.Int32 }

func (h *newClientHook) OnNewClient(*kgo.Client) { h.n.Add(1) }

// The user's client options reach one share client only: a metrics hook
// such as kprom, which registers its series once per process, panics when
// installed in a second client.
func TestShareClientOptionsApplyOnce(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "sg")
	cl.Produce(t, topic, 10, nil)
	hook := &newClientHook{}
	cfg := shareConfig(cl, group, topic)
	cfg.ShareMembers = 3
	var handled atomic.Int32
	c, stop := startConsumer(t, cfg, kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		handled.Add(1)
		return nil
	}), kafkaworker.WithClientOptions(kgo.WithHooks(hook)))
	poll.Until(t, 60*time.Second, "all handled", func() bool { return handled.Load() >= 10 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := hook.n.Load(); n != 1 {
		t.Fatalf("the user's hook was installed in %d clients, want 1 (stats %+v)", n, c.Stats())
	}
}

// shareAcknowledgedAll reports whether the broker counts every record of
// topic acknowledged by the share group: its lag is 0, or its start offset
// (below which every record is acknowledged) is the end offset. Kafka 4.4
// persists the start offset lazily: after the last acknowledgements it can
// stay a batch or two behind, acknowledged records above it, until the next
// acknowledgement moves it (a later consumer then gets only newer records),
// while the lag it reports is already 0.
func shareAcknowledgedAll(cl *testkafka.Cluster, group, topic string, ends map[int32]int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := cl.Admin().DescribeShareGroupOffsets(ctx, group)
	if err != nil || d.Error() != nil {
		return false
	}
	for p, end := range ends {
		o, ok := d[group].Offsets.Lookup(topic, p)
		if end > 0 && (!ok || o.Err != nil || (o.StartOffset != end && o.Lag != 0)) {
			return false
		}
	}
	return true
}

func shareStart(cl *testkafka.Cluster, group, topic string) map[int32]int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[int32]int64{}
	d, err := cl.Admin().DescribeShareGroupOffsets(ctx, group)
	if err != nil {
		return out
	}
	for p, o := range d[group].Offsets[topic] {
		out[p] = o.StartOffset
		out[-1-p] = o.Lag // negative keys: the lags, for the message
	}
	return out
}
