// Records at the edges of size and content: a record larger than the
// client's fetch limits, keys and values of every byte value, empty next to
// nil, tombstones. Each arrives whole and byte-exact, in key order where a
// key orders it.

package kafkaworker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// A record of 2 MB, above the client's per-partition fetch size (1 MB) and
// the producer's default batch limit, among small ones: it is delivered
// whole and nothing around it is lost.
func TestBadInputRecordLargerThanFetchLimits(t *testing.T) {
	cl := testkafka.Start(t)
	maxBytes := strconv.Itoa(4 << 20)
	topic := cl.TopicRF(t, 2, 1, map[string]*string{"max.message.bytes": &maxBytes})
	group := cl.Name(t, "g")
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	bigSum := sha256.Sum256(big)

	pr, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var recs []*kgo.Record
	for i := range 100 {
		v := binary.BigEndian.AppendUint64(nil, uint64(i))
		if i == 50 {
			v = big
		}
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends := cl.EndOffsets(t, topic)

	tr := newTracker()
	var bigSeen atomic.Int32
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if len(r.Value) > 8 {
			if len(r.Value) != len(big) || sha256.Sum256(r.Value) != bigSum {
				return kafkaworker.Permanent(fmt.Errorf("big record corrupted: %d bytes", len(r.Value)))
			}
			bigSeen.Add(1)
		}
		tr.mark(r)
		return nil
	}))
	poll.Until(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost, dup, first := tr.check(ends)
	if lost != 0 || dup != 0 || bigSeen.Load() != 1 {
		t.Fatalf("lost %d (first %s), duplicates %d, big record seen %d times", lost, first, dup, bigSeen.Load())
	}
}

// binRecord is a record of the binary test, and what the handler saw of it.
type binRecord struct {
	key, value []byte
	seq        int // order among records of the same key and partition
}

// Keys and values made of every byte value, an empty key next to a nil key,
// empty values and tombstones, in key mode: every record arrives byte-exact
// (nil and empty kept apart), nil-key records run in parallel, and records
// of each non-nil key run one at a time in offset order.
func TestBadInputBinaryKeysAndValues(t *testing.T) {
	cl := testkafka.Start(t)
	const partitions = 4
	topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	// Per partition, the records in the order produced.
	want := map[int32][]binRecord{}
	add := func(p int32, key, value []byte) {
		seq := 0
		for _, r := range want[p] {
			if r.key != nil && bytes.Equal(r.key, key) {
				seq++
			}
		}
		want[p] = append(want[p], binRecord{key: key, value: value, seq: seq})
	}
	for round := range 3 {
		for b := range 256 {
			key := []byte{byte(b)}
			if b%16 == 0 {
				key = append([]byte{0, 0xff}, all[b:]...) // long binary keys too
			}
			p := int32(b % partitions)
			switch {
			case round == 1 && b%5 == 0:
				add(p, key, nil) // tombstone
			case round == 2 && b%7 == 0:
				add(p, key, []byte{}) // empty value
			default:
				add(p, key, append(slices.Clone(all[b:]), all[:b]...))
			}
		}
		add(0, []byte{}, []byte{byte(round)}) // the empty key: a key like any other
		add(1, []byte{}, nil)
	}
	for i := range 8 {
		add(2, nil, []byte{0, byte(i), 0xff}) // no key: not ordered
	}
	add(3, nil, nil)
	add(3, nil, []byte{})

	pr, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var recs []*kgo.Record
	total := 0
	for p, rs := range want {
		for _, r := range rs {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: r.key, Value: r.value})
			total++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends := cl.EndOffsets(t, topic)
	for p, rs := range want {
		if ends[p] != int64(len(rs)) {
			t.Fatalf("partition %d holds %d records, produced %d", p, ends[p], len(rs))
		}
	}

	var mu sync.Mutex
	got := map[int32]map[int64]binRecord{}
	busy := map[string]bool{} // partition and key -> running
	var violations []string
	nilKeyRunning, nilKeyPeak := 0, 0
	bothNil := make(chan struct{}) // closed once two nil-key records run at once
	var bothOnce sync.Once
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		k := fmt.Sprintf("%d/%x", r.Partition, r.Key)
		mu.Lock()
		if r.Key == nil {
			nilKeyRunning++
			nilKeyPeak = max(nilKeyPeak, nilKeyRunning)
			if nilKeyRunning >= 2 {
				bothOnce.Do(func() { close(bothNil) })
			}
		} else {
			if busy[k] {
				violations = append(violations, fmt.Sprintf("key %s: two records at once (offset %d)", k, r.Offset))
			}
			busy[k] = true
			for o, prev := range got[r.Partition] {
				if prev.key != nil && bytes.Equal(prev.key, r.Key) && o > r.Offset {
					violations = append(violations, fmt.Sprintf("key %s: offset %d after %d", k, r.Offset, o))
				}
			}
		}
		if got[r.Partition] == nil {
			got[r.Partition] = map[int64]binRecord{}
		}
		got[r.Partition][r.Offset] = binRecord{key: r.Key, value: r.Value}
		mu.Unlock()
		if r.Key == nil && r.Partition == 2 {
			// Hold the first nil-key records until a second one runs
			// beside it: proof that they are not serialised.
			select {
			case <-bothNil:
			case <-time.After(5 * time.Second):
			}
		}
		mu.Lock()
		if r.Key == nil {
			nilKeyRunning--
		} else {
			busy[k] = false
		}
		mu.Unlock()
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.Ordering = kafkaworker.KeyOrdered
	cfg.MaxProcCount = 16
	_, stop := startConsumer(t, cfg, h)
	poll.Until(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d ordering violations, first: %s", len(violations), violations[0])
	}
	if nilKeyPeak < 2 {
		t.Fatal("records without a key never ran in parallel")
	}
	seen := 0
	for p, rs := range want {
		for o, w := range rs {
			g, ok := got[p][int64(o)]
			if !ok {
				t.Fatalf("partition %d offset %d never delivered", p, o)
			}
			seen++
			if (g.key == nil) != (w.key == nil) || !bytes.Equal(g.key, w.key) {
				t.Fatalf("partition %d offset %d: key %q (nil %t), want %q (nil %t)", p, o, g.key, g.key == nil, w.key, w.key == nil)
			}
			if (g.value == nil) != (w.value == nil) || !bytes.Equal(g.value, w.value) {
				t.Fatalf("partition %d offset %d: value %q (nil %t), want %q (nil %t)", p, o, g.value, g.value == nil, w.value, w.value == nil)
			}
		}
	}
	if seen != total {
		t.Fatalf("checked %d records, produced %d", seen, total)
	}
	t.Logf("tier %s: %d binary records byte-exact; nil-key peak parallelism %d", cl.Tier(), total, nilKeyPeak)
}
