package engine

import (
	"cmp"
	"slices"
	"time"
)

// PartitionStats describes one owned partition.
type PartitionStats struct {
	TP
	Epoch          uint64
	Committed      int64           // last committed offset; -1 before the first commit
	Committable    int64           // what the next commit would carry; -1 before the first record
	HighestFetched int64           // -1 before the first record
	HighWatermark  int64           // the log's end offset at the last fetch; -1 unknown
	Span           int64           // offsets between the commit point and the newest record
	Pending        int             // records fetched and not finished
	InFlight       int             // records taken by workers: running, or next in a worker's batch
	OldestInFlight time.Duration   // age of the oldest running call
	Paused         bool            // paused in the Source, for its window or an operator's hold
	Held           bool            // held by an operator (Engine.Pause)
	Blocked        []BlockedRecord // Block policy: records held, in offset order
}

// Stats is a snapshot of the engine.
type Stats struct {
	Counters
	InFlight      int
	Limit         int     // handler calls allowed at once now: MaxProcCount, or the adaptive limit
	PerSecond     float64 // the rate limit in force; 0: none
	Buffered      int
	BufferedBytes int64
	Partitions    []PartitionStats // sorted by topic, partition
}

// Stats returns a snapshot. It costs O(partitions).
func (e *Engine[R]) Stats() Stats {
	now := e.now()
	peak := int(e.peak.Load())
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Counters: e.counters, InFlight: int(e.calls.Load()), Buffered: e.flow.records, BufferedBytes: e.flow.bytes, Limit: e.conc.limit, PerSecond: e.pace.perSecond()}
	s.PeakInFlight = peak
	s.Partitions = make([]PartitionStats, 0, len(e.parts))
	for _, p := range e.parts {
		ps := PartitionStats{
			TP: p.tp, Epoch: p.epoch, Committed: p.committed,
			Committable: p.win.Committable(), HighestFetched: p.win.Next() - 1,
			Span: p.win.Span(), Pending: p.win.Pending(), InFlight: p.running.n, Paused: p.paused,
			HighWatermark: p.hwm, Held: e.holds.has(p.tp), Blocked: p.blockedStats(),
		}
		if e.cfg.Share {
			// No window: Pending is what is held, and Committable
			// counts acknowledgements, so that it moves as work is
			// done.
			ps.Pending, ps.Committable, ps.Span, ps.HighestFetched = p.held, p.acked, 0, -1
		}
		if ps.HighestFetched < -1 {
			ps.HighestFetched = -1
		}
		if it := p.running.head; it != nil {
			// Running lists are in the order records were taken.
			ps.OldestInFlight = now - it.started
		}
		s.Partitions = append(s.Partitions, ps)
	}
	slices.SortFunc(s.Partitions, func(a, b PartitionStats) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return s
}
