// Package contenders holds the consumers that kwbench compares. Each runs
// inside its own process (the `kwbench contend` subcommand) so that the
// orchestrator can read its CPU time and peak RSS from the kernel, and each
// prints one Result line that the orchestrator parses; the Java Parallel
// Consumer prints the same line.
package contenders

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Spec is one run: which consumer, with which handler, on which topic.
type Spec struct {
	Contender string // raw-franz-go, kafkaworker, sarama, parallel-consumer
	Ordering  string // unordered, key, partition (kafkaworker and parallel-consumer)
	MPC       int    // MaxProcCount / maxConcurrency; 0 where the design has none
	Model     Model
	CPUIters  int
	Bootstrap string
	Topic     string
	Group     string
	Records   int64  // records in the topic: the run ends when this many were handled
	Profile   string // CPU profile path, or empty
}

// Share as kafkaworker's Ordering runs it in share-group mode.
const Share = "share"

// Label names the contender and its settings, as in the results table.
func (s Spec) Label() string {
	switch {
	case s.Ordering != "" && s.MPC > 0:
		return fmt.Sprintf("%s %s %d", s.Contender, s.Ordering, s.MPC)
	case s.Ordering != "":
		return s.Contender + " " + s.Ordering
	}
	return s.Contender
}

// Result is what a contender reports on stdout, as one line:
//
//	KWBENCH handled=N elapsed_s=F startup_s=F peak_rss_kib=N
//
// elapsed_s runs from the first record handed to a handler until every
// record is handled and the final commit has returned; startup_s is the time
// before that (client start, group join), reported but not counted.
type Result struct {
	Handled int64
	Elapsed time.Duration
	Startup time.Duration
	// PeakRSSKiB is the process's own VmHWM from /proc/self/status. The
	// parent's wait4 rusage cannot be used for it: Linux carries the
	// high-water mark of the forking process's memory across exec, so
	// every child would report at least the orchestrator's RSS.
	PeakRSSKiB int64
	ErrorMsg   string
}

// ResultPrefix starts the line that carries a Result.
const ResultPrefix = "KWBENCH "

// String formats r as its line.
func (r Result) String() string {
	s := fmt.Sprintf("%shandled=%d elapsed_s=%.4f startup_s=%.4f peak_rss_kib=%d", ResultPrefix, r.Handled,
		r.Elapsed.Seconds(), r.Startup.Seconds(), r.PeakRSSKiB)
	if r.ErrorMsg != "" {
		s += " error=" + strconv.Quote(r.ErrorMsg)
	}
	return s
}

// ParseResult reads the line written by String (Go) or by the Java contender.
func ParseResult(line string) (Result, error) {
	var r Result
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), ResultPrefix)
	if !ok {
		return r, fmt.Errorf("not a result line: %q", line)
	}
	if i := strings.Index(rest, " error="); i >= 0 {
		msg, err := strconv.Unquote(rest[i+len(" error="):])
		if err != nil {
			msg = rest[i+len(" error="):]
		}
		r.ErrorMsg, rest = msg, rest[:i]
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "handled":
			r.Handled, err = strconv.ParseInt(v, 10, 64)
		case "peak_rss_kib":
			r.PeakRSSKiB, err = strconv.ParseInt(v, 10, 64)
		case "elapsed_s", "startup_s":
			var sec float64
			sec, err = strconv.ParseFloat(v, 64)
			d := time.Duration(sec * float64(time.Second))
			if k == "elapsed_s" {
				r.Elapsed = d
			} else {
				r.Startup = d
			}
		}
		if err != nil {
			return r, fmt.Errorf("result field %s: %w", f, err)
		}
	}
	return r, nil
}

// Run runs the Go contender s names until every record is handled and
// committed, or ctx ends.
func Run(ctx context.Context, s Spec) Result {
	var run func(context.Context, Spec, *Tally) error
	switch s.Contender {
	case "raw-franz-go":
		run = runFranz
	case "kafkaworker":
		run = runKafkaworker
	case "sarama":
		run = runSarama
	default:
		return Result{ErrorMsg: "unknown Go contender " + s.Contender}
	}
	t := NewTally(s.Records)
	err := run(ctx, s, t)
	r := t.Result()
	r.PeakRSSKiB = selfPeakRSS()
	if err != nil {
		r.ErrorMsg = err.Error()
	}
	return r
}

// Tally counts handled records and keeps the clock. Count is called by
// every handler, concurrently; Done is closed by the call that reaches the
// expected total, which is the contender's signal to commit and stop.
type Tally struct {
	want    int64
	n       atomic.Int64
	created time.Time
	first   atomic.Int64 // UnixNano of the first Count, 0 before it
	end     time.Time
	once    sync.Once
	done    chan struct{} // closed by the Count that reaches want
}

// NewTally starts the startup clock.
func NewTally(want int64) *Tally {
	return &Tally{want: want, created: time.Now(), done: make(chan struct{})}
}

// Start records the first record's arrival; later calls do nothing.
func (t *Tally) Start() {
	if t.first.Load() == 0 {
		t.first.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// Count records one handled record.
func (t *Tally) Count() {
	if t.n.Add(1) == t.want {
		t.once.Do(func() { close(t.done) })
	}
}

// Done is closed once every expected record was handled.
func (t *Tally) Done() <-chan struct{} { return t.done }

// Finish stops the clock: call it when the final commit has returned.
func (t *Tally) Finish() { t.end = time.Now() }

// Result reports the counts and times.
func (t *Tally) Result() Result {
	r := Result{Handled: t.n.Load()}
	first := t.first.Load()
	if first == 0 {
		r.ErrorMsg = "no record handled"
		return r
	}
	start := time.Unix(0, first)
	end := t.end
	if end.IsZero() {
		end = time.Now()
	}
	r.Startup = start.Sub(t.created)
	r.Elapsed = end.Sub(start)
	return r
}

// selfPeakRSS reads this process's VmHWM (KiB) from /proc/self/status, or 0.
func selfPeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
