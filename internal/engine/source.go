package engine

import (
	"context"
	"errors"
)

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
	// Metadata is the commit metadata: the offsets above Offset that are
	// already done (internal/offsetmeta), or "".
	Metadata string
}

// Fetched is one record a Source hands to the engine.
type Fetched[R any] struct {
	Rec    R
	TP     TP
	Offset int64
	Key    []byte // nil: no key
	Size   int    // bytes of key, value and headers, for MaxBufferedBytes
	// Attempt is the record's delivery count in share mode (the broker's
	// count, so a redelivered record keeps counting); 0 means 1.
	Attempt int
}

// Watermark is a partition's high watermark as a fetch reported it.
type Watermark struct {
	TP
	High int64
}

// Batch is what one Poll brings. Poll appends to it; the engine resets it.
type Batch[R any] struct {
	Records []Fetched[R]
	Marks   []Watermark
}

func (b *Batch[R]) reset() {
	clear(b.Records)
	b.Records, b.Marks = b.Records[:0], b.Marks[:0]
}

// ErrSourceClosed is returned by a Source's Poll once it is closed.
var ErrSourceClosed = errors.New("source closed")

// Source is where records come from and offsets go: a Kafka consumer group
// client, or a fake in tests. The engine owns the loop that drives it (one
// goroutine calls Poll, then AllowRebalance); Pause and Resume may be called
// from any goroutine but never two at once; Commit is called by one
// goroutine at a time; DeadLetter by many at once.
type Source[R any] interface {
	// Poll blocks until records are buffered or ctx ends, then appends at
	// most max records (max ≥ 1) and the partitions' high watermarks to b.
	// It returns ctx's error, or ErrSourceClosed once the source is closed.
	// Group changes wait from Poll until AllowRebalance.
	Poll(ctx context.Context, max int, b *Batch[R]) error
	// AllowRebalance lets group changes held since the last Poll proceed.
	AllowRebalance()
	// Pause stops fetching partitions; Resume starts again. What a paused
	// partition had prefetched may be dropped and fetched again later.
	Pause(tps []TP)
	Resume(tps []TP)
	// Commit stores offsets synchronously.
	Commit(ctx context.Context, offs []Offset) error
	// DeadLetter stores a record whose retries are used up, returning once
	// it is durably stored.
	DeadLetter(ctx context.Context, r R, attempts int, cause error) error
	// Close leaves the group; the group callbacks may run during it.
	Close()
}

// Group is what a Source tells the engine about the group's assignment. The
// Source calls it from one goroutine at a time (the client's group
// callbacks), possibly before Run.
type Group interface {
	Assign(tps []TP)
	// Restore tells the engine where a newly assigned partition's
	// consumption starts and the commit metadata stored with that offset:
	// records it marks done are not handed to the handler again. Called
	// after Assign, before the partition's first record.
	Restore(tp TP, committed int64, metadata string)
	Revoke(ctx context.Context, tps []TP) error
	Lose(tps []TP)
}

// Ack is a record's final outcome in share mode, as the broker is told it.
type Ack uint8

const (
	// Accept: handled, or dead-lettered (the dead-letter topic has it).
	Accept Ack = iota + 1
	// Release: not finished here (a retry the lock cannot wait for, the
	// Stop policy, a shutdown); the broker delivers it again.
	Release
	// Reject: failed for good and let go by the Skip policy (or skipped
	// by a Release under Block): the broker archives it as unprocessable
	// and never delivers it again, or hands it to its own dead-letter
	// queue where one is configured (KIP-1191).
	Reject
)

func (a Ack) String() string {
	switch a {
	case Accept:
		return "accept"
	case Release:
		return "release"
	case Reject:
		return "reject"
	}
	return "ack(?)"
}

// Acker is what a share-group Source adds to Source. The engine calls Ack
// exactly once per record it took in, from any goroutine, never with its
// lock held; Ack must not block.
type Acker[R any] interface {
	Ack(r R, a Ack)
	// Renews reports whether the Source keeps the acquisition lock of
	// every record it handed out and was not told the outcome of (Kafka
	// 4.2+, AckRenew). Then a failed record is retried here after its
	// backoff; otherwise it is released at once and its retry is the
	// broker's redelivery.
	Renews() bool
}
