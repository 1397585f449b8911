// Package report turns measured runs into the Markdown tables, the targets
// and the charts under bench/results.
package report

import (
	"slices"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// PartitionCount is the topic's partition count: the concurrency of the
// contenders that run one record per partition at a time.
const PartitionCount = 12

// Run is one measured contender run.
type Run struct {
	Spec    contenders.Spec
	Rep     int // 1-based repetition
	Result  contenders.Result
	CPU     time.Duration // the child's user+sys CPU, from wait4's rusage
	PeakRSS int64         // bytes
	// BrokerCPU is the broker JVM's user+system CPU over the child's life
	// (/proc/<pid>/stat before and after; 10 ms resolution); 0 when the
	// broker's pid is unknown.
	BrokerCPU time.Duration
	Err       error // a failed run: lost records, uncommitted offsets, a crash
}

// OK reports whether the run counts.
func (r Run) OK() bool { return r.Err == nil }

// RateWithStart is records per second from the contender's start (client
// creation, group join, first fetch) until the final commit returned.
func (r Run) RateWithStart() float64 {
	d := r.Result.Elapsed + r.Result.Startup
	if d <= 0 {
		return 0
	}
	return float64(r.Result.Handled) / d.Seconds()
}

// SteadyRate is records per second in the steady-state window.
func (r Run) SteadyRate() float64 {
	if r.Result.SteadyTime <= 0 {
		return 0
	}
	return float64(r.Result.SteadyN) / r.Result.SteadyTime.Seconds()
}

// CPUPer1k is the whole process's CPU milliseconds per 1,000 records
// handled (= µs per record), start-up and shutdown included.
func (r Run) CPUPer1k() float64 {
	if r.Result.Handled == 0 {
		return 0
	}
	return r.CPU.Seconds() * 1e3 / float64(r.Result.Handled) * 1e3
}

// SteadyCPUPer1k is the CPU milliseconds per 1,000 records in the
// steady-state window.
func (r Run) SteadyCPUPer1k() float64 {
	if r.Result.SteadyN == 0 {
		return 0
	}
	return r.Result.SteadyCPU.Seconds() * 1e3 / float64(r.Result.SteadyN) * 1e3
}

// Beyond counts records handled beyond the commit point when the run
// stopped (distinct offsets handled minus the contiguous prefix): handled,
// not committed, so handled again after a restart.
func (r Run) Beyond() int64 {
	var n int64
	for p := range r.Result.Prefix {
		n += r.Result.Distinct[p] - r.Result.Prefix[p]
	}
	return n
}

// RSSMiB is the peak RSS in MiB.
func (r Run) RSSMiB() float64 { return float64(r.PeakRSS) / (1 << 20) }

// Concurrency is how many handler calls the contender can run at once.
func (r Run) Concurrency() int {
	s := r.Spec
	switch {
	case s.Contender == "franz-go-pool":
		return PartitionCount * ((s.MPC + PartitionCount - 1) / PartitionCount)
	case s.MPC == 0 || s.Ordering == "partition":
		return PartitionCount // one record per partition at a time
	}
	return s.MPC
}

// Limit is the calibrated Little's-law limit: concurrency ÷ the handlers'
// own measured mean duration in this run; 0 when the model has no sleep.
func (r Run) Limit() float64 {
	if r.Spec.Model.Latency() == 0 || r.Result.HandlerMean <= 0 {
		return 0
	}
	return float64(r.Concurrency()) / r.Result.HandlerMean.Seconds()
}

// OfLimit is the steady-state rate as a fraction of Limit.
func (r Run) OfLimit() float64 {
	if l := r.Limit(); l > 0 {
		return r.SteadyRate() / l
	}
	return 0
}

// HandlerMeanMs is the sleep handlers' own measured mean duration in ms.
func (r Run) HandlerMeanMs() float64 { return r.Result.HandlerMean.Seconds() * 1e3 }

// Set is every run of a benchmark, in the order they ran.
type Set []Run

// Row is one contender configuration of one model: its repetitions.
type Row struct {
	Spec contenders.Spec
	Runs []Run
}

// Rows groups s by model and label, in the order each first ran.
func (s Set) Rows(model contenders.Model) []Row {
	var rows []Row
	for _, r := range s {
		if r.Spec.Model != model {
			continue
		}
		i := slices.IndexFunc(rows, func(w Row) bool { return w.Spec.Label() == r.Spec.Label() })
		if i < 0 {
			rows = append(rows, Row{Spec: r.Spec})
			i = len(rows) - 1
		}
		rows[i].Runs = append(rows[i].Runs, r)
	}
	return rows
}

// Find returns the row of model whose label is label, or nil.
func (s Set) Find(model contenders.Model, label string) *Row {
	for _, w := range s.Rows(model) {
		if w.Spec.Label() == label {
			return &w
		}
	}
	return nil
}

// Failed counts the row's failed runs.
func (w Row) Failed() int {
	n := 0
	for _, r := range w.Runs {
		if !r.OK() {
			n++
		}
	}
	return n
}

// Stat is a figure over a row's successful runs.
type Stat struct {
	Med, Min, Max float64
	N             int
}

// Spread is (max − min) ÷ median.
func (s Stat) Spread() float64 {
	if s.Med == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Med
}

// Stat computes f over the row's successful runs where f is positive.
func (w Row) Stat(f func(Run) float64) Stat {
	var v []float64
	for _, r := range w.Runs {
		if x := f(r); r.OK() && x > 0 {
			v = append(v, x)
		}
	}
	return stat(v)
}

func stat(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Stat{Med: med, Min: v[0], Max: v[len(v)-1], N: len(v)}
}
