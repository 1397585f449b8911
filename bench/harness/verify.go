package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Verify is the completeness check of one run. It compares, per partition,
// the group's committed offset (read from the broker, which the contender
// cannot fake) with what the contender reports it handled:
//
//   - committed = the handled prefix: every offset below the commit was
//     handled (nothing lost) and every offset of the contiguous handled
//     prefix is committed;
//   - no record handled twice, and the handled count adds up;
//   - a full run (full true) covered the whole topic: prefix = end offset.
//
// A windowed run that stops in key order can have handled records beyond
// its commit point (a later key's record finished, an earlier one never
// started): they are not lost, they would be handled again after a
// restart. Report.Run.Beyond counts them; they do not fail the run.
func Verify(ctx context.Context, bootstrap, group, topic string, ends []int64, res contenders.Result, full bool) error {
	if err := checkTally(ends, res, full); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	committed, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetch committed offsets of %s: %w", group, err)
	}
	var short []string
	var diff int64
	for p := range ends {
		at := int64(0)
		if c, ok := committed.Lookup(topic, int32(p)); ok {
			at = c.At
		}
		if at != res.Prefix[p] {
			short = append(short, fmt.Sprintf("p%d committed %d, handled %d", p, at, res.Prefix[p]))
			diff += res.Prefix[p] - at
		}
	}
	if len(short) > 0 {
		return fmt.Errorf("committed offsets differ from what was handled by %d records: %v", diff, short)
	}
	return nil
}

// VerifyShare is Verify for a share group, which commits nothing: no record
// handled twice (a clean run has no redelivery) and the handled count adds
// up; a full run must have handled every offset and the group acknowledged
// every record (VerifyAcknowledged). A windowed run releases what it did
// not finish, for another member: nothing to check on the broker.
func VerifyShare(ctx context.Context, bootstrap, group, topic string, ends []int64, res contenders.Result, full bool) error {
	if err := checkTally(ends, res, full); err != nil {
		return err
	}
	if !full {
		return nil
	}
	return VerifyAcknowledged(ctx, bootstrap, group, topic)
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

// checkTally checks what the contender says it handled: every partition,
// nothing twice, the counts adding up, and (full) every offset.
func checkTally(ends []int64, res contenders.Result, full bool) error {
	if len(res.Prefix) != len(ends) {
		return fmt.Errorf("the contender reported %d partitions, the topic has %d", len(res.Prefix), len(ends))
	}
	var distinct int64
	for p := range ends {
		distinct += res.Distinct[p]
		if full && res.Prefix[p] != ends[p] {
			return fmt.Errorf("p%d: handled a prefix of %d of %d records", p, res.Prefix[p], ends[p])
		}
	}
	if res.Dups != 0 || distinct+res.Dups != res.Handled {
		return fmt.Errorf("handled %d records: %d distinct, %d twice", res.Handled, distinct, res.Dups)
	}
	return nil
}
