package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	java      []string // the Parallel Consumer's command line, nil without -java
	stamp     string   // results file prefix: the date, plus -quick
	sizes     harness.Sizes
	profiles  map[string]string // label → profile file, for the notes
	start     time.Time
}

func (r *runner) topic(n int64) string { return fmt.Sprintf("kwbench-%d", n) }

// prepare creates one topic per distinct record count and fills it.
func (r *runner) prepare(ctx context.Context) error {
	r.sizes = harness.SizesFor(r.o.records)
	done := map[int64]bool{}
	for _, m := range r.o.models {
		n := r.sizes[m]
		if done[n] {
			continue
		}
		done[n] = true
		t0 := time.Now()
		d := harness.Dataset{Topic: r.topic(n), Partitions: report.PartitionCount, Records: n, ValueSize: 100, Keys: 10_000}
		if err := d.Create(ctx, r.bootstrap); err != nil {
			return err
		}
		logf("topic %s: %d records of 100 bytes over 10,000 keys ready in %.1fs", d.Topic, n, time.Since(t0).Seconds())
	}
	return nil
}

// runAll runs every model's matrix in order, printing a progress line per
// run, then the profiled runs of the 0ms model.
func (r *runner) runAll(ctx context.Context) (report.Set, error) {
	var specs []contenders.Spec
	for _, m := range r.o.models {
		specs = append(specs, harness.Matrix(m, r.o.mpcs, r.o.quick, r.java != nil)...)
	}
	var set report.Set
	r.start = time.Now()
	for i, s := range specs {
		if ctx.Err() != nil {
			return set, ctx.Err()
		}
		run := r.run(ctx, s, len(set))
		set = append(set, run)
		status := "ok"
		if run.Err != nil {
			status = "FAILED: " + run.Err.Error()
		}
		fmt.Fprintf(os.Stderr, "[%2d/%d %s] %-32s %-4s %8d rec %9.0f rec/s cpu %5.1fs rss %4.0f MiB  %s\n",
			i+1, len(specs), time.Since(r.start).Round(time.Second), s.Label(), s.Model, run.Spec.Records,
			run.Rate(), run.CPU.Seconds(), float64(run.PeakRSS)/(1<<20), status)
	}
	r.profileZero(ctx, set)
	return set, nil
}

// profileZero repeats the 0ms run of kafkaworker unordered (at its fastest
// MPC) and of raw franz-go with a CPU profile. The profiled runs are extra,
// so the table's numbers carry no profiling overhead.
func (r *runner) profileZero(ctx context.Context, set report.Set) {
	r.profiles = map[string]string{}
	best := set.Best(contenders.NoOp, "kafkaworker", "unordered")
	raw := set.Find(contenders.NoOp, "raw-franz-go", "", -1)
	for _, base := range []*report.Run{best, raw} {
		if base == nil || ctx.Err() != nil {
			continue
		}
		s := base.Spec
		name := fmt.Sprintf("%s-%s-0ms.pprof", r.stamp, s.Contender)
		s.Profile, _ = filepath.Abs(filepath.Join(r.o.outDir, name))
		run := r.run(ctx, s, len(set)+len(r.profiles))
		logf("profiled %s 0ms: %.0f rec/s (with profiling) -> %s", s.Label(), run.Rate(), name)
		if run.Err == nil {
			r.profiles[s.Label()] = name
		}
	}
}

// run runs one spec in a child process and checks completeness.
func (r *runner) run(ctx context.Context, s contenders.Spec, n int) report.Run {
	s.Bootstrap = r.bootstrap
	s.Records = r.sizes[s.Model]
	s.Topic = r.topic(s.Records)
	s.Group = fmt.Sprintf("kwbench-%d-%d", r.start.Unix(), n)
	s.CPUIters = r.o.cpuIters
	args := []string{"-contender", s.Contender, "-ordering", s.Ordering, "-mpc", strconv.Itoa(s.MPC),
		"-model", string(s.Model), "-cpu-iters", strconv.Itoa(s.CPUIters), "-bootstrap", s.Bootstrap,
		"-topic", s.Topic, "-group", s.Group, "-records", strconv.FormatInt(s.Records, 10),
		"-timeout", strconv.Itoa(int(r.o.runTimeout.Seconds()))}
	if s.Profile != "" {
		args = append(args, "-cpuprofile", s.Profile)
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
	res, usage, err := harness.RunChild(runCtx, logw, cmd[0], cmd[1:]...)
	run := report.Run{Spec: s, Result: res, CPU: usage.CPU, PeakRSS: usage.PeakRSS, Err: err}
	if res.PeakRSSKiB > 0 {
		run.PeakRSS = res.PeakRSSKiB * 1024 // see Result.PeakRSSKiB: rusage overstates it
	}
	if run.Err == nil && res.ErrorMsg != "" {
		run.Err = fmt.Errorf("%s", res.ErrorMsg)
	}
	if run.Err == nil && res.Handled != s.Records {
		run.Err = fmt.Errorf("handled %d of %d records", res.Handled, s.Records)
	}
	if run.Err == nil {
		vctx, vcancel := context.WithTimeout(ctx, 30*time.Second)
		if s.Ordering == contenders.Share {
			run.Err = harness.VerifyAcknowledged(vctx, r.bootstrap, s.Group, s.Topic)
		} else {
			run.Err = harness.VerifyCommitted(vctx, r.bootstrap, s.Group, s.Topic)
		}
		vcancel()
	}
	return run
}
