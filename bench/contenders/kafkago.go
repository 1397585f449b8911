package contenders

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// runKafkaGo is segmentio/kafka-go's consumer-group Reader as its README
// shows it: FetchMessage in a loop, CommitMessages after each record, with
// CommitInterval 1 s so that commits are batched in the background and
// flushed by Close. For concurrency beyond one record at a time the loop
// hands each partition's records to that partition's goroutine (records of
// a partition stay in order), as raw franz-go and sarama do: concurrency is
// the partition count.
func runKafkaGo(ctx context.Context, s Spec, t *Tally) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{s.Bootstrap},
		GroupID:        s.Group,
		Topic:          s.Topic,
		StartOffset:    kafka.FirstOffset,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        500 * time.Millisecond,
		CommitInterval: time.Second,
	})
	work := s.Model.Handler(s.CPUIters, t)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	parts := map[int]chan kafka.Message{}
	var wg sync.WaitGroup
	var err error
	for {
		m, ferr := r.FetchMessage(runCtx)
		if ferr != nil {
			if runCtx.Err() == nil {
				err = ferr
			}
			break
		}
		ch := parts[m.Partition]
		if ch == nil {
			ch = make(chan kafka.Message, peerQueue)
			parts[m.Partition] = ch
			wg.Add(1)
			go func() {
				defer wg.Done()
				for m := range ch {
					if t.Stopped() {
						continue // drain without handling
					}
					t.Start()
					work(m.Value)
					t.Count(int32(m.Partition), m.Offset)
					if cerr := r.CommitMessages(context.Background(), m); cerr != nil {
						return
					}
				}
			}()
		}
		select {
		case ch <- m:
		case <-t.Done():
		}
	}
	for _, ch := range parts {
		close(ch)
	}
	wg.Wait()
	if cerr := r.Close(); err == nil {
		err = cerr // Close makes the final commit
	}
	t.Finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
