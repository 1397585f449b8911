package kafkaworker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

var errPoisonInBatch = errors.New("batch holds a poison record")

// 0.1% poison records in a stream handled in batches, as one transaction
// per batch that fails whole: bisection isolates them, and exactly the
// poison records reach the dead-letter topic; every batch keeps key order
// (never two records of one key); everything is committed.
func TestBatchPoisonRecordsAloneReachTheDeadLetterTopic(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt, group := cl.Topic(t, 3), cl.Topic(t, 1), cl.Name(t, "g")
	const n, keys = 10000, 1000
	isPoison := func(seq uint64) bool { return seq%1000 == 7 }
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%keys)) })
	ends := cl.EndOffsets(t, topic)
	var mu sync.Mutex
	done := map[uint64]int{}
	var calls, twoOfAKey atomic.Int64
	h := kafkaworker.BatchHandlerFunc(func(ctx context.Context, recs []*kafkaworker.Record) error {
		calls.Add(1)
		seen := map[string]bool{}
		for _, r := range recs {
			if seen[string(r.Key)] {
				twoOfAKey.Add(1)
			}
			seen[string(r.Key)] = true
			if isPoison(testkafka.Seq(r.Value)) {
				return errPoisonInBatch
			}
		}
		mu.Lock()
		for _, r := range recs {
			done[testkafka.Seq(r.Value)]++
		}
		mu.Unlock()
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.Ordering = kafkaworker.KeyOrdered
	cfg.MaxProcCount = 200
	cfg.DeadLetterTopic = dlt
	cfg.MaxRetries = 1
	c := batchToEnd(t, cl, cfg, h, ends, 60*time.Second)
	s := c.Stats()
	t.Logf("tier %s: %d records in %d batch calls (bisections included); %d dead-lettered", cl.Tier(), n, calls.Load(), s.DeadLettered)
	if twoOfAKey.Load() != 0 {
		t.Fatalf("%d batches held two records of one key", twoOfAKey.Load())
	}
	if s.DeadLettered != n/1000 {
		t.Fatalf("dead-lettered %d, want %d", s.DeadLettered, n/1000)
	}
	for seq := range uint64(n) {
		if want := map[bool]int{true: 0, false: 1}[isPoison(seq)]; done[seq] < want || (want == 0 && done[seq] != 0) {
			t.Fatalf("record %d handled %d times", seq, done[seq])
		}
	}
	if calls.Load() >= n/2 {
		t.Fatalf("%d batch calls for %d records: records were not batched", calls.Load(), n)
	}
	// The dead-letter topic holds exactly the poison records.
	rd, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...), kgo.ConsumeTopics(dlt),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var dead []uint64
	for len(dead) < n/1000 {
		fs := rd.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { dead = append(dead, testkafka.Seq(r.Value)) })
	}
	for _, seq := range dead {
		if !isPoison(seq) {
			t.Fatalf("dead letters %v: %d is not poison", dead, seq)
		}
	}
}

// A *BatchError gives each record its own result: the failed ones are
// retried alone; the others are done.
func TestBatchErrorPerRecord(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	const n = 200
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	var alone, failedOnce atomic.Int64
	h := kafkaworker.BatchHandlerFunc(func(ctx context.Context, recs []*kafkaworker.Record) error {
		if len(recs) == 1 && recs[0].Attempt > 1 {
			alone.Add(1)
			return nil
		}
		be := &kafkaworker.BatchError{Errs: map[int]error{}}
		for i, r := range recs {
			if testkafka.Seq(r.Value)%10 == 0 {
				be.Errs[i] = errors.New("constraint violated")
				failedOnce.Add(1)
			}
		}
		if len(be.Errs) == 0 {
			return nil
		}
		return be
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = 50
	c := batchToEnd(t, cl, cfg, h, ends, 30*time.Second)
	if s := c.Stats(); failedOnce.Load() != n/10 || alone.Load() != n/10 || s.Retried != n/10 || s.Processed != n {
		t.Fatalf("failed once %d, retried alone %d, retried %d, processed %d", failedOnce.Load(), alone.Load(), s.Retried, s.Processed)
	}
}

func TestBatchErrorMessage(t *testing.T) {
	err := &kafkaworker.BatchError{Errs: map[int]error{4: errors.New("b"), 1: errors.New("a"), 2: nil}}
	if got := err.Error(); got != "2 records of the batch failed; [1]: a; [4]: b" {
		t.Fatalf("%q", got)
	}
}

// A batch that answers RetryAfter is not bisected: every record waits out
// the pause and is retried, none fails.
func TestBatchRetryAfterIsNotBisected(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	const n = 50
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	var mu sync.Mutex
	held := map[int64]bool{} // offsets of the throttled batch
	var bisected atomic.Int64
	h := kafkaworker.BatchHandlerFunc(func(ctx context.Context, recs []*kafkaworker.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if len(held) == 0 {
			for _, r := range recs {
				held[r.Offset] = true
			}
			return kafkaworker.RetryAfter(10*time.Millisecond, errors.New("429"))
		}
		for _, r := range recs {
			if held[r.Offset] && r.Attempt == 1 {
				bisected.Add(1) // a part of the throttled batch, tried again as such
			}
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = n
	cfg.MaxBatchSize = n
	cfg.MaxRetries = -1
	cfg.FailurePolicy = kafkaworker.StopPolicy
	c := batchToEnd(t, cl, cfg, h, ends, 30*time.Second)
	if s := c.Stats(); bisected.Load() != 0 || s.Failed != 0 || s.Processed != n || s.Holds != 1 {
		t.Fatalf("%d records of the throttled batch tried again in part of it; failed %d, processed %d, holds %d",
			bisected.Load(), s.Failed, s.Processed, s.Holds)
	}
}

// batchToEnd runs a batch consumer on cfg's group and topic until every end
// offset is committed (within limit), stops it, and returns it for its
// Stats.
func batchToEnd(t *testing.T, cl *testkafka.Cluster, cfg kafkaworker.Config, h kafkaworker.BatchHandler, ends map[int32]int64, limit time.Duration) *kafkaworker.Consumer {
	t.Helper()
	c, err := kafkaworker.NewBatch(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, c)
	poll.Until(t, limit, "all committed", func() bool { return committedAll(cl, cfg.GroupID, cfg.Topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return c
}
