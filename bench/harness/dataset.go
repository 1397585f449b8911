package harness

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
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

// Topic is a filled topic as the broker holds it.
type Topic struct {
	Name      string
	Ends      []int64 // end offsets by partition (each starts at 0)
	DiskBytes int64   // the partitions' log segments, as the broker reports them
}

// Records is the sum of the end offsets.
func (t Topic) Records() int64 {
	var n int64
	for _, e := range t.Ends {
		n += e
	}
	return n
}

// Create makes the topic and fills it, once, and describes it. A topic that
// already holds exactly Records records is reused, so a rerun against a kept
// broker (-bootstrap) does not produce again.
func (d Dataset) Create(ctx context.Context, bootstrap string) (Topic, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20),
		// Bounds the records produced and not yet acknowledged by bytes,
		// for the curves' 1 MB values,
		kgo.MaxBufferedBytes(256<<20),
		// and lets far more than the default 10,000 be in flight: with
		// 1,200 partitions that default fills a produce request with a
		// few records per partition and production crawls.
		kgo.MaxBufferedRecords(1_000_000),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return Topic{}, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	n := int64(-1)
	if ends, err := adm.ListEndOffsets(ctx, d.Topic); err == nil && ends.Error() == nil {
		n = sumOffsets(ends)
		if n > 0 && n != d.Records {
			return Topic{}, fmt.Errorf("topic %s holds %d records, want %d: delete it or use another broker", d.Topic, n, d.Records)
		}
	}
	if n != d.Records {
		res, err := adm.CreateTopic(ctx, d.Partitions, 1, nil, d.Topic)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			return Topic{}, fmt.Errorf("create topic %s: %w", d.Topic, err)
		}
		if err := d.produce(ctx, cl); err != nil {
			return Topic{}, err
		}
	}
	return d.describe(ctx, adm)
}

func (d Dataset) describe(ctx context.Context, adm *kadm.Client) (Topic, error) {
	t := Topic{Name: d.Topic, Ends: make([]int64, d.Partitions)}
	ends, err := adm.ListEndOffsets(ctx, d.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return t, fmt.Errorf("end offsets of %s: %w", d.Topic, err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Partition >= 0 && o.Partition < d.Partitions {
			t.Ends[o.Partition] = o.Offset
		}
	})
	// nil: every topic (a topic without partitions in the set would
	// describe none of them).
	if dirs, err := adm.DescribeAllLogDirs(ctx, nil); err == nil {
		dirs.Each(func(dir kadm.DescribedLogDir) {
			for _, p := range dir.Topics[d.Topic] {
				t.DiskBytes += p.Size
			}
		})
	}
	return t, nil
}

// Value fills v (len ValueSize) for record i: a JSON-ish line whose field
// names and sequence number repeat from record to record while half of it
// is random hex, so that batches compress modestly (about 1.5:1 with the
// producer's default snappy) rather than absurdly, as a constant value does.
// The random part comes from a seeded PCG: every run writes the same data.
func (d Dataset) value(v []byte, i int64, rng *rand.Rand) {
	head := fmt.Appendf(v[:0], `{"seq":%010d,"key":"key-%06d","payload":"`, i, i%int64(d.Keys))
	n := len(head)
	var raw [8]byte
	for n < len(v)-2 {
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		var h [16]byte
		hex.Encode(h[:], raw[:])
		n += copy(v[n:len(v)-2], h[:])
	}
	copy(v[len(v)-2:], `"}`)
}

// produce writes the records asynchronously and waits for every ack.
func (d Dataset) produce(ctx context.Context, cl *kgo.Client) error {
	keys := make([][]byte, d.Keys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%06d", i)
	}
	rng := rand.New(rand.NewPCG(1, uint64(d.Records)))
	errc := make(chan error, 1)
	for i := range d.Records {
		v := make([]byte, d.ValueSize)
		d.value(v, i, rng)
		r := &kgo.Record{Topic: d.Topic, Key: keys[i%int64(d.Keys)], Value: v}
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
