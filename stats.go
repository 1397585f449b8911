package kafkaworker

import "time"

// Stats is a snapshot of a Consumer, for metrics and health checks.
type Stats struct {
	Processed      uint64 // records whose handler returned nil
	Failed         uint64 // records whose retries were used up
	Retried        uint64 // retries scheduled
	Skipped        uint64 // failed records let go by the skip policy
	DeadLettered   uint64 // failed records produced to the dead-letter topic
	Commits        uint64 // successful commit requests
	CommitErrors   uint64 // failed commit requests (retried)
	Assigned       uint64 // partitions assigned, over all rebalances
	Revoked        uint64 // partitions revoked
	Lost           uint64 // partitions lost without a revoke
	RevokeTimeouts uint64 // revoked partitions given up with handlers still running
	Joins          uint64 // times this member joined (or rejoined) its group
	Restored       uint64 // records not handled because the commit metadata said a previous owner had finished them
	Pauses         uint64 // partitions paused because their window was full
	Blocked        uint64 // records held by the block policy, over time (Partitions lists those held now)
	Unblocked      uint64 // blocked records let go by Release
	Holds          uint64 // times a RetryAfter error held all dispatch (extending a hold does not count)
	Freezes        uint64 // times the process was found not to have run for SessionTimeout or more (SIGSTOP, a paused VM); see README
	CommitStalls   uint64 // times a commit was stuck (ten times its typical time, 250 ms to 1 s: a rebalance or a coordinator change) and no new records started until it completed
	Polls          uint64 // polls that brought records
	Running        bool   // Run is consuming (false before Run and once shutdown starts)
	InFlight       int    // handler calls running now
	PeakInFlight   int    // most handler calls ever running at once
	Buffered       int    // records fetched and not finished
	BufferedBytes  int64  // their bytes (keys, values, headers)
	Partitions     []PartitionStats

	// Share mode (GroupType share). Acquired counts records the broker
	// handed to this consumer, redeliveries included; Accepted, Released
	// and Rejected the acknowledgements sent (a record is released when
	// it is not finished here: a retry its lock cannot wait for, the stop
	// policy, a shutdown; rejected when it failed for good and the skip
	// policy, or a Release under block, let it go); Renewed the lock
	// renewals. Deliveries counts acquired records by delivery count:
	// index i holds count i+1, the last index 5 and more.
	Acquired, Accepted, Released, Rejected, Renewed uint64
	Deliveries                                      [5]uint64
	// ConcurrencyLimit is how many handler calls may run at once now:
	// MaxProcCount (or what SetMaxProcCount set), or the adaptive limit.
	ConcurrencyLimit int
	// MaxRecordsPerSecond is the rate limit in force: the configured one,
	// or what SetMaxRecordsPerSecond set since; 0: none.
	MaxRecordsPerSecond float64
}

// PartitionStats describes one partition the consumer owns.
type PartitionStats struct {
	Topic     string
	Partition int32
	// Epoch numbers the assignment; it grows each time the partition is
	// assigned to this consumer again.
	Epoch uint64
	// Committed is the last offset committed (-1: none yet); Committable
	// is what the next commit would carry. In share mode nothing is
	// committed: Committed stays -1 and Committable counts the records of
	// the partition acknowledged so far, so that it still moves as work
	// is done (the health check's stall rule watches it).
	Committed, Committable int64
	// HighestFetched is the newest offset fetched (-1: none yet).
	HighestFetched int64
	// HighWatermark is the partition's log end offset at the last fetch
	// (-1: unknown), and Lag is HighWatermark minus Committed: the records
	// a crash now would leave to process again or still to process.
	HighWatermark, Lag int64
	// Span is the number of offsets the window tracks: from the commit
	// point to the newest fetched record.
	Span int64
	// Pending counts fetched records not finished; InFlight those whose
	// handler is running.
	Pending, InFlight int
	// OldestInFlight is how long the longest-running handler call has run.
	OldestInFlight time.Duration
	// Paused reports whether fetching is paused: because the window is
	// full, or because an operator paused it (then Held is true too).
	Paused bool
	// Held reports an operator's pause (Consumer.PausePartitions,
	// PauseAll), which the consumer's backpressure never resumes.
	Held bool
	// Blocked lists the records the block policy holds now, in offset
	// order; nil when none.
	Blocked []BlockedRecord
}

// BlockedRecord is a record held by the block policy: its retries are used
// up and it is retried without end until it succeeds or is released.
type BlockedRecord struct {
	Offset   int64
	Since    time.Time // when its retries were used up
	Attempts int       // attempts made so far
	Err      error     // the last attempt's error
	Released bool      // Release was called and its action is under way
}

// Stats returns a snapshot. It is cheap enough to call on every scrape.
func (c *Consumer) Stats() Stats {
	s := c.eng.Stats()
	out := Stats{
		Processed: s.Processed, Failed: s.Failed, Retried: s.Retried, Skipped: s.Skipped,
		DeadLettered: s.DeadLettered, Commits: s.Commits, CommitErrors: s.CommitErrors,
		Assigned: s.Assigned, Revoked: s.Revoked, Lost: s.Lost, RevokeTimeouts: s.RevokeTimeouts,
		Joins: s.Joins, Restored: s.Restored, Pauses: s.Pauses, Blocked: s.Blocked, Unblocked: s.Unblocked, Holds: s.Holds, Freezes: s.Freezes, CommitStalls: s.CommitStalls,
		Polls: s.Polls, Running: c.running.Load(), BufferedBytes: s.BufferedBytes,
		InFlight: s.InFlight, ConcurrencyLimit: s.Limit, MaxRecordsPerSecond: s.PerSecond, PeakInFlight: s.PeakInFlight, Buffered: s.Buffered,
		Partitions: make([]PartitionStats, len(s.Partitions)),
	}
	out.Acquired, out.Accepted, out.Released, out.Rejected, out.Deliveries = s.Acquired, s.Accepted, s.Released, s.Rejected, s.Deliveries
	if src := c.share.Load(); src != nil {
		out.Renewed = src.Renewed()
	}
	for i, p := range s.Partitions {
		out.Partitions[i] = PartitionStats{
			Topic: p.Topic, Partition: p.Partition, Epoch: p.Epoch,
			Committed: p.Committed, Committable: p.Committable, HighestFetched: p.HighestFetched,
			HighWatermark: p.HighWatermark, Lag: -1,
			Span: p.Span, Pending: p.Pending, InFlight: p.InFlight,
			OldestInFlight: p.OldestInFlight, Paused: p.Paused, Held: p.Held,
		}
		for _, b := range p.Blocked {
			out.Partitions[i].Blocked = append(out.Partitions[i].Blocked, BlockedRecord(b))
		}
		if p.HighWatermark >= 0 && p.Committed >= 0 {
			out.Partitions[i].Lag = max(p.HighWatermark-p.Committed, 0)
		}
	}
	return out
}

// Config returns the consumer's configuration with defaults applied.
func (c *Consumer) Config() Config { return c.cfg }
