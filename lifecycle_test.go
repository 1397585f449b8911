package kafkaworker_test

import (
	"bytes"
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

// Shutdown may be called any number of times, from several goroutines,
// during and after Run; every call returns once Run has returned, and Run
// returns nil with everything handled committed.
func TestShutdownIsIdempotent(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	const n = 300
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	var handled atomic.Int32
	h := kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		handled.Add(1)
		return nil
	})
	c, err := kafkaworker.New(baseConfig(cl, group, topic), h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(context.Background()) }()
	poll.Until(t, 30*time.Second, "all handled", func() bool { return handled.Load() == n })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Shutdown(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Shutdown #%d: %v", i, err)
		}
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	default:
		t.Fatal("Shutdown returned before Run did")
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after Run: %v", err)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
	if err := c.Run(context.Background()); !errors.Is(err, kafkaworker.ErrClosed) {
		t.Fatalf("second Run = %v, want ErrClosed", err)
	}
}

// Shutdown before Run makes Run return at once, consuming nothing.
func TestShutdownBeforeRun(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 10, nil)
	var handled atomic.Int32
	c, err := kafkaworker.New(baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		handled.Add(1)
		return nil
	}), kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after Shutdown: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run did not return promptly after an earlier Shutdown")
	}
	if h := handled.Load(); h != 0 {
		t.Fatalf("%d records handled after Shutdown", h)
	}
}

// A retry hands the handler a record of its own: a handler that kept the
// record of the first attempt (in a goroutine, say) never sees it change.
// The race detector checks the "never" part.
func TestRetryGetsItsOwnRecord(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 1, nil)
	var mu sync.Mutex
	var seen []*kafkaworker.Record
	var attempts []int
	kept := make(chan *kafkaworker.Record, 1)
	var readers sync.WaitGroup
	h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		seen = append(seen, r)
		attempts = append(attempts, r.Attempt)
		mu.Unlock()
		if r.Attempt == 1 {
			kept <- r
			readers.Go(func() {
				for range 1000 {
					_ = r.Attempt // read while later attempts run
				}
			})
			return errors.New("try again")
		}
		return nil
	})
	_, stop := startConsumer(t, baseConfig(cl, group, topic), h)
	poll.Until(t, 30*time.Second, "second attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	readers.Wait()
	first := <-kept
	if first.Attempt != 1 || seen[1] == first || attempts[1] != 2 {
		t.Fatalf("first record's Attempt %d, attempts %v, same pointer %v", first.Attempt, attempts, seen[1] == first)
	}
}

// Group callbacks passed through WithClientOptions cannot replace the
// consumer's own: if they did, the consumer would never learn of its
// assignment and would handle nothing.
func TestUserGroupCallbacksDoNotReplaceOurs(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	const n = 200
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	tr := newTracker()
	noop := func(context.Context, *kgo.Client, map[string][]int32) {}
	_, stop := startConsumer(t, baseConfig(cl, group, topic), func(_ context.Context, r *kafkaworker.Record) error {
		tr.mark(r)
		return nil
	}, kafkaworker.WithClientOptions(kgo.OnPartitionsAssigned(noop), kgo.OnPartitionsRevoked(noop),
		kgo.OnPartitionsLost(noop)))
	poll.Until(t, 30*time.Second, "all handled", func() bool { return tr.count() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if lost, dup, first := tr.check(ends); lost != 0 || dup != 0 {
		t.Fatalf("lost %d (first %s), duplicates %d", lost, first, dup)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
}

// Auto-commit through WithClientOptions is refused: it would commit what
// was fetched rather than what was handled.
func TestUserAutoCommitIsRefused(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	c, err := kafkaworker.New(baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil }),
		kafkaworker.WithLogger(testLogger()), kafkaworker.WithClientOptions(kgo.AutoCommitMarks()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "autocommit") {
		t.Fatalf("Run = %v, want a prompt error about autocommit", err)
	}
}

// MaxBufferedBytes bounds the bytes held, yet a record larger than the
// whole bound is still consumed, alone.
func TestMaxBufferedBytesBoundsAndLargeRecordsPass(t *testing.T) {
	cl := testkafka.Start(t)
	maxMsg := "8388608"
	topic, group := cl.TopicRF(t, 2, 1, map[string]*string{"max.message.bytes": &maxMsg}), cl.Name(t, "g")
	// 40 records of 64 KiB, then two of 2 MB, not compressed, so that each
	// is as large on the wire as in memory.
	prod, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...),
		kgo.ProducerBatchMaxBytes(8<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 42 {
		size := 64 << 10
		if i >= 40 {
			size = 2 << 20
		}
		v := bytes.Repeat([]byte{byte(i)}, size)
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i), Value: v}).FirstErr(); err != nil {
			t.Fatalf("producing a %d-byte record: %v", size, err)
		}
	}
	ends := cl.EndOffsets(t, topic)
	cfg := baseConfig(cl, group, topic)
	cfg.MaxBufferedBytes = 1 << 20
	cfg.MaxProcCount = 4
	release := make(chan struct{})
	var held, peakBytes atomic.Int64
	tr := newTracker()
	var c *kafkaworker.Consumer
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if b := c.Stats().BufferedBytes; b > peakBytes.Load() {
			peakBytes.Store(b)
		}
		if held.Add(1) <= 4 {
			select { // hold the first four until the buffer has filled
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		tr.mark(r)
		return nil
	})
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 30*time.Second, "the buffer filled behind four held records", func() bool {
		return c.Stats().Buffered > 4
	})
	close(release)
	poll.Until(t, 60*time.Second, "all handled", func() bool { return tr.count() >= 42 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if lost, dup, first := tr.check(ends); lost != 0 || dup != 0 {
		t.Fatalf("lost %d (first %s), duplicates %d", lost, first, dup)
	}
	// The engine holds 3/4 of the bound; a poll may overshoot by the
	// records of one poll, each no larger than the average seen; a record
	// above the bound is taken alone.
	if p := peakBytes.Load(); p > 2<<20+64<<10 {
		t.Fatalf("buffered bytes peaked at %d with MaxBufferedBytes 1 MiB", p)
	}
}
