package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// VerifyCommitted checks, from the broker's side, that group committed every
// record of topic: for each partition the committed offset must equal the
// end offset. It is the half of the completeness check that the contender
// cannot fake; the other half is the contender's own handled count.
func VerifyCommitted(ctx context.Context, bootstrap, group, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	if err := ends.Error(); err != nil {
		return err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetch committed offsets of %s: %w", group, err)
	}
	var short []string
	var missing int64
	ends.Each(func(e kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, e.Partition)
		at := int64(0)
		if ok {
			at = c.At
		}
		if at != e.Offset {
			short = append(short, fmt.Sprintf("p%d committed %d of %d", e.Partition, at, e.Offset))
			missing += e.Offset - at
		}
	})
	if len(short) > 0 {
		return fmt.Errorf("%d offsets not committed: %v", missing, short)
	}
	return nil
}

// VerifyAcknowledged is VerifyCommitted for a share group: each partition's
// share start offset (below which every record is acknowledged) must reach
// the end offset, or its lag be 0: Kafka persists the start offset lazily,
// a batch or two behind the acknowledgements, until a later one moves it.
// It is read again until ctx ends.
func VerifyAcknowledged(ctx context.Context, bootstrap, group, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	if err := ends.Error(); err != nil {
		return err
	}
	for {
		var short []string
		var missing int64
		described, err := adm.DescribeShareGroupOffsets(ctx, group)
		if err == nil {
			err = described.Error()
		}
		if err == nil {
			ends.Each(func(e kadm.ListedOffset) {
				at := int64(0)
				if o, ok := described[group].Offsets.Lookup(topic, e.Partition); ok && o.Err == nil && o.StartOffset >= 0 {
					at = o.StartOffset
					if o.Lag == 0 {
						at = e.Offset
					}
				}
				if at < e.Offset {
					short = append(short, fmt.Sprintf("p%d acknowledged %d of %d", e.Partition, at, e.Offset))
					missing += e.Offset - at
				}
			})
			if len(short) == 0 {
				return nil
			}
			err = fmt.Errorf("%d records not acknowledged: %v", missing, short)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}
