package contenders

import (
	"context"
	"errors"

	"github.com/IBM/sarama"
)

// runSarama is the classic Go consumer group: sarama runs ConsumeClaim in
// one goroutine per claimed partition, each handles its records in order and
// marks them; the offset manager commits marks every second
// (Offsets.AutoCommit) and Cleanup commits synchronously at the session's
// end. Concurrency is the partition count, as for raw franz-go.
func runSarama(ctx context.Context, s Spec, t *Tally) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.ClientID = "kwbench-sarama"
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	cfg.Consumer.Return.Errors = false
	g, err := sarama.NewConsumerGroup([]string{s.Bootstrap}, s.Group, cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	h := saramaHandler{work: s.Model.Handler(s.CPUIters, t), t: t}
	for runCtx.Err() == nil {
		// Consume returns at every rebalance and when runCtx ends, after
		// Cleanup's commit.
		if err := g.Consume(runCtx, []string{s.Topic}, h); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return err
		}
	}
	t.Finish()
	return nil
}

type saramaHandler struct {
	work func([]byte)
	t    *Tally
}

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup commits what was marked, synchronously, before the session ends.
func (saramaHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	sess.Commit()
	return nil
}

// ConsumeClaim runs in its own goroutine per partition. Once the run stops
// it takes no more messages from the claim's buffer.
func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok || h.t.Stopped() {
				return nil
			}
			h.t.Start()
			h.work(m.Value)
			h.t.Count(m.Partition, m.Offset)
			sess.MarkMessage(m, "")
		case <-sess.Context().Done():
			return nil
		}
	}
}
