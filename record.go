package kafkaworker

import (
	"context"
	"time"
)

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record handed to a Handler. The handler may keep it
// and its slices after returning; the consumer does not reuse them.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil when the record has no key
	Value     []byte
	Headers   []Header
	Timestamp time.Time
	// Attempt is 1 on first delivery and grows with each retry. In share
	// mode it is the broker's delivery count, so a record redelivered
	// after another member failed it or died keeps counting.
	Attempt int

	ctx   context.Context // the fetched kgo.Record's Context; nil when it had none
	share any             // share mode: the share source's handle, from its poll to its Ack
}

// Context returns the context the Kafka client attached to the record when
// it was fetched: franz-go hooks enrich it, as the kotel plugin does with
// the span of the record's receipt (a child of its producer's span), which a
// tracing middleware continues. It is not the handler's context (it is never
// cancelled) and is context.Background() when no hook set one. A record sent
// to the dead-letter topic is produced with this context, so that tracing
// hooks on the client carry its trace into the dead letter.
func (r *Record) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// A Handler processes records. Handle may be called from many goroutines at
// once, up to Config.MaxProcCount, for records of the same partition too
// (unless Config.Ordering says otherwise).
//
// Returning nil marks the record done; its offset is committed once every
// earlier record of its partition is done. Returning an error retries it,
// with backoff, up to Config.MaxRetries times; then Config.FailurePolicy
// applies. A panic is recovered and treated as an error.
//
// ctx is cancelled when the record's partition is taken away, or when a
// shutdown outlasts Config.ShutdownTimeout; a handler that sees it end
// should return promptly: its record is then processed again by whoever
// owns the partition next.
type Handler interface {
	Handle(ctx context.Context, r *Record) error
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(ctx context.Context, r *Record) error

// Handle calls f(ctx, r).
func (f HandlerFunc) Handle(ctx context.Context, r *Record) error { return f(ctx, r) }
