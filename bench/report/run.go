// Package report turns measured runs into the Markdown table and the PNG
// charts under bench/results.
package report

import (
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// PartitionCount is the topic's partition count: the concurrency of the
// contenders that run one record per partition at a time.
const PartitionCount = 12

// Run is one measured contender run.
type Run struct {
	Spec    contenders.Spec
	Result  contenders.Result
	CPU     time.Duration
	PeakRSS int64
	Err     error // a failed run: lost records, uncommitted offsets, a crash
}

// Rate is records per second, or 0 for a failed run: a contender that loses
// records is not fast.
func (r Run) Rate() float64 {
	if r.Err != nil || r.Result.Elapsed <= 0 {
		return 0
	}
	return float64(r.Result.Handled) / r.Result.Elapsed.Seconds()
}

// RateWithStart is records per second from the contender's start (group
// join and any prefetch included) to the final commit; 0 for a failed run.
func (r Run) RateWithStart() float64 {
	d := r.Result.Elapsed + r.Result.Startup
	if r.Err != nil || d <= 0 {
		return 0
	}
	return float64(r.Result.Handled) / d.Seconds()
}

// Concurrency is how many handler calls the contender can run at once.
func (r Run) Concurrency() int {
	s := r.Spec
	if s.Contender == "raw-franz-go" || s.Contender == "sarama" || s.Ordering == "partition" {
		return PartitionCount
	}
	return s.MPC
}

// Set is every run of a benchmark, in the order they ran.
type Set []Run

// Find returns the first successful run matching contender, ordering and
// MPC (mpc < 0 matches any), or nil.
func (s Set) Find(model contenders.Model, contender, ordering string, mpc int) *Run {
	for i := range s {
		r := &s[i]
		if r.Err == nil && r.Spec.Model == model && r.Spec.Contender == contender &&
			r.Spec.Ordering == ordering && (mpc < 0 || r.Spec.MPC == mpc) {
			return r
		}
	}
	return nil
}

// Best returns the fastest successful run of a contender and ordering.
func (s Set) Best(model contenders.Model, contender, ordering string) *Run {
	var best *Run
	for i := range s {
		r := &s[i]
		if r.Err == nil && r.Spec.Model == model && r.Spec.Contender == contender && r.Spec.Ordering == ordering &&
			(best == nil || r.Rate() > best.Rate()) {
			best = r
		}
	}
	return best
}

// PCPeer is the Parallel Consumer run a row is compared with: same ordering
// and MaxProcCount where one exists, else PC unordered at the same
// MaxProcCount, else the fastest PC run of the model.
func (s Set) PCPeer(r Run) *Run {
	m := r.Spec.Model
	if p := s.Find(m, "parallel-consumer", r.Spec.Ordering, r.Spec.MPC); p != nil {
		return p
	}
	if p := s.Find(m, "parallel-consumer", "unordered", r.Spec.MPC); p != nil {
		return p
	}
	var best *Run
	for i := range s {
		p := &s[i]
		if p.Err == nil && p.Spec.Model == m && p.Spec.Contender == "parallel-consumer" && (best == nil || p.Rate() > best.Rate()) {
			best = p
		}
	}
	return best
}

// LittleLimit is the most a contender can achieve with handlers of the
// model's latency: min(concurrency ÷ latency, its own 0ms rate). It is 0
// when the model has no fixed latency or the 0ms run is missing.
func (s Set) LittleLimit(r Run) float64 {
	lat := r.Spec.Model.Latency()
	if lat == 0 {
		return 0
	}
	zero := s.Find(contenders.NoOp, r.Spec.Contender, r.Spec.Ordering, r.Spec.MPC)
	if zero == nil && r.Concurrency() == PartitionCount {
		zero = s.Find(contenders.NoOp, r.Spec.Contender, r.Spec.Ordering, -1)
	}
	limit := float64(r.Concurrency()) / lat.Seconds()
	if zero != nil {
		limit = min(limit, zero.Rate())
	}
	return limit
}
