package contenders

import (
	"context"
	"errors"
	"sync"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// peerQueue is the capacity of kafka-go's dispatch channel per partition.
const peerQueue = 16384

// runConfluent is confluent-kafka-go (librdkafka, the bundled static
// library) as Confluent recommends for at-least-once: auto-commit on (every
// second here, like the other rows) with enable.auto.offset.store off, and
// StoreMessage after each record is handled, so that only handled records
// are committed; a final Commit before Close. The Poll loop hands each
// partition's records to that partition's goroutine (records of a partition
// stay in order): concurrency is the partition count, as for raw franz-go.
//
// librdkafka prefetches up to 100,000 records per partition and Poll
// returns them in long runs of one partition, so a blocking hand-off would
// stall every partition behind one (concurrency 1 at 10 ms). The loop never
// blocks: each partition has a queue, paused at confluentHigh records and
// resumed at half of it, the usual Pause/Resume back-pressure.
func runConfluent(ctx context.Context, s Spec, t *Tally) error {
	c, err := ckafka.NewConsumer(&ckafka.ConfigMap{
		"bootstrap.servers":        s.Bootstrap,
		"group.id":                 s.Group,
		"auto.offset.reset":        "earliest",
		"enable.auto.commit":       true,
		"auto.commit.interval.ms":  1000,
		"enable.auto.offset.store": false,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(s.Topic, nil); err != nil {
		return err
	}
	work := s.Model.Handler(s.CPUIters, t)
	parts := map[int32]*confluentQueue{}
	var wg sync.WaitGroup
	var perr error
loop:
	for {
		select {
		case <-t.Done():
			break loop
		case <-ctx.Done():
			perr = ctx.Err()
			break loop
		default:
		}
		switch e := c.Poll(100).(type) {
		case *ckafka.Message:
			q := parts[e.TopicPartition.Partition]
			if q == nil {
				q = &confluentQueue{c: c, tp: e.TopicPartition}
				q.cond = sync.NewCond(&q.mu)
				parts[e.TopicPartition.Partition] = q
				wg.Add(1)
				go func() {
					defer wg.Done()
					q.run(work, t)
				}()
			}
			q.push(e)
		case ckafka.Error:
			if e.IsFatal() {
				perr = e
				break loop
			}
		}
	}
	for _, q := range parts {
		q.close()
	}
	wg.Wait()
	if _, err := c.Commit(); err != nil {
		var kerr ckafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != ckafka.ErrNoOffset {
			perr = errors.Join(perr, err)
		}
	}
	t.Finish()
	return perr
}

const confluentHigh = 4096

// confluentQueue is one partition's records between Poll and its goroutine.
type confluentQueue struct {
	c      *ckafka.Consumer
	tp     ckafka.TopicPartition
	mu     sync.Mutex
	cond   *sync.Cond
	q      []*ckafka.Message
	paused bool
	closed bool
}

func (q *confluentQueue) push(m *ckafka.Message) {
	q.mu.Lock()
	q.q = append(q.q, m)
	if len(q.q) >= confluentHigh && !q.paused {
		q.paused = q.c.Pause([]ckafka.TopicPartition{{Topic: q.tp.Topic, Partition: q.tp.Partition}}) == nil
	}
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *confluentQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
}

// run handles the partition's records in order, storing each offset once
// handled; once the run stops it handles nothing more.
func (q *confluentQueue) run(work func([]byte), t *Tally) {
	for {
		q.mu.Lock()
		for len(q.q) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.q) == 0 || t.Stopped() {
			q.mu.Unlock()
			return
		}
		m := q.q[0]
		q.q[0] = nil
		q.q = q.q[1:]
		if q.paused && len(q.q) <= confluentHigh/2 {
			q.paused = q.c.Resume([]ckafka.TopicPartition{{Topic: q.tp.Topic, Partition: q.tp.Partition}}) != nil
		}
		q.mu.Unlock()
		t.Start()
		work(m.Value)
		t.Count(m.TopicPartition.Partition, int64(m.TopicPartition.Offset))
		if _, err := q.c.StoreMessage(m); err != nil {
			return
		}
	}
}
