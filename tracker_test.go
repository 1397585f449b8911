package kafkaworker_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// tracker counts how many times each record was processed.
type tracker struct {
	mu    sync.Mutex
	seen  map[int32]map[int64]int
	total int
}

func newTracker() *tracker { return &tracker{seen: map[int32]map[int64]int{}} }

func (tr *tracker) mark(r *kafkaworker.Record) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	m := tr.seen[r.Partition]
	if m == nil {
		m = map[int64]int{}
		tr.seen[r.Partition] = m
	}
	m[r.Offset]++
	tr.total++
}

func (tr *tracker) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.total
}

// unique counts the distinct records processed.
func (tr *tracker) unique() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, m := range tr.seen {
		n += len(m)
	}
	return n
}

// check compares what was processed with the topic's end offsets: lost is
// offsets never processed, dup the extra processings.
func (tr *tracker) check(ends map[int32]int64) (lost, dup int, firstLost string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			switch n := tr.seen[p][o]; {
			case n == 0:
				if lost == 0 {
					firstLost = fmt.Sprintf("%d@%d", p, o)
				}
				lost++
			case n > 1:
				dup += n - 1
			}
		}
	}
	return lost, dup, firstLost
}

// runConsumer runs c in the background; stop cancels it and returns Run's
// error.
func runConsumer(t *testing.T, c *kafkaworker.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Run did not return within 60s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// committedAll reports whether the group's committed offsets, read
// independently of the consumer under test, equal the end offsets. A failed
// read is "not yet": callers poll it while brokers come and go.
func committedAll(cl *testkafka.Cluster, group, topic string, ends map[int32]int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := cl.Admin().FetchOffsets(ctx, group)
	if err != nil {
		return false
	}
	for p, end := range ends {
		if o, ok := offs.Lookup(topic, p); end > 0 && (!ok || o.Err != nil || o.At != end) {
			return false
		}
	}
	return true
}

// startConsumer creates a consumer of cfg running h, logging warnings only,
// and runs it in the background until the returned stop is called (or the
// test ends).
func startConsumer(t *testing.T, cfg kafkaworker.Config, h kafkaworker.HandlerFunc, opts ...kafkaworker.Option) (*kafkaworker.Consumer, func() error) {
	t.Helper()
	c, err := kafkaworker.New(cfg, h, append([]kafkaworker.Option{kafkaworker.WithLogger(testLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, runConsumer(t, c)
}

func baseConfig(cl *testkafka.Cluster, group, topic string) kafkaworker.Config {
	return kafkaworker.Config{
		BootstrapServers:      cl.Seeds,
		GroupID:               group,
		Topic:                 topic,
		CommitIntervalSeconds: 1,
		RetryBackoffMin:       time.Millisecond,
		RetryBackoffMax:       10 * time.Millisecond,
		ShutdownTimeout:       20 * time.Second,
		RevokeTimeout:         10 * time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      20 * time.Second,
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
