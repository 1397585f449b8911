package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// Committer commits through a group client. It implements engine.Committer.
type Committer struct{ Client *kgo.Client }

// Commit commits offsets synchronously and reports the request's error or
// every partition the broker refused.
func (c Committer) Commit(ctx context.Context, offs []engine.Offset) error {
	m := make(map[string]map[int32]kgo.EpochOffset)
	meta := make(map[engine.TP]string)
	for _, o := range offs {
		if m[o.Topic] == nil {
			m[o.Topic] = make(map[int32]kgo.EpochOffset)
		}
		m[o.Topic][o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Offset}
		meta[o.TP] = o.Metadata
	}
	// kgo's EpochOffset has no metadata: set it on the request itself. An
	// empty string replaces what kgo would write (the member id), so that
	// the partition's next owner finds nothing to misread.
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				p := &t.Partitions[j]
				md := meta[engine.TP{Topic: t.Topic, Partition: p.Partition}]
				p.Metadata = &md
			}
		}
		return nil
	})
	var err error
	c.Client.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, rerr error) {
		if rerr != nil {
			err = fmt.Errorf("commit: %w", rerr)
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
					err = errors.Join(err, fmt.Errorf("commit %s[%d]: %w", t.Topic, p.Partition, perr))
				}
			}
		}
	})
	return err
}
