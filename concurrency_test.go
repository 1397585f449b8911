package kafkaworker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// SetMaxProcCount lowers the calls at once before Run and raises them while
// running; the adaptive limit's behaviour is proven in the engine and in
// BenchmarkAdaptiveConcurrency.
func TestSetMaxProcCount(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 100, nil)
	gate := make(chan struct{})
	var running atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		running.Add(1)
		defer running.Add(-1)
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount = 8
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	c.SetMaxProcCount(2)
	stop := runConsumer(t, c)
	poll.Until(t, 30*time.Second, "2 calls running", func() bool { return running.Load() == 2 })
	if s := c.Stats(); s.ConcurrencyLimit != 2 || s.PeakInFlight != 2 {
		t.Fatalf("limit %d peak %d, want 2 and 2", s.ConcurrencyLimit, s.PeakInFlight)
	}
	c.SetMaxProcCount(12) // above the configured 8
	poll.Until(t, 30*time.Second, "12 calls running", func() bool { return running.Load() == 12 })
	close(gate)
	poll.Until(t, 30*time.Second, "all processed", func() bool { return c.Stats().Processed == 100 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.PeakInFlight != 12 || c.Config().MaxProcCount != 8 {
		t.Fatalf("peak %d, configured %d", s.PeakInFlight, c.Config().MaxProcCount)
	}
}

func TestOverloaded(t *testing.T) {
	cause := errors.New("too many connections")
	for _, c := range []struct {
		err  error
		want bool
	}{
		{kafkaworker.Overloaded(cause), true},
		{kafkaworker.RetryAfter(time.Second, cause), true},
		{cause, false},
		{kafkaworker.Permanent(cause), false},
	} {
		if got := kafkaworker.IsOverloaded(c.err); got != c.want {
			t.Errorf("IsOverloaded(%v) = %t", c.err, got)
		}
	}
	if kafkaworker.Overloaded(nil) != nil || !errors.Is(kafkaworker.Overloaded(cause), cause) {
		t.Fatal("Overloaded(nil) or its Unwrap")
	}
}
