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
	"time"
)

// Spec is one run: which consumer, with which handler, on which topic.
type Spec struct {
	Contender string // raw-franz-go, kafkaworker, sarama, franz-go-pool, kafka-go, confluent-kafka-go, parallel-consumer
	Ordering  string // unordered, key, partition (kafkaworker and parallel-consumer)
	MPC       int    // MaxProcCount / maxConcurrency; 0 where the design has none
	// MaxBufferedBytes is kafkaworker's Config.MaxBufferedBytes; 0 keeps
	// the library's default.
	MaxBufferedBytes int
	// Seed runs kafkaworker with the seed's appsettings.json unchanged:
	// MaxProcCount 50, a commit after 100 records or 30 s, whichever comes
	// first (the other rows commit once a second).
	Seed      bool
	Model     Model
	CPUIters  int
	Bootstrap string
	Topic     string
	Group     string
	// Ends are the topic's end offsets, indexed by partition: a full run
	// ends when every record below them is handled, and every run tracks
	// which of them it handled.
	Ends []int64
	// Warmup and Window make a windowed run: the steady-state window opens
	// Warmup after the first record, lasts Window, and then the contender
	// stops (drains what is in flight and commits). Window 0 is a full run
	// that consumes the whole topic; its steady state is taken between the
	// 10% and 90% handled marks.
	Warmup, Window time.Duration
	Profile        string // CPU profile path, or empty
}

// Records is the number of records in the topic.
func (s Spec) Records() int64 {
	var n int64
	for _, e := range s.Ends {
		n += e
	}
	return n
}

// Share as kafkaworker's Ordering runs it in share-group mode.
const Share = "share"

// Label names the contender and its settings, as in the results table.
func (s Spec) Label() string {
	l := s.Contender
	switch {
	case s.Ordering != "" && s.MPC > 0:
		l = fmt.Sprintf("%s %s %d", s.Contender, s.Ordering, s.MPC)
	case s.Ordering != "":
		l = s.Contender + " " + s.Ordering
	}
	if s.MaxBufferedBytes > 0 {
		l += fmt.Sprintf(" MaxBufferedBytes %dMiB", s.MaxBufferedBytes>>20)
	}
	if s.Seed {
		l += " seed settings"
	}
	return l
}

// Result is what a contender reports on stdout, as one line:
//
//	KWBENCH handled=N elapsed_s=F startup_s=F peak_rss_kib=N steady_n=N steady_s=F
//	        steady_cpu_s=F handler_mean_us=F dups=N parts=P0/D0,P1/D1,... [error="..."]
//
// (on one line). elapsed_s runs from the first record handed to a handler
// until the final commit has returned; startup_s is the time before that
// (client start, group join). steady_n records were handled in the
// steady-state window of steady_s seconds, using steady_cpu_s CPU seconds
// of the whole process. handler_mean_us is the handlers' own measured mean
// time in that window (sleep models only). parts gives, per partition, the contiguous
// handled prefix (every offset below it handled) and the number of distinct
// offsets handled; dups counts records handled more than once. Go
// contenders that can observe their commits append the fields of Commits.
type Result struct {
	Handled int64
	Elapsed time.Duration
	Startup time.Duration
	// PeakRSSKiB is the process's own VmHWM from /proc/self/status. The
	// parent's wait4 rusage cannot be used for it: Linux carries the
	// high-water mark of the forking process's memory across exec, so
	// every child would report at least the orchestrator's RSS.
	PeakRSSKiB  int64
	SteadyN     int64
	SteadyTime  time.Duration
	SteadyCPU   time.Duration
	HandlerMean time.Duration
	Dups        int64
	Prefix      []int64 // per partition: every offset below it was handled
	Distinct    []int64 // per partition: distinct offsets handled
	Commits     Commits
	ErrorMsg    string
}

// ResultPrefix starts the line that carries a Result.
const ResultPrefix = "KWBENCH "

// String formats r as its line.
func (r Result) String() string {
	var parts []string
	for i := range r.Prefix {
		parts = append(parts, fmt.Sprintf("%d/%d", r.Prefix[i], r.Distinct[i]))
	}
	s := fmt.Sprintf("%shandled=%d elapsed_s=%.4f startup_s=%.4f peak_rss_kib=%d steady_n=%d steady_s=%.4f "+
		"steady_cpu_s=%.4f handler_mean_us=%.1f dups=%d parts=%s", ResultPrefix, r.Handled,
		r.Elapsed.Seconds(), r.Startup.Seconds(), r.PeakRSSKiB, r.SteadyN, r.SteadyTime.Seconds(),
		r.SteadyCPU.Seconds(), float64(r.HandlerMean)/float64(time.Microsecond), r.Dups, strings.Join(parts, ","))
	s += r.Commits.fields()
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
	seconds := func(v string) (time.Duration, error) {
		sec, err := strconv.ParseFloat(v, 64)
		return time.Duration(sec * float64(time.Second)), err
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "handled":
			r.Handled, err = strconv.ParseInt(v, 10, 64)
		case "peak_rss_kib":
			r.PeakRSSKiB, err = strconv.ParseInt(v, 10, 64)
		case "steady_n":
			r.SteadyN, err = strconv.ParseInt(v, 10, 64)
		case "dups":
			r.Dups, err = strconv.ParseInt(v, 10, 64)
		case "elapsed_s":
			r.Elapsed, err = seconds(v)
		case "startup_s":
			r.Startup, err = seconds(v)
		case "steady_s":
			r.SteadyTime, err = seconds(v)
		case "steady_cpu_s":
			r.SteadyCPU, err = seconds(v)
		case "handler_mean_us":
			var us float64
			us, err = strconv.ParseFloat(v, 64)
			r.HandlerMean = time.Duration(us * float64(time.Microsecond))
		case "commits", "commit_s", "steady_commits", "commit_reqs", "commit_bytes":
			err = r.Commits.parse(k, v)
		case "parts":
			for _, p := range strings.Split(v, ",") {
				if p == "" {
					continue
				}
				a, b, _ := strings.Cut(p, "/")
				pre, err1 := strconv.ParseInt(a, 10, 64)
				dis, err2 := strconv.ParseInt(b, 10, 64)
				if err1 != nil || err2 != nil {
					err = fmt.Errorf("bad partition entry %q", p)
					break
				}
				r.Prefix, r.Distinct = append(r.Prefix, pre), append(r.Distinct, dis)
			}
		}
		if err != nil {
			return r, fmt.Errorf("result field %s: %w", f, err)
		}
	}
	return r, nil
}

// Run runs the Go contender s names until it has handled what s asks for
// (every record, or a window's worth) and committed, or ctx ends.
func Run(ctx context.Context, s Spec) Result {
	var run func(context.Context, Spec, *Tally) error
	switch s.Contender {
	case "raw-franz-go":
		run = runFranz
	case "kafkaworker":
		run = runKafkaworker
	case "sarama":
		run = runSarama
	case "franz-go-pool":
		run = runFranzPool
	case "kafka-go":
		run = runKafkaGo
	case "confluent-kafka-go":
		run = runConfluent
	default:
		return Result{ErrorMsg: "unknown Go contender " + s.Contender}
	}
	t := NewTally(s)
	err := run(ctx, s, t)
	r := t.Result()
	r.PeakRSSKiB = SelfPeakRSS()
	if err != nil && r.ErrorMsg == "" {
		r.ErrorMsg = err.Error()
	}
	return r
}

// SelfPeakRSS reads this process's VmHWM (KiB) from /proc/self/status, or 0.
func SelfPeakRSS() int64 {
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
