package kafkaworker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// store simulates a database written through one connection: a call costs
// 5 ms plus 0.05 ms per record, and calls queue for the connection.
type store struct{ mu sync.Mutex }

func (s *store) write(records int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	time.Sleep(5*time.Millisecond + time.Duration(records)*50*time.Microsecond)
}

// BenchmarkBatchHandler compares a Handler and a BatchHandler writing b.N
// records to the store above at the same MaxProcCount (100), on kfake: the
// records/s of each. Run with -benchtime 2000x (the single-record handler
// takes about 10 s).
func BenchmarkBatchHandler(b *testing.B) {
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "single", true: "batch=100"}[batch]
		b.Run(name, func(b *testing.B) {
			cl := testkafka.Start(b)
			topic, group := cl.Topic(b, 6), cl.Name(b, "g")
			cl.Produce(b, topic, b.N, nil)
			var st store
			var handled atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			count := func(n int) {
				if handled.Add(int64(n)) >= int64(b.N) {
					cancel()
				}
			}
			cfg := baseConfig(cl, group, topic)
			cfg.MaxProcCount = 100
			cfg.MaxBatchSize = 100
			var c *kafkaworker.Consumer
			var err error
			if batch {
				c, err = kafkaworker.NewBatch(cfg, kafkaworker.BatchHandlerFunc(func(_ context.Context, recs []*kafkaworker.Record) error {
					st.write(len(recs))
					count(len(recs))
					return nil
				}), kafkaworker.WithLogger(testLogger()))
			} else {
				c, err = kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
					st.write(1)
					count(1)
					return nil
				}), kafkaworker.WithLogger(testLogger()))
			}
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			b.ResetTimer()
			if err := c.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(handled.Load())/time.Since(start).Seconds(), "records/s")
		})
	}
}
