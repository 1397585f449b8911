package kafkaworker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
)

// The examples run on an in-process Kafka cluster (franz-go's kfake), so
// that their output is checked by go test.

// exampleCluster starts an in-process cluster holding the topics, each
// with the given partitions, produces records to it (Partition as set) and
// returns its bootstrap servers and a function that stops it.
func exampleCluster(partitions int32, topics []string, records ...*kgo.Record) (seeds string, stop func()) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		panic(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), records...).FirstErr(); err != nil {
		panic(err)
	}
	return strings.Join(c.ListenAddrs(), ","), c.Close
}

// logger keeps the consumer's logs out of the examples' output.
var logger = slog.New(slog.DiscardHandler)

// A consumer of one topic: a handler, the three settings a Config needs,
// and Run until the context ends. Here the context ends once every record
// is done; in a service it ends on SIGTERM.
func Example() {
	seeds, stop := exampleCluster(3, []string{"orders"},
		&kgo.Record{Topic: "orders", Partition: 0, Value: []byte("order 1")},
		&kgo.Record{Topic: "orders", Partition: 1, Value: []byte("order 2")},
		&kgo.Record{Topic: "orders", Partition: 2, Value: []byte("order 3")},
		&kgo.Record{Topic: "orders", Partition: 0, Value: []byte("order 4")},
	)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu   sync.Mutex
		done []string
	)
	// The handler runs on many goroutines at once: it must be safe for
	// concurrent use.
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		defer mu.Unlock()
		done = append(done, string(r.Value))
		if len(done) == 4 {
			cancel() // all done: shut down
		}
		return nil
	})

	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: seeds,
		GroupID:          "billing",
		Topic:            "orders",
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Run returns after the graceful shutdown: handlers finished, offsets
	// committed, group left.
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(done) // handlers ran in parallel, in any order
	fmt.Println(strings.Join(done, ", "))
	fmt.Println("processed:", c.Stats().Processed)
	// Output:
	// order 1, order 2, order 3, order 4
	// processed: 4
}

// KeyOrdered runs the records of one key one at a time, in offset order,
// and records of different keys in parallel: each account's events are
// applied in the order they were produced, although the whole partition
// is not serialised.
func Example_keyOrdering() {
	var records []*kgo.Record
	for i := 1; i <= 3; i++ {
		for _, account := range []string{"alice", "bob", "carol"} {
			records = append(records, &kgo.Record{Topic: "ledger", Key: []byte(account), Value: fmt.Appendf(nil, "%s event %d", account, i)})
		}
	}
	seeds, stop := exampleCluster(1, []string{"ledger"}, records...)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		applied = map[string][]string{} // account -> events, in the order applied
		n       int
	)
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		defer mu.Unlock()
		applied[string(r.Key)] = append(applied[string(r.Key)], string(r.Value))
		if n++; n == len(records) {
			cancel()
		}
		return nil
	})
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: seeds,
		GroupID:          "ledger-applier",
		Topic:            "ledger",
		Ordering:         kafkaworker.KeyOrdered,
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for _, account := range []string{"alice", "bob", "carol"} {
		fmt.Println(strings.Join(applied[account], ", "))
	}
	// Output:
	// alice event 1, alice event 2, alice event 3
	// bob event 1, bob event 2, bob event 3
	// carol event 1, carol event 2, carol event 3
}

// A record that no retry will fix goes to the dead-letter topic, with
// headers that say why and where it came from, and the consumer moves on.
// Permanent skips the retries; a plain error would be retried MaxRetries
// times first.
func Example_deadLetter() {
	seeds, stop := exampleCluster(1, []string{"payments", "payments-dlt"},
		&kgo.Record{Topic: "payments", Value: []byte(`{"id":1,"amount":10}`)},
		&kgo.Record{Topic: "payments", Value: []byte(`{"id":2,"amount":`)}, // truncated
		&kgo.Record{Topic: "payments", Value: []byte(`{"id":3,"amount":30}`)},
	)
	defer stop()

	var paid atomic.Int64
	allPaid := make(chan struct{}) // closed once the two good payments are in
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		var p struct{ ID, Amount int }
		if err := json.Unmarshal(r.Value, &p); err != nil {
			return kafkaworker.Permanent(errors.New("malformed payment"))
		}
		if paid.Add(int64(p.Amount)) == 40 {
			close(allPaid)
		}
		return nil
	})
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: seeds,
		GroupID:          "payments",
		Topic:            "payments",
		FailurePolicy:    kafkaworker.DeadLetterPolicy, // the default once DeadLetterTopic is set
		DeadLetterTopic:  "payments-dlt",
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	// Read the dead letter back, as whoever repairs payments would.
	dlt, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(seeds, ",")...), kgo.ConsumeTopics("payments-dlt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dlt.Close()
	r := dlt.PollFetches(context.Background()).Records()[0]
	fmt.Printf("dead letter: %s\n", r.Value)
	for _, h := range r.Headers {
		if h.Key != "kafkaworker.failed.at" { // a time: left out here
			fmt.Printf("  %s: %s\n", h.Key, h.Value)
		}
	}

	<-allPaid
	cancel()
	if err := <-done; err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("paid:", paid.Load())
	// Output:
	// dead letter: {"id":2,"amount":
	//   kafkaworker.error: malformed payment
	//   kafkaworker.original.topic: payments
	//   kafkaworker.original.partition: 0
	//   kafkaworker.original.offset: 1
	//   kafkaworker.attempts: 1
	// paid: 40
}

// Without a dead-letter topic a record that keeps failing is blocked (the
// block policy, the default then): it is retried without end, the records
// it does not hold back go on, and Stats lists it until an operator
// releases it, here by skipping it.
func ExampleConsumer_Release() {
	seeds, stop := exampleCluster(1, []string{"payments"},
		&kgo.Record{Topic: "payments", Value: []byte("payment 1")},
		&kgo.Record{Topic: "payments", Value: []byte("payment 2")},
		&kgo.Record{Topic: "payments", Value: []byte("payment 3")},
	)
	defer stop()

	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if string(r.Value) == "payment 2" {
			return errors.New("account closed")
		}
		return nil
	})
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: seeds,
		GroupID:          "payments",
		Topic:            "payments",
		MaxRetries:       -1, // no retries before the policy applies: quick to show
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()

	// An operator watches Stats (or /readyz, or kwprom's
	// kafkaworker_partition_blocked_records) ...
	p := waitStats(c, func(p kafkaworker.PartitionStats) bool { return len(p.Blocked) > 0 })
	b := p.Blocked[0]
	fmt.Printf("blocked: %s[%d]@%d: %v\n", p.Topic, p.Partition, b.Offset, b.Err)
	// ... and lets it go.
	if err := c.Release(p.Topic, p.Partition, b.Offset, kafkaworker.SkipPolicy); err != nil {
		fmt.Println(err)
		return
	}
	waitStats(c, func(p kafkaworker.PartitionStats) bool { return p.Committable == 3 })
	cancel()
	if err := <-ran; err != nil {
		fmt.Println(err)
		return
	}
	s := c.Stats()
	fmt.Println("processed:", s.Processed, "skipped:", s.Skipped)
	// Output:
	// blocked: payments[0]@1: account closed
	// processed: 2 skipped: 1
}

// waitStats returns the first partition's stats once cond holds for them.
func waitStats(c *kafkaworker.Consumer, cond func(kafkaworker.PartitionStats) bool) kafkaworker.PartitionStats {
	for {
		if s := c.Stats(); len(s.Partitions) > 0 && cond(s.Partitions[0]) {
			return s.Partitions[0]
		}
		time.Sleep(time.Millisecond)
	}
}

// MaxRecordsPerSecond bounds the rate of handler calls; a handler whose
// downstream answers "429, retry after 1 s" returns RetryAfter, and the
// consumer starts nothing at all for that long instead of hammering it.
// The attempt uses up no retry.
func Example_rateLimit() {
	var records []*kgo.Record
	for i := range 10 {
		records = append(records, &kgo.Record{Topic: "emails", Value: fmt.Appendf(nil, "email %d", i)})
	}
	seeds, stop := exampleCluster(1, []string{"emails"}, records...)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int32
	var throttled atomic.Bool
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == 3 && throttled.CompareAndSwap(false, true) {
			// What the HTTP handler of the kafkaworker binary returns
			// for a 429 or 503 with Retry-After.
			return kafkaworker.RetryAfter(100*time.Millisecond, errors.New("429 Too Many Requests"))
		}
		if sent.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers:    seeds,
		GroupID:             "mailer",
		Topic:               "emails",
		MaxRecordsPerSecond: 100, // the mail provider's quota
		MaxRetries:          -1,  // RetryAfter still retries: it is not a failure
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s := c.Stats()
	fmt.Println("sent:", sent.Load(), "holds:", s.Holds, "failed:", s.Failed)
	// Output:
	// sent: 10 holds: 1 failed: 0
}

// A BatchHandler gets many records per call (one transaction, one bulk
// request); offsets are still committed per record, in order. A record
// that fails its batch is isolated by bisection and alone meets the
// FailurePolicy.
func ExampleNewBatch() {
	var records []*kgo.Record
	for i := range 250 {
		records = append(records, &kgo.Record{Topic: "clicks", Value: fmt.Appendf(nil, "click %d", i)})
	}
	seeds, stop := exampleCluster(1, []string{"clicks"}, records...)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stored atomic.Int32
	h := kafkaworker.BatchHandlerFunc(func(ctx context.Context, recs []*kafkaworker.Record) error {
		// INSERT … VALUES (…), (…), … in one statement.
		if stored.Add(int32(len(recs))) == 250 {
			cancel()
		}
		return nil
	})
	c, err := kafkaworker.NewBatch(kafkaworker.Config{
		BootstrapServers: seeds,
		GroupID:          "clicks-to-db",
		Topic:            "clicks",
		MaxProcCount:     100, // records in flight, so at most 100 per batch
		MaxBatchSize:     100,
	}, h, kafkaworker.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s := c.Stats()
	fmt.Println("stored:", stored.Load(), "processed:", s.Processed)
	// Output:
	// stored: 250 processed: 250
}
