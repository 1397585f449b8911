package contenders

import (
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"
)

// Model is a handler workload. The same names are understood by the Java
// contender, so every contender runs the same work per record.
type Model string

// The handler models of the benchmark.
const (
	// NoOp measures the framework alone: fetch, dispatch, commit.
	NoOp Model = "0ms"
	// Sleep1ms and Sleep10ms model I/O-bound handlers: throughput is then
	// bounded by concurrency (Little's law), not by CPU.
	Sleep1ms  Model = "1ms"
	Sleep10ms Model = "10ms"
	// CPU models a CPU-bound handler: CPUIters chained SHA-256 rounds over
	// the value (about 50 µs with the default CPUIters on a current core).
	CPU Model = "cpu"
)

// DefaultCPUIters chained SHA-256 rounds of 32 bytes take ~50 µs on a
// current x86 core with SHA extensions (~120 ns each); `kwbench calibrate`
// prints the real figure for this machine.
const DefaultCPUIters = 350

// Models lists the models in report order.
var Models = []Model{NoOp, Sleep1ms, Sleep10ms, CPU}

// ParseModel checks s.
func ParseModel(s string) (Model, error) {
	for _, m := range Models {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown model %q (want 0ms, 1ms, 10ms or cpu)", s)
}

// Latency is the handler's own time per record for the sleep models, and 0
// for the others: the input to the Little's-law limit.
func (m Model) Latency() time.Duration {
	switch m {
	case Sleep1ms:
		return time.Millisecond
	case Sleep10ms:
		return 10 * time.Millisecond
	}
	return 0
}

// Handler returns the per-record work of m. It is safe for concurrent use.
// The sleep models measure their own duration into t (a time.Sleep lasts
// longer than asked: the timer's slack and the scheduler's delay), which
// calibrates the Little's-law limit.
func (m Model) Handler(cpuIters int, t *Tally) func(value []byte) {
	switch m {
	case Sleep1ms, Sleep10ms:
		d := m.Latency()
		return func([]byte) {
			start := time.Now()
			time.Sleep(d)
			t.HandlerTime(time.Since(start))
		}
	case CPU:
		return func(v []byte) { burn(v, cpuIters) }
	}
	return func([]byte) {}
}

// sink keeps the compiler from dropping the hashing as dead code (atomic:
// handlers run concurrently).
var sink atomic.Uint32

func burn(v []byte, iters int) {
	sum := sha256.Sum256(v)
	for range iters - 1 {
		sum = sha256.Sum256(sum[:])
	}
	sink.Add(uint32(sum[0]))
}

// Calibrate reports how long one call of the cpu model takes here.
func Calibrate(iters int) time.Duration {
	v := make([]byte, 100)
	const n = 2000
	start := time.Now()
	for range n {
		burn(v, iters)
	}
	return time.Since(start) / n
}
