package kafka

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Dead-letter headers added to the original record's headers, in the style
// of Kafka Connect's DLQ headers.
const (
	HeaderError     = "kafkaworker.error"
	HeaderTopic     = "kafkaworker.original.topic"
	HeaderPartition = "kafkaworker.original.partition"
	HeaderOffset    = "kafkaworker.original.offset"
	HeaderAttempts  = "kafkaworker.attempts"
	HeaderFailedAt  = "kafkaworker.failed.at"
)

// DeadLetter produces a failed record to a dead-letter topic.
type DeadLetter struct {
	Client *kgo.Client
	Topic  string
}

// Produce sends r to the dead-letter topic and returns once the broker has
// acknowledged it (acks=all, idempotent: franz-go's defaults).
func (d DeadLetter) Produce(ctx context.Context, r *kgo.Record, attempts int, cause error) error {
	out := &kgo.Record{
		// The failed record's context (nil: the Produce ctx), for the
		// client's hooks: a tracing hook parents the dead letter's span
		// on the record's trace.
		Context:   r.Context,
		Topic:     d.Topic,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: r.Timestamp,
		Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
			kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
			kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
			kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
			kgo.RecordHeader{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(attempts), 10)},
			kgo.RecordHeader{Key: HeaderFailedAt, Value: time.Now().UTC().AppendFormat(nil, time.RFC3339Nano)},
		),
	}
	if err := d.Client.ProduceSync(ctx, out).FirstErr(); err != nil {
		return fmt.Errorf("producing to dead-letter topic %q: %w", d.Topic, err)
	}
	return nil
}
