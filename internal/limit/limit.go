// Package limit is an adaptive concurrency limit: AIMD on latency and
// overload, in the manner of Netflix's concurrency-limits (its AIMD and
// Vegas limits), small enough to read in one sitting. It imports nothing
// from Kafka or the engine.
//
// A call that reports overload (a 503, a 429) cuts the limit to 90% at
// once and starts a new window; calls that started before that cut do not
// cut it again. Other completed calls are grouped in windows of about one
// round trip (as many samples as the limit). At the end of each window the
// limit is:
//   - cut to 90% when the window's typical latency (the mean of its first
//     64 calls without overload, the slowest eighth left out) exceeds
//     Tolerance × the baseline, the lower quartile of the recent windows'
//     typical latencies: queueing has begun downstream. The slowest eighth
//     is left out because a few calls delayed by the machine (a descheduled
//     goroutine, a GC pause) would pull a plain mean up and cut a limit the
//     downstream did not ask to cut: on a loaded 2-core machine that alone
//     held the limit at a fifth of the best one at times;
//   - otherwise raised, if the window used at least half the limit (a limit
//     nobody uses proves nothing): doubled until the first cut (slow start,
//     so that a cold start reaches a high limit in a few round trips), then
//     by one per window.
//
// Invariants (limit_test.go): Min ≤ Limit() ≤ Max at all times; a window
// with overload never raises the limit; a window that does not use half
// the limit never changes it.
package limit

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of an AIMD's tuning.
const (
	DefaultTolerance = 1.3 // window's typical latency / baseline above which latency counts as rising
	DefaultBackoff   = 0.9 // factor of a cut
	baselineWindows  = 256 // windows the baseline remembers
	windowSample     = 64  // latencies of a window its typical latency is taken from
)

// AIMD is an adaptive limit between 1 and a maximum. It is safe for
// concurrent use: callers report each completed call with Sample.
type AIMD struct {
	mu        sync.Mutex
	limit     float64
	max       float64
	tolerance float64
	slowStart bool

	// The current window: samples, and the latency of those without
	// overload (an overloaded call often fails fast: its latency says
	// nothing of the queue).
	n        int
	timed    int
	lat      [windowSample]time.Duration // the first timed latencies
	peak     int                         // most calls in flight seen by a sample
	overload bool

	means  [baselineWindows]time.Duration // recent windows' typical latencies, a ring
	next   int
	sorted []time.Duration // scratch for baseline

	current atomic.Int64 // int(limit), for Limit without the mutex
	lastCut time.Time    // when an overload last cut the limit
	now     func() time.Time
}

// New returns a limit starting at initial, bounded by 1 and max.
func New(initial, maxLimit int) *AIMD {
	a := &AIMD{tolerance: DefaultTolerance, slowStart: true, now: time.Now}
	a.max = float64(max(maxLimit, 1))
	a.limit = min(max(float64(initial), 1), a.max)
	a.current.Store(int64(a.limit))
	return a
}

// Limit returns the current limit. It takes no lock: callers may check it
// before every call.
func (a *AIMD) Limit() int { return int(a.current.Load()) }

// SetMax changes the maximum; the limit is lowered to it if above.
func (a *AIMD) SetMax(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.max = float64(max(n, 1))
	a.limit = min(a.limit, a.max)
	a.current.Store(int64(a.limit))
}

// Sample reports one completed call: its latency, how many calls were in
// flight when it started (itself included), and whether it reported
// overload. It returns the limit, changed at the end of a window.
func (a *AIMD) Sample(latency time.Duration, inflight int, overload bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if overload {
		// Cut at once rather than at the end of the window: calls
		// beyond the downstream's capacity fail fast and would fill
		// the window with failures. Calls that started before the last
		// cut do not cut again.
		now := a.now()
		if now.Add(-latency).Before(a.lastCut) {
			return int(a.limit)
		}
		a.lastCut = now
		a.overload = true
		a.endWindow()
		return int(a.limit)
	}
	a.n++
	if !overload {
		a.timed++
		if a.timed <= windowSample {
			a.lat[a.timed-1] = latency
		}
	}
	a.peak = max(a.peak, inflight)
	a.overload = a.overload || overload
	if a.n >= max(int(a.limit), 8) {
		a.endWindow()
	}
	return int(a.limit)
}

// baseline is the latency the limit compares a window with: the lower
// quartile of the recent windows' typical latencies (this one's included). Not their
// minimum: latency is noisy (timers, GC, a busy machine), and one lucky
// window would make every later one look congested. Called with mu held.
func (a *AIMD) baseline(mean time.Duration) time.Duration {
	ms := append(a.sorted[:0], mean)
	for _, m := range a.means {
		if m > 0 {
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	a.sorted = ms
	return ms[len(ms)/4]
}

// endWindow adjusts the limit from the window's samples. Called with mu
// held.
func (a *AIMD) endWindow() {
	var mean, base time.Duration // mean: the window's typical latency
	if a.timed > 0 {
		lat := a.lat[:min(a.timed, windowSample)]
		slices.Sort(lat)
		keep := lat[:len(lat)-len(lat)/8]
		var sum time.Duration
		for _, l := range keep {
			sum += l
		}
		mean = sum / time.Duration(len(keep))
		base = a.baseline(mean)
		a.means[a.next] = mean
		a.next = (a.next + 1) % len(a.means)
	}
	switch {
	case a.overload || float64(mean) > a.tolerance*float64(base):
		a.limit = max(1, a.limit*DefaultBackoff)
		a.slowStart = false
	case float64(a.peak)*2 >= a.limit:
		if a.slowStart {
			a.limit *= 2
		} else {
			a.limit++
		}
		a.limit = min(a.limit, a.max)
	}
	a.n, a.timed, a.peak, a.overload = 0, 0, 0, false
	a.current.Store(int64(a.limit))
}
