package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker/bench/features"
	"github.com/kafkaworker/kafkaworker/bench/harness"
	"github.com/kafkaworker/kafkaworker/bench/report"
)

// featureSizes are the topics and windows of `kwbench -features`.
type featureSizes struct {
	backlog    int64         // the windowed runs' topic: enough for the fastest run's warm-up and window
	poison     int64         // the poison run's topic, read whole
	rateWindow time.Duration // issue 12: 30 s
	kneeReps   int           // repetitions of the downstream rows, interleaved
}

func sizesFor(o options) featureSizes {
	if o.quick {
		return featureSizes{backlog: 1_000_000, poison: 100_000, rateWindow: 10 * time.Second, kneeReps: 1}
	}
	// BatchHandler on 8 connections: at most 8·100/(5+5) ms = 80,000
	// records/s, 1.84 million in a 3 s warm-up and 20 s window. The poison
	// run reads its whole topic; a million records give it over 10 s of
	// steady state (between its 10% and 90% marks) at ~50,000 records/s.
	// The downstream rows run three times, interleaved, so that adaptive
	// and the fixed settings see the same spells of the shared machine's
	// load: adaptive concurrency reads latency, which that load stretches.
	return featureSizes{backlog: 3_000_000, poison: 1_000_000, rateWindow: 30 * time.Second, kneeReps: 3}
}

// runFeatures is `kwbench -features`: issue 12's targets on the broker at
// bootstrap, one child process per run, the results in
// results/DATE-features.md.
func runFeatures(ctx context.Context, o options, bootstrap string) error {
	sz := sizesFor(o)
	stamp := time.Now().Format("2006-01-02") + "-features"
	if o.quick {
		stamp += "-quick"
	}
	mk := func(name string, n int64) (harness.Topic, error) {
		t0 := time.Now()
		d := harness.Dataset{Topic: fmt.Sprintf("%s-%d", name, n), Partitions: report.PartitionCount, Records: n, ValueSize: 100, Keys: featureKeys}
		t, err := d.Create(ctx, bootstrap)
		if err == nil {
			logf("topic %s: %d records, ready in %.1fs", t.Name, t.Records(), time.Since(t0).Seconds())
		}
		return t, err
	}
	backlog, err := mk("kwfeatures-backlog", sz.backlog)
	if err != nil {
		return err
	}
	poisoned, err := mk("kwfeatures-poison", sz.poison)
	if err != nil {
		return err
	}
	start := time.Now()
	windowed := func(s features.Spec) features.Spec {
		s.Topic, s.Ends, s.Warmup = backlog.Name, backlog.Ends, o.warmup
		if s.Window == 0 {
			s.Window = o.window
		}
		return s
	}
	store := func(scenario string, conns int) features.Spec {
		return windowed(features.Spec{Scenario: scenario, MPC: 1000, Ordering: "key", Conns: conns})
	}
	knee := func(mpc int, adaptive bool) features.Spec {
		return windowed(features.Spec{Scenario: features.Knee, MPC: mpc, Ordering: "unordered", Adaptive: adaptive})
	}
	specs := []features.Spec{
		store(features.StoreSingle, 8), store(features.StoreBatch, 8),
		store(features.StoreSingle, 1), store(features.StoreBatch, 1),
		{Scenario: features.StoreBatch, MPC: 1000, Ordering: "key", Conns: 8, Topic: poisoned.Name, Ends: poisoned.Ends,
			DeadLetterTopic: "set per run"},
		windowed(features.Spec{Scenario: features.RateLimit, MPC: 1000, Ordering: "unordered", RatePerSecond: 5000, Window: sz.rateWindow}),
	}
	for rep := 1; rep <= sz.kneeReps; rep++ {
		for _, k := range []features.Spec{knee(50, false), knee(100, false), knee(120, false), knee(150, false), knee(1000, false), knee(1000, true)} {
			k.Rep = rep
			specs = append(specs, k)
		}
	}
	if o.only != "" { // -only: the rows whose label contains one of its comma-separated parts
		specs = slices.DeleteFunc(specs, func(s features.Spec) bool {
			for _, part := range strings.Split(o.only, ",") {
				if strings.Contains(s.Label(), part) {
					return false
				}
			}
			return true
		})
	}
	logPath := filepath.Join(o.outDir, stamp+".log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		return err
	}
	var runs []features.Run
	for i, s := range specs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.Bootstrap, s.Keys, s.Timeout = bootstrap, featureKeys, o.runTimeout
		s.Group = fmt.Sprintf("kwfeatures-%d-%d", start.Unix(), i)
		if s.DeadLetterTopic != "" {
			s.DeadLetterTopic = fmt.Sprintf("kwfeatures-dlt-%d-%d", start.Unix(), i)
			if err := createTopic(ctx, bootstrap, s.DeadLetterTopic); err != nil {
				return err
			}
		}
		run := runFeature(ctx, logPath, s)
		runs = append(runs, run)
		fmt.Fprintf(os.Stderr, "[%2d/%d %6s] %s\n", i+1, len(specs), time.Since(start).Round(time.Second), run.Summary())
	}
	date := start.Format("2006-01-02")
	if o.quick {
		date += " (-quick: short windows, not for the targets)"
	}
	meta := features.Meta{Date: date, Command: "cd bench && go run ./cmd/kwbench " + strings.Join(os.Args[1:], " "),
		Machine: machine(), Backlog: backlog.Name, BacklogRecords: backlog.Records(), Poison: poisoned.Name,
		PoisonRecords: poisoned.Records(), Keys: featureKeys, Log: filepath.Base(logPath)}
	path := filepath.Join(o.outDir, stamp+".md")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := features.WriteMarkdown(f, meta, runs); err != nil {
		return err
	}
	charts, err := features.WriteCharts(o.outDir, stamp, runs)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	for _, c := range charts {
		fmt.Fprintf(f, "\n![%s](%s)\n", c, c)
	}
	logf("wrote %s and %d charts", path, len(charts))
	return f.Close()
}

// featureKeys is the data set's distinct keys, as in the main benchmark.
const featureKeys = 10_000

func createTopic(ctx context.Context, bootstrap, name string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, name)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}

// runFeature runs one spec in a child process (`kwbench feature`), then
// checks completeness against the group's committed offsets and, for the
// poison run, the dead-letter topic.
func runFeature(ctx context.Context, logPath string, s features.Spec) (run features.Run) {
	run = features.Run{Spec: s, Load: [2]float64{loadavg(), 0}}
	defer func() { run.Load[1] = loadavg() }()
	spec, err := json.Marshal(s)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	self, err := os.Executable()
	if err != nil {
		run.Err = err.Error()
		return run
	}
	logw, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	defer logw.Close()
	fmt.Fprintf(logw, "== %s group %s\n", s.Label(), s.Group)
	runCtx, cancel := context.WithTimeout(ctx, s.Timeout+time.Minute)
	defer cancel()
	res, cpu, err := featureChild(runCtx, logw, self, "feature", "-spec", string(spec))
	run.Res, run.CPU = res, cpu
	switch {
	case err != nil:
		run.Err = err.Error()
	case res.ErrorMsg != "":
		run.Err = res.ErrorMsg
	case res.SteadyTime <= 0:
		run.Err = "no steady-state window: the backlog ran out during the warm-up"
	}
	if run.Err != "" {
		return run
	}
	vctx, vcancel := context.WithTimeout(ctx, 30*time.Second)
	defer vcancel()
	if err := harness.Verify(vctx, s.Bootstrap, s.Group, s.Topic, s.Ends, res.Result, s.Window == 0); err != nil {
		run.Err = "completeness: " + err.Error()
	}
	if s.DeadLetterTopic != "" {
		dead, err := features.DeadLetters(vctx, s.Bootstrap, s.DeadLetterTopic)
		if err != nil {
			run.Err = strings.TrimPrefix(run.Err+"; ", "; ") + "dead letters: " + err.Error()
		}
		c := features.CheckDeadLetters(dead, s.Records())
		run.DeadLetters = &c
	}
	return run
}

// featureChild runs `kwbench feature` and reads its result line and its
// CPU time from wait4's rusage; its stderr goes to logw.
func featureChild(ctx context.Context, logw io.Writer, name string, args ...string) (features.Result, time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, logw
	err := cmd.Run()
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
		}
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if r, ok := features.ParseLine(sc.Text()); ok {
			return r, cpu, err
		}
	}
	if err == nil {
		err = fmt.Errorf("%s printed no result line", name)
	}
	return features.Result{}, cpu, err
}

// feature is the child side of runFeature: `kwbench feature -spec JSON`.
func feature(args []string) error {
	fs := flag.NewFlagSet("feature", flag.ContinueOnError)
	spec := fs.String("spec", "", "the run, as JSON (features.Spec)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var s features.Spec
	if err := json.Unmarshal([]byte(*spec), &s); err != nil {
		return fmt.Errorf("feature -spec: %w", err)
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()
	r := features.Measure(ctx, s)
	if ctx.Err() != nil && r.ErrorMsg == "" {
		r.ErrorMsg = fmt.Sprintf("timeout after %s: handled %d of %d", s.Timeout, r.Handled, s.Records())
	}
	fmt.Println(r.Line())
	return nil
}

// loadavg is the machine's 1-minute load average, or -1.
func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
