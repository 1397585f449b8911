package engine

import (
	"log/slog"
	"time"
)

// Ordering says which records of a partition may run at the same time.
type Ordering int

const (
	// Unordered runs any records at once; only commits are ordered.
	Unordered Ordering = iota
	// ByKey runs records with the same key one at a time in offset order.
	// Records without a key are unordered.
	ByKey
	// ByPartition runs one record of a partition at a time.
	ByPartition
)

// Policy says what happens to a record whose retries are used up.
type Policy int

const (
	// Stop makes the engine fatal: the record is never marked done.
	Stop Policy = iota
	// Skip logs and counts the failure, then marks the record done.
	Skip
	// DeadLetter hands the record to the Source's DeadLetter and marks it
	// done only once that returned nil.
	DeadLetter
	// Block retries the record without end, at BackoffMax once the backoff
	// has grown to it, holding only what is ordered behind it (its key, its
	// partition, and the commit point) until it succeeds or Release lets it
	// go. It is listed in Stats meanwhile.
	Block
)

// Config holds the engine's settings; the root package derives it from the
// user's Config, which documents each one. Zero values are not defaulted
// here: the caller passes complete settings.
type Config struct {
	MaxProcCount     int
	Ordering         Ordering
	MaxBuffered      int   // records fetched and not finished, all partitions
	MaxBufferedBytes int64 // their bytes (Fetched.Size)
	PartitionWindow  int64 // offsets of span after which a partition is paused, at most
	CommitCount      int
	CommitInterval   time.Duration
	MaxRetries       int // retries after the first attempt
	BackoffMin       time.Duration
	BackoffMax       time.Duration
	Policy           Policy
	RevokeTimeout    time.Duration
	// ShutdownTimeout bounds the drain once Run's context ends; then the
	// handlers' contexts are cancelled and Run waits up to ShutdownMargin
	// more for them to return.
	ShutdownTimeout time.Duration
	ShutdownMargin  time.Duration
	// CommitTimeout bounds the final commit.
	CommitTimeout time.Duration
	// FreezeAfter is how long the process may not run (a SIGSTOP, a paused
	// VM) before the engine asks the group whether it is still a member:
	// the session timeout. 0, or a Source that is not a MemberChecker:
	// never.
	FreezeAfter time.Duration
	// CommitStallHold is how long a periodic commit may take before
	// workers stop starting records until it completes (see stall.go).
	// 0: never.
	CommitStallHold time.Duration
	Logger          *slog.Logger
	// Permanent reports whether an error is not worth retrying; nil: none
	// is.
	Permanent func(error) bool
	// MaxRecordsPerSecond bounds the rate at which records start; 0: no
	// bound.
	MaxRecordsPerSecond float64
	// RetryAfter reports whether an error asks to hold all dispatch, and
	// for how long (a downstream's 429 or 503 with Retry-After). The
	// record is then retried after that delay without using up a retry.
	// nil: no error does.
	RetryAfter func(error) (time.Duration, bool)
	// Adaptive runs between 1 and MaxProcCount handler calls at once,
	// adapting the limit to latency and overload (internal/limit).
	Adaptive bool
	// Overloaded reports whether an error says the downstream is
	// overloaded, for the adaptive limit; nil: none does.
	Overloaded func(error) bool
	// OnCommit, if not nil, is told of every commit request: how long it
	// took, how many partitions it carried and its error. It runs on the
	// committing goroutine and must be quick.
	OnCommit func(d time.Duration, partitions int, err error)
	// Share runs the engine on a share group (KIP-932): the broker tracks
	// each record's delivery, so there are no windows, no commits, no
	// pauses and no group events. Partitions are tracked as their records
	// arrive, records may come in any offset order and more than once,
	// and each record's final outcome goes to the Source's Ack (the Source
	// must implement Acker). Ordering must be Unordered.
	Share bool
}
