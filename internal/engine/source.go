package engine

import "context"

// TP names a topic partition.
type TP struct {
	Topic     string
	Partition int32
}

// Offset is a commit for one partition: the next offset to consume.
type Offset struct {
	TP
	Offset int64
	// Epoch is the assignment the offset was computed in, for logs.
	Epoch uint64
}

// Committer writes offsets to Kafka. The engine calls it from one goroutine at
// a time and never while holding its own lock, so an implementation may block
// on the network or on the client's group state.
type Committer interface {
	Commit(ctx context.Context, offsets []Offset) error
}

// CommitterFunc adapts a function to Committer.
type CommitterFunc func(ctx context.Context, offsets []Offset) error

// Commit calls f.
func (f CommitterFunc) Commit(ctx context.Context, offsets []Offset) error { return f(ctx, offsets) }
