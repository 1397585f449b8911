package demo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// valueSize is the size of each record's value: about what the published
// Kafka benchmarks use, so the numbers are comparable.
const valueSize = 100

// encodeValue lays out a record value: the sequence number, so loss and
// duplicates can be counted, then the key's index, so order can be checked
// per key without parsing the key.
func encodeValue(seq uint64, key uint32) []byte {
	v := make([]byte, valueSize)
	binary.BigEndian.PutUint64(v[0:8], seq)
	binary.BigEndian.PutUint32(v[8:12], key)
	return v
}

// decodeValue reverses encodeValue.
func decodeValue(v []byte) (seq uint64, key uint32, err error) {
	if len(v) < 12 {
		return 0, 0, fmt.Errorf("demo: value of %d bytes is not a demo record", len(v))
	}
	return binary.BigEndian.Uint64(v[0:8]), binary.BigEndian.Uint32(v[8:12]), nil
}

// produce writes o.records records to topic, keyed round-robin over o.keys
// keys, and waits until the broker has acknowledged all of them. Records of
// one key land in one partition (franz-go hashes keys as Kafka's Java client
// does) in the order they were produced: the idempotent producer keeps it.
func produce(ctx context.Context, cl *kgo.Client, topic string, o options) error {
	// Promises run on the client's goroutine; a record that fails before
	// it is buffered is not waited for by Flush, hence the atomic.
	var firstErr atomic.Pointer[error]
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	for i := range o.records {
		k := uint32(i % o.keys)
		r := &kgo.Record{
			Topic: topic,
			Key:   strconv.AppendUint([]byte("key-"), uint64(k), 10),
			Value: encodeValue(uint64(i), k),
		}
		cl.Produce(ctx, r, done)
	}
	err := cl.Flush(ctx)
	if p := firstErr.Load(); p != nil {
		err = errors.Join(err, *p)
	}
	if err != nil {
		return fmt.Errorf("demo: produce: %w", err)
	}
	return nil
}
