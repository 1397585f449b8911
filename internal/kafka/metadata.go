package kafka

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// DefaultMetadataBudget is Kafka's default offset.metadata.max.bytes.
const DefaultMetadataBudget = 4096

// MetadataBudget reads the brokers' offset.metadata.max.bytes: the most
// commit metadata, per partition, that a commit may carry. It returns
// DefaultMetadataBudget when the brokers do not say (kfake, missing ACLs).
func MetadataBudget(ctx context.Context, cl *kgo.Client) int {
	rcs, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx)
	if err != nil {
		return DefaultMetadataBudget
	}
	budget := 0
	for _, rc := range rcs {
		if rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Key != "offset.metadata.max.bytes" || c.Value == nil {
				continue
			}
			if n, err := strconv.Atoi(*c.Value); err == nil && n > 0 && (budget == 0 || n < budget) {
				budget = n // the strictest broker wins: any may coordinate the group
			}
		}
	}
	if budget == 0 {
		return DefaultMetadataBudget
	}
	return budget
}

// onOffsetsFetched hands each newly assigned partition's committed offset
// and commit metadata to the engine, which restores the done offsets the
// metadata lists (and ignores metadata that is not its own).
func onOffsetsFetched(g engine.Group) func(context.Context, *kgo.Client, *kmsg.OffsetFetchResponse) error {
	return func(_ context.Context, _ *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
		topics := resp.Topics
		if len(resp.Groups) > 0 {
			// v8+: one entry per group asked for; we ask for one.
			for _, t := range resp.Groups[0].Topics {
				for _, p := range t.Partitions {
					restore(g, t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode)
				}
			}
			return nil
		}
		for _, t := range topics {
			for _, p := range t.Partitions {
				restore(g, t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode)
			}
		}
		return nil
	}
}

func restore(g engine.Group, topic string, partition int32, offset int64, meta *string, code int16) {
	if kerr.ErrorForCode(code) != nil || offset < 0 || meta == nil {
		return
	}
	g.Restore(engine.TP{Topic: topic, Partition: partition}, offset, *meta)
}
