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

// A handler that answers RetryAfter on a record's first attempt: every
// record is processed in the end, none is failed (the RetryAfter attempts
// use up no retry: MaxRetries is -1 here), and Stats counts the holds.
// Precision of the pause itself is proven in virtual time in the engine
// (TestRetryAfterHoldsAllDispatch).
func TestRetryAfterIsNotAFailure(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 3), cl.Name(t, "g")
	const n = 30
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	var slow atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset%5 == 0 && r.Attempt == 1 {
			slow.Add(1)
			return kafkaworker.RetryAfter(10*time.Millisecond, errors.New("429 Too Many Requests"))
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxRetries = -1
	cfg.FailurePolicy = kafkaworker.StopPolicy
	cfg.MaxRecordsPerSecond = 1000
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.Processed != n || s.Failed != 0 || s.Holds < 1 || s.Retried != uint64(slow.Load()) {
		t.Fatalf("processed %d failed %d holds %d retried %d (%d slow-downs)", s.Processed, s.Failed, s.Holds, s.Retried, slow.Load())
	}
}

func TestRetryAfterError(t *testing.T) {
	cause := errors.New("503 Service Unavailable")
	err := kafkaworker.RetryAfter(2*time.Second, cause)
	var ra *kafkaworker.RetryAfterError
	if !errors.Is(err, cause) || !errors.As(err, &ra) || ra.Delay != 2*time.Second {
		t.Fatalf("%v", err)
	}
	if err.Error() != "retry after 2s: 503 Service Unavailable" {
		t.Fatalf("%q", err.Error())
	}
}
