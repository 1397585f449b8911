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
	// Tail is Sleep10ms with a long tail, as a service with a timeout
	// has: one record in 1,000 (those whose seq is a multiple of 1,000,
	// the same records for every contender) waits 1 s. Its mean is
	// 10.99 ms, so Little's law barely moves; what it measures is what a
	// slow record costs the records around it.
	Tail Model = "10ms-tail"
	// CPU models a CPU-bound handler: CPUIters chained SHA-256 rounds over
	// the value (about 50 µs with the default CPUIters on a current core).
	CPU Model = "cpu"
)

// DefaultCPUIters chained SHA-256 rounds of 32 bytes take ~50 µs on a
// current x86 core with SHA extensions (~120 ns each); `kwbench calibrate`
// prints the real figure for this machine.
const DefaultCPUIters = 350

// Models lists the models in report order.
var Models = []Model{NoOp, Sleep1ms, Sleep10ms, Tail, CPU}

// ParseModel checks s.
func ParseModel(s string) (Model, error) {
	for _, m := range Models {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown model %q (want 0ms, 1ms, 10ms, 10ms-tail or cpu)", s)
}

// Latency is the handler's own time per record for the sleep models, and 0
// for the others: the input to the Little's-law limit.
func (m Model) Latency() time.Duration {
	switch m {
	case Sleep1ms:
		return time.Millisecond
	case Sleep10ms:
		return 10 * time.Millisecond
	case Tail:
		return (999*10*time.Millisecond + tailSleep) / tailEvery
	}
	return 0
}

// The Tail model's slow records: every tailEvery-th seq sleeps tailSleep.
const (
	tailEvery = 1000
	tailSleep = time.Second
)

// sleep is how long a sleep model's handler sleeps for value: its Latency,
// except that a Tail record whose seq (`{"seq":<10 digits>,…`, see
// harness/dataset.go) is a multiple of tailEvery sleeps tailSleep, and the
// others 10 ms. PcBench.java decides the same way.
func (m Model) sleep(value []byte) time.Duration {
	if m != Tail {
		return m.Latency()
	}
	const prefix = `{"seq":`
	if len(value) < len(prefix)+10 || string(value[:len(prefix)]) != prefix {
		return Sleep10ms.Latency()
	}
	var seq int64
	for _, c := range value[len(prefix) : len(prefix)+10] {
		seq = seq*10 + int64(c-'0')
	}
	if seq%tailEvery == 0 {
		return tailSleep
	}
	return Sleep10ms.Latency()
}

// Handler returns the per-record work of m. It is safe for concurrent use.
// The sleep models measure their own duration into t (a time.Sleep lasts
// longer than asked: the timer's slack and the scheduler's delay), which
// calibrates the Little's-law limit.
func (m Model) Handler(cpuIters int, t *Tally) func(value []byte) {
	switch m {
	case Sleep1ms, Sleep10ms, Tail:
		return func(v []byte) {
			start := time.Now()
			time.Sleep(m.sleep(v))
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
