package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
	"github.com/kafkaworker/kafkaworker/bench/harness"
	"github.com/kafkaworker/kafkaworker/bench/report"
)

var execCommand = exec.CommandContext

// runner runs the matrix against one broker. It is used by one goroutine.
type runner struct {
	o         options
	bootstrap string
	java      []string               // the Parallel Consumer's command line, nil without -java
	stamp     string                 // results file prefix: the date, plus -quick
	topics    map[bool]harness.Topic // by zero: the 0 ms backlog, the sleep models' backlog
	profiles  map[string]string      // label → profile file, for the notes
	start     time.Time
	groups    int
	brokerPid int    // the broker's JVM, for its CPU per run; 0: unknown
	commit    string // the library's commit as the run began: see commit
}

// zero reports whether m is the 0 ms model: every model runs for a fixed
// window on a backlog, but the 0 ms one reads ~40 times as fast, so it has a
// backlog (and a window) of its own. Reading a topic whole would measure
// start-up: on a quiet machine the fastest contenders read 2,000,000
// records in about a second.
func zero(m contenders.Model) bool { return m == contenders.NoOp }

// prepare creates and fills the backlogs the models need: the 0 ms one and
// the sleep models' one.
func (r *runner) prepare(ctx context.Context) error {
	r.topics = map[bool]harness.Topic{}
	for _, m := range r.o.models {
		z := zero(m)
		if _, ok := r.topics[z]; ok {
			continue
		}
		n, name := r.o.backlog, fmt.Sprintf("kwbench-backlog-%d", r.o.backlog)
		if z {
			n, name = r.o.records, fmt.Sprintf("kwbench-0ms-%d", r.o.records)
		}
		t0 := time.Now()
		d := harness.Dataset{Topic: name, Partitions: report.PartitionCount, Records: n, ValueSize: 100, Keys: 10_000}
		t, err := d.Create(ctx, r.bootstrap)
		if err != nil {
			return err
		}
		r.topics[z] = t
		logf("topic %s: %d records of 100 bytes over 10,000 keys, %.0f MB on the broker's disk, ready in %.1fs",
			t.Name, t.Records(), float64(t.DiskBytes)/1e6, time.Since(t0).Seconds())
	}
	return nil
}

// runAll runs, model by model, every row once per repetition (repetitions
// interleaved, so that a slow spell of the shared machine spreads over the
// rows instead of hitting one row's every run), printing a progress line per
// run; then the profiled runs of the 0 ms model.
func (r *runner) runAll(ctx context.Context) (report.Set, error) {
	total := 0
	for _, m := range r.o.models {
		total += r.o.reps * len(r.matrix(m))
	}
	var set report.Set
	r.start = time.Now()
	// The children's stderr log is this run's alone.
	if err := os.WriteFile(filepath.Join(r.o.outDir, r.stamp+".log"), nil, 0o644); err != nil {
		return set, err
	}
	for _, m := range r.o.models {
		specs := r.matrix(m)
		for rep := 1; rep <= r.o.reps; rep++ {
			for _, s := range specs {
				if ctx.Err() != nil {
					return set, ctx.Err()
				}
				run := r.run(ctx, s)
				run.Rep = rep
				set = append(set, run)
				progress(len(set), total, time.Since(r.start), run)
			}
		}
	}
	r.profileZero(ctx, set)
	return set, nil
}

// matrix is the model's rows, those that -only names (any of its
// comma-separated parts in the label).
func (r *runner) matrix(m contenders.Model) []contenders.Spec {
	specs := harness.Matrix(m, r.o.mpcs, r.o.mbb, r.java != nil, r.o.peers, r.o.share)
	if r.o.only == "" {
		return specs
	}
	return slices.DeleteFunc(specs, func(s contenders.Spec) bool {
		for _, part := range strings.Split(r.o.only, ",") {
			if strings.Contains(s.Label(), part) {
				return false
			}
		}
		return true
	})
}

func progress(i, total int, since time.Duration, run report.Run) {
	status := "ok"
	if run.Err != nil {
		status = "FAILED: " + run.Err.Error()
	}
	s := run.Spec
	fmt.Fprintf(os.Stderr, "[%2d/%d %6s] %-36s %-4s rep %d %8d rec  steady %8.0f rec/s  incl. start %8.0f  start-up %4.1fs  cpu %6.3f ms/1k  rss %4.0f MiB",
		i, total, since.Round(time.Second), s.Label(), s.Model, run.Rep, run.Result.Handled, run.SteadyRate(), run.RateWithStart(),
		run.Result.Startup.Seconds(), run.CPUPer1k(), run.RSSMiB())
	if run.Limit() > 0 {
		fmt.Fprintf(os.Stderr, "  %3.0f%% of %.0f", 100*run.OfLimit(), run.Limit())
	}
	if n := run.Beyond(); n > 0 {
		fmt.Fprintf(os.Stderr, "  %d beyond the commit", n)
	}
	fmt.Fprintf(os.Stderr, "  %s\n", status)
}

// profileZero repeats the 0 ms run of kafkaworker unordered at the highest
// MaxProcCount and of raw franz-go with a CPU profile. The profiled runs are
// extra, so the table's numbers carry no profiling overhead.
func (r *runner) profileZero(ctx context.Context, set report.Set) {
	r.profiles = map[string]string{}
	hi := r.o.mpcs[len(r.o.mpcs)-1]
	labels := []string{fmt.Sprintf("kafkaworker unordered %d", hi), "raw-franz-go"}
	if r.o.share {
		labels = append(labels, fmt.Sprintf("kafkaworker %s %d", contenders.Share, hi))
	}
	for _, label := range labels {
		w := set.Find(contenders.NoOp, label)
		if w == nil || ctx.Err() != nil {
			continue
		}
		s := w.Spec
		name := fmt.Sprintf("%s-%s-0ms.pprof", r.stamp, s.Contender)
		if s.Ordering == contenders.Share {
			name = fmt.Sprintf("%s-%s-share-0ms.pprof", r.stamp, s.Contender)
		}
		s.Profile, _ = filepath.Abs(filepath.Join(r.o.outDir, name))
		run := r.run(ctx, s)
		logf("profiled %s 0ms: %.0f rec/s steady (with profiling) -> %s", s.Label(), run.SteadyRate(), name)
		if run.Err == nil {
			r.profiles[s.Label()] = name
		}
	}
}

// run runs one spec in a child process and checks completeness.
func (r *runner) run(ctx context.Context, s contenders.Spec) report.Run {
	if s.Topic == "" { // the matrix's topics; the curves set their own
		z := zero(s.Model)
		t := r.topics[z]
		s.Topic, s.Ends = t.Name, t.Ends
		s.Warmup, s.Window = r.o.warmup, r.o.window
		if z {
			s.Window = r.o.window0
		}
	}
	s.Bootstrap = r.bootstrap
	r.groups++
	s.Group = fmt.Sprintf("kwbench-%d-%d", r.start.Unix(), r.groups)
	s.CPUIters = r.o.cpuIters
	args := []string{"-contender", s.Contender, "-ordering", s.Ordering, "-mpc", strconv.Itoa(s.MPC),
		"-model", string(s.Model), "-cpu-iters", strconv.Itoa(s.CPUIters), "-bootstrap", s.Bootstrap,
		"-topic", s.Topic, "-group", s.Group, "-ends", formatEnds(s.Ends),
		"-warmup", s.Warmup.String(), "-window", s.Window.String(),
		"-max-buffered-bytes", strconv.Itoa(s.MaxBufferedBytes),
		"-timeout", strconv.Itoa(int(r.o.runTimeout.Seconds()))}
	if s.Profile != "" {
		args = append(args, "-cpuprofile", s.Profile)
	}
	if s.Seed {
		args = append(args, "-seed")
	}
	var cmd []string
	if s.Contender == "parallel-consumer" {
		cmd = append(append(cmd, r.java...), args...)
	} else {
		self, err := os.Executable()
		if err != nil {
			return report.Run{Spec: s, Err: err}
		}
		cmd = append([]string{self, "contend"}, args...)
	}
	runCtx, cancel := context.WithTimeout(ctx, r.o.runTimeout+time.Minute)
	defer cancel()
	logw, err := os.OpenFile(filepath.Join(r.o.outDir, r.stamp+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return report.Run{Spec: s, Err: err}
	}
	defer logw.Close()
	fmt.Fprintf(logw, "== %s %s group %s\n", s.Label(), s.Model, s.Group)
	broker := harness.ProcessCPU(r.brokerPid)
	res, usage, err := harness.RunChild(runCtx, logw, cmd[0], cmd[1:]...)
	run := report.Run{Spec: s, Result: res, CPU: usage.CPU, PeakRSS: usage.PeakRSS, Err: err}
	if after := harness.ProcessCPU(r.brokerPid); broker >= 0 && after >= broker {
		run.BrokerCPU = after - broker
	}
	if res.PeakRSSKiB > 0 {
		run.PeakRSS = res.PeakRSSKiB * 1024 // see Result.PeakRSSKiB: rusage overstates it
	}
	if run.Err == nil && res.ErrorMsg != "" {
		run.Err = fmt.Errorf("%s", res.ErrorMsg)
	}
	if run.Err == nil && res.SteadyTime <= 0 {
		run.Err = fmt.Errorf("no steady-state window: the backlog ran out during the warm-up (raise -backlog)")
	}
	if run.Err == nil {
		vctx, vcancel := context.WithTimeout(ctx, 30*time.Second)
		if s.Ordering == contenders.Share {
			run.Err = harness.VerifyShare(vctx, r.bootstrap, s.Group, s.Topic, s.Ends, res, s.Window == 0)
		} else {
			run.Err = harness.Verify(vctx, r.bootstrap, s.Group, s.Topic, s.Ends, res, s.Window == 0)
		}
		vcancel()
	}
	return run
}
