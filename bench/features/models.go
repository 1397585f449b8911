// Package features measures issue 12's features on a real broker, for
// `kwbench -features`: a BatchHandler against the single-record Handler on
// a simulated store, MaxRecordsPerSecond, and AdaptiveConcurrency against a
// downstream with a knee. This file holds the simulated store and
// downstream; run.go the child process side; check.go the key-order and
// dead-letter checks; report.go the results file.
//
// The store and the downstream are the ones of the library's own
// virtual-time benchmarks (batch_bench_test.go, internal/engine's
// concurrency_bench_test.go), which live in test files and cannot be
// imported; the numbers are the same, and the store gains a connection pool
// (see Store).
package features

import (
	"errors"
	"sync/atomic"
	"time"
)

// Store simulates a database reached through a pool of Conns connections:
// a call holds one connection for PerCall + PerRecord × its records, and
// waits for a free one when all are busy. With Conns 1 it is the library's
// BenchmarkBatchHandler store (calls queue for the one connection).
//
// Why a pool: MaxProcCount bounds records in flight, also for a
// BatchHandler, so against a store with unlimited parallel calls batching
// cannot win (N in flight take 5 + 0.05·B ms per batch of B, against 5.05 ms
// each alone). A real store has a bounded number of connections, and then a
// call's fixed cost is what batching saves: P/5.05 records per ms one at a
// time, P·B/(5 + 0.05·B) in batches of B.
//
// Safe for concurrent use.
type Store struct {
	conns              chan struct{} // a token per connection in use; capacity Conns
	perCall, perRecord time.Duration

	calls, records, holdNs atomic.Int64
}

// The store's costs, as in issue 12's target.
const (
	StorePerCall   = 5 * time.Millisecond
	StorePerRecord = 50 * time.Microsecond
)

// NewStore returns a store with conns connections and issue 12's costs.
func NewStore(conns int) *Store {
	return &Store{conns: make(chan struct{}, max(conns, 1)), perCall: StorePerCall, perRecord: StorePerRecord}
}

// Write writes n records in one call: it waits for a connection, holds it
// for the call's cost and returns. The time held is measured (a sleep lasts
// a little longer than asked), so that the store's real capacity can be
// computed.
func (s *Store) Write(n int) {
	s.conns <- struct{}{}
	start := time.Now()
	time.Sleep(s.perCall + time.Duration(n)*s.perRecord)
	s.holdNs.Add(int64(time.Since(start)))
	<-s.conns
	s.calls.Add(1)
	s.records.Add(int64(n))
}

// StoreCounts are the store's totals so far.
type StoreCounts struct {
	Calls, Records int64
	Hold           time.Duration // connection time held, summed over calls
}

// Counts reads the totals.
func (s *Store) Counts() StoreCounts {
	return StoreCounts{Calls: s.calls.Load(), Records: s.records.Load(), Hold: time.Duration(s.holdNs.Load())}
}

// Sub is the counts of the interval from o to c.
func (c StoreCounts) Sub(o StoreCounts) StoreCounts {
	return StoreCounts{Calls: c.Calls - o.Calls, Records: c.Records - o.Records, Hold: c.Hold - o.Hold}
}

// Err503 is the downstream's answer beyond its hard limit.
var Err503 = errors.New("503 Service Unavailable")

// Downstream simulates a service with a knee, as internal/engine's
// BenchmarkAdaptiveConcurrency does: 10 ms per call up to 100 calls at
// once, sharply more beyond (×2 at 120, ×5 at 140: 1 + ((c−100)/20)²), and
// an immediate 503 beyond 150. Safe for concurrent use.
type Downstream struct {
	conc, calls, overloaded atomic.Int64
	okNs                    atomic.Int64 // time taken by the calls answered
}

// Call is one call; it returns Err503 when more than 150 calls run.
func (d *Downstream) Call() error {
	c := d.conc.Add(1)
	defer d.conc.Add(-1)
	d.calls.Add(1)
	if c > 150 {
		d.overloaded.Add(1)
		return Err503
	}
	start := time.Now()
	time.Sleep(DownstreamLatency(int(c)))
	d.okNs.Add(int64(time.Since(start)))
	return nil
}

// DownstreamLatency is a call's latency with c calls running (itself
// included), for c ≤ 150.
func DownstreamLatency(c int) time.Duration {
	lat := 10 * time.Millisecond
	if c > 100 {
		x := float64(c-100) / 20
		lat = time.Duration(float64(lat) * (1 + x*x))
	}
	return lat
}

// DownstreamCounts are the downstream's totals so far.
type DownstreamCounts struct {
	Calls, Overloaded int64         // calls made; of which answered 503
	Answered          time.Duration // time taken by the others, summed: on a busy machine a 10 ms sleep takes longer
}

// Counts reads the totals.
func (d *Downstream) Counts() DownstreamCounts {
	return DownstreamCounts{Calls: d.calls.Load(), Overloaded: d.overloaded.Load(), Answered: time.Duration(d.okNs.Load())}
}

// Sub is the counts of the interval from o to c.
func (c DownstreamCounts) Sub(o DownstreamCounts) DownstreamCounts {
	return DownstreamCounts{Calls: c.Calls - o.Calls, Overloaded: c.Overloaded - o.Overloaded, Answered: c.Answered - o.Answered}
}
