package contenders

import (
	"context"
	"io"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
)

// runKafkaworker runs the library as a user would: defaults everywhere but
// MaxProcCount, Ordering and, in one row, MaxBufferedBytes; the seed row
// (s.Seed) takes the seed's appsettings.json values. Its commits are
// counted twice: by the commit observer and by a hook on the wire. When the run stops (every record handled, or the window over) it cancels
// Run's context; Run then drains, makes its final synchronous commit and
// leaves the group, and the clock stops when Run returns. Ordering "share"
// is GroupType share (unordered): the acknowledgements are flushed when the
// share clients close.
func runKafkaworker(ctx context.Context, s Spec, t *Tally) error {
	work := s.Model.Handler(s.CPUIters, t)
	h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		t.Start()
		work(r.Value)
		t.Count(r.Partition, r.Offset)
		return nil
	})
	cfg := kafkaworker.Config{
		BootstrapServers: s.Bootstrap,
		GroupID:          s.Group,
		Topic:            s.Topic,
		MaxProcCount:     s.MPC,
		Ordering:         kafkaworker.Ordering(s.Ordering),
		// Commit once a second, as the Parallel Consumer's periodic
		// commits do (raw franz-go: every 5 s). The seed's default of a
		// commit per 100 records would send thousands of synchronous
		// commits a second at these rates and measure the broker's
		// commit path instead of the consumer.
		CommitIntervalSeconds:   1,
		MaxMsgCountBeforeCommit: 1_000_000,
		MaxBufferedBytes:        s.MaxBufferedBytes,
	}
	if s.Seed {
		// The seed's appsettings.json: "MaxProcCount": 50,
		// "MaxMsgCountBeforeCommit": 100, "CommitIntervalSeconds": 30.
		cfg.MaxProcCount, cfg.MaxMsgCountBeforeCommit, cfg.CommitIntervalSeconds = 50, 100, 30
	}
	if s.Ordering == Share {
		cfg.GroupType, cfg.Ordering = kafkaworker.ShareGroup, kafkaworker.Unordered
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(quiet), kafkaworker.WithCommitObserver(t.Commit),
		kafkaworker.WithClientOptions(kgo.WithHooks(t.CommitHook())))
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	err = c.Run(runCtx)
	t.Finish()
	return err
}
