package kafkaworker

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// PausePartitions stops fetching the named partitions until
// ResumePartitions or ResumeAll, as an operator would (the admin API). The
// consumer's own backpressure pauses and resumes partitions too; it never
// resumes one paused here. Records already fetched still run and are
// committed. A partition owned now stops fetching before this returns; one
// not owned yet is paused when it is assigned, after the first poll that
// brings it records. The pause outlives rebalances. It does not block on
// handlers; it may be called before, during or after Run.
func (c *Consumer) PausePartitions(tps ...TopicPartition) {
	c.eng.Pause(engineTPs(tps), false)
}

// ResumePartitions undoes PausePartitions for the named partitions, and,
// after PauseAll, resumes them alone (the others stay paused).
func (c *Consumer) ResumePartitions(tps ...TopicPartition) {
	c.eng.Resume(engineTPs(tps), false)
}

// PauseAll pauses every partition, those assigned later included, as
// PausePartitions does.
func (c *Consumer) PauseAll() { c.eng.Pause(nil, true) }

// ResumeAll undoes PauseAll and every PausePartitions.
func (c *Consumer) ResumeAll() { c.eng.Resume(nil, true) }

// Paused returns what PauseAll and PausePartitions hold: all, or the
// partitions named, sorted.
func (c *Consumer) Paused() (all bool, tps []TopicPartition) {
	all, held := c.eng.Held()
	for _, tp := range held {
		tps = append(tps, TopicPartition{Topic: tp.Topic, Partition: tp.Partition})
	}
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return all, tps
}

// ErrNotRunning is returned by Commit when Run is not consuming.
var ErrNotRunning = errors.New("kafkaworker: consumer is not running")

// Commit commits now, for every owned partition, what is committable (the
// offset after the last record below which all are done), instead of
// waiting for MaxMsgCountBeforeCommit or CommitIntervalSeconds. It waits
// for a commit in flight first (there is never more than one) and returns
// once the broker answered, with its error; ErrNotRunning outside Run.
func (c *Consumer) Commit(ctx context.Context) error {
	if !c.running.Load() {
		return ErrNotRunning
	}
	return c.eng.Commit(ctx)
}

func engineTPs(tps []TopicPartition) []engine.TP {
	out := make([]engine.TP, len(tps))
	for i, tp := range tps {
		out[i] = engine.TP{Topic: tp.Topic, Partition: tp.Partition}
	}
	return out
}
