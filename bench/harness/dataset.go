package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Dataset describes one topic of the benchmark: Records records of
// ValueSize bytes, keys spread round-robin over Keys distinct keys, hashed to
// Partitions partitions by franz-go's default (Kafka-compatible murmur2)
// partitioner.
type Dataset struct {
	Topic      string
	Partitions int32
	Records    int64
	ValueSize  int
	Keys       int
}

// Create makes the topic and fills it, once. A topic that already holds
// exactly Records records is reused, so a rerun against a kept broker
// (-bootstrap) does not produce again.
func (d Dataset) Create(ctx context.Context, bootstrap string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if ends, err := adm.ListEndOffsets(ctx, d.Topic); err == nil && ends.Error() == nil {
		if n := sumOffsets(ends); n == d.Records {
			return nil
		} else if n > 0 {
			return fmt.Errorf("topic %s holds %d records, want %d: delete it or use another broker", d.Topic, n, d.Records)
		}
	}
	res, err := adm.CreateTopic(ctx, d.Partitions, 1, nil, d.Topic)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", d.Topic, err)
	}
	if res.Err != nil {
		return fmt.Errorf("create topic %s: %w", d.Topic, res.Err)
	}
	return d.produce(ctx, cl)
}

// produce writes the records asynchronously and waits for every ack.
func (d Dataset) produce(ctx context.Context, cl *kgo.Client) error {
	value := make([]byte, d.ValueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	keys := make([][]byte, d.Keys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%06d", i)
	}
	errc := make(chan error, 1)
	for i := range d.Records {
		r := &kgo.Record{Topic: d.Topic, Key: keys[i%int64(d.Keys)], Value: value}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("produce to %s: %w", d.Topic, err)
	default:
		return nil
	}
}

func sumOffsets(l kadm.ListedOffsets) int64 {
	var n int64
	l.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}
