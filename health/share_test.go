package health

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// TestShareConsumerIsReady: a share-group consumer reads as ready once it
// runs, and stays ready while it works through its records: its partitions'
// Committable counts acknowledgements, so the stall rule sees progress.
func TestShareConsumerIsReady(t *testing.T) {
	cl := testkafka.Start(t)
	topic := cl.Topic(t, 2)
	const n = 200
	// Keyed, so that both partitions get records.
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(strconv.Itoa(i)) })
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers: cl.Seeds, GroupID: cl.Name(t, "health"), Topic: topic,
		GroupType: kafkaworker.ShareGroup, MaxProcCount: 4, ShutdownTimeout: 5 * time.Second,
	}, kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil }),
		kafkaworker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChecker(c, time.Minute)
	if r := ch.Check(); r.Status != NotInGroup {
		t.Fatalf("before Run: %+v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	poll.Until(t, 60*time.Second, "all accepted", func() bool { return c.Stats().Accepted >= n })
	r := ch.Check()
	if r.Status != Ready || r.Partitions != 2 {
		t.Fatalf("after consuming: %+v, want ready with 2 partitions", r)
	}
	var acked int64
	for _, p := range c.Stats().Partitions {
		acked += p.Committable
	}
	if acked != int64(c.Stats().Accepted) {
		t.Fatalf("partitions' Committable add up to %d, want the %d acknowledgements", acked, c.Stats().Accepted)
	}
}
