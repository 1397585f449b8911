package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
	"github.com/kafkaworker/kafkaworker/bench/harness"
	"github.com/kafkaworker/kafkaworker/bench/report"
)

// The curves (`kwbench -curves`, `make bench-curves`) sweep one setting of
// kafkaworker unordered at a time, everything else at the matrix's values:
//
//   - partitions owned: 12, 120, 1,200 (0 ms handler, MaxProcCount 1000,
//     100-byte records, each topic read whole);
//   - MaxProcCount: 10 … 10,000 at the 10 ms handler (12 partitions, a
//     fixed window on the 12-partition topic);
//   - record size: 100 B, 10 KB, 1 MB values (0 ms, 12 partitions), each
//     topic read whole;
//   - commit cost against partitions: the partition points again with the
//     seed's appsettings.json (MaxProcCount 50, a commit per 100 records or
//     30 s) beside the benchmark's commit once a second.
//
// A whole-topic run's steady state lies between its 10% and 90% handled
// marks. The repetitions are interleaved as in the matrix. With -reps 3 it
// takes about 12 minutes on 2 cores, 6 more the first time, when the topics
// (10 GB on the broker's disk) are produced.

// curvePoint is one configuration of one curve's series.
type curvePoint struct {
	curve, series string
	x             float64
	label         string
	spec          contenders.Spec
}

// curveMPCs are the MaxProcCount points at 10 ms.
var curveMPCs = []int{10, 30, 100, 300, 1000, 3000, 10000}

// curves runs the curves and writes DATE-curves.md and its charts.
func (r *runner) curves(ctx context.Context) error {
	r.stamp += "-curves"
	r.start = time.Now()
	if err := os.WriteFile(filepath.Join(r.o.outDir, r.stamp+".log"), nil, 0o644); err != nil {
		return err
	}
	small := int64(10_000_000)  // 100-byte records per topic
	big := int64(4_000_000_000) // value bytes of the 10 KB and 1 MB topics
	mpcs := curveMPCs
	if r.o.quick {
		small, big, mpcs = 2_000_000, 200_000_000, []int{10, 100, 1000, 10000}
	}
	mk := func(parts int32, size int, n int64) harness.Dataset {
		return harness.Dataset{Topic: fmt.Sprintf("kwcurve-p%d-v%d-n%d", parts, size, n), Partitions: parts,
			Records: n, ValueSize: size, Keys: 10_000}
	}
	sets := []harness.Dataset{mk(12, 100, small), mk(120, 100, small), mk(1200, 100, small),
		mk(12, 10_000, big/10_000), mk(12, 1_000_000, big/1_000_000)}
	topics := map[string]harness.Topic{}
	for _, d := range sets {
		t0 := time.Now()
		t, err := d.Create(ctx, r.bootstrap)
		if err != nil {
			return err
		}
		topics[d.Topic] = t
		logf("topic %s: %d partitions, %d records of %d bytes, %.0f MB on the broker's disk, ready in %.1fs",
			t.Name, d.Partitions, t.Records(), d.ValueSize, float64(t.DiskBytes)/1e6, time.Since(t0).Seconds())
	}
	on := func(d harness.Dataset, model contenders.Model, mpc int, window bool) contenders.Spec {
		t := topics[d.Topic]
		s := contenders.Spec{Contender: "kafkaworker", Ordering: "unordered", MPC: mpc, Model: model, Topic: t.Name, Ends: t.Ends}
		if window {
			s.Warmup, s.Window = r.o.warmup, r.o.window
		}
		return s
	}
	var points []curvePoint
	for _, d := range sets[:3] {
		x := float64(d.Partitions)
		points = append(points, curvePoint{"partitions", "commit once a second", x, commas(int64(d.Partitions)), on(d, contenders.NoOp, 1000, false)})
		seed := on(d, contenders.NoOp, 50, false)
		seed.Seed = true
		points = append(points, curvePoint{"commits", "seed: per 100 records or 30 s", x, commas(int64(d.Partitions)), seed})
	}
	for _, m := range mpcs {
		points = append(points, curvePoint{"mpc", "", float64(m), commas(int64(m)), on(sets[0], contenders.Sleep10ms, m, true)})
	}
	for _, d := range []harness.Dataset{sets[0], sets[3], sets[4]} {
		points = append(points, curvePoint{"size", "", float64(d.ValueSize), sizeLabel(d.ValueSize), on(d, contenders.NoOp, 1000, false)})
	}

	runs := make([][]report.Run, len(points))
	total, done := r.o.reps*len(points), 0
	for rep := 1; rep <= r.o.reps; rep++ {
		for i, p := range points {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			run := r.run(ctx, p.spec)
			run.Rep = rep
			runs[i] = append(runs[i], run)
			done++
			fmt.Fprintf(os.Stderr, "%-10s %-8s ", p.curve, p.label)
			progress(done, total, time.Since(r.start), run)
			if c := run.Result.Commits; c.Requests > 0 {
				fmt.Fprintf(os.Stderr, "%19s commits: %d (%.1f/s steady), %.0f bytes each, mean latency %.2f ms; broker CPU %.1f s\n",
					"", c.Requests, run.CommitsPerSec(), run.BytesPerCommit(), run.CommitMeanMs(), run.BrokerCPU.Seconds())
			}
		}
	}
	return r.writeCurves(points, runs, sets)
}

func sizeLabel(b int) string {
	switch {
	case b >= 1_000_000:
		return fmt.Sprintf("%d MB", b/1_000_000)
	case b >= 1_000:
		return fmt.Sprintf("%d KB", b/1_000)
	}
	return fmt.Sprintf("%d B", b)
}

// writeCurves writes the curves' results file and charts.
func (r *runner) writeCurves(points []curvePoint, runs [][]report.Run, sets []harness.Dataset) error {
	build := func(name, title, xlabel string, panels []report.Panel, curves ...string) report.Curve {
		c := report.Curve{Name: name, Title: title, XLabel: xlabel, Panels: panels}
		for i, p := range points {
			if !contains(curves, p.curve) {
				continue
			}
			j := len(c.Series) - 1
			if j < 0 || c.Series[j].Name != p.series {
				j = -1
				for k, s := range c.Series {
					if s.Name == p.series {
						j = k
					}
				}
				if j < 0 {
					c.Series = append(c.Series, report.Series{Name: p.series})
					j = len(c.Series) - 1
				}
			}
			c.Series[j].Points = append(c.Series[j].Points, report.Point{X: p.x, Label: p.label,
				Runs: report.Row{Spec: p.spec, Runs: runs[i]}, Window: p.spec.Window > 0})
		}
		return c
	}
	valueSize := map[string]float64{}
	for _, d := range sets {
		valueSize[d.Topic] = float64(d.ValueSize)
	}
	mbps := report.Panel{Title: "steady-state throughput (values)", YLabel: "MB/s",
		F: func(r report.Run) float64 { return r.SteadyRate() * valueSize[r.Spec.Topic] / 1e6 }}
	cpuLog := report.PanelCPU
	cpuLog.LogY = true
	rateLog := report.PanelRate
	rateLog.LogY = true
	rateLog.Ideal = func(mpc float64) float64 { return mpc / 0.010 }
	rateLog.IdealName = "MaxProcCount ÷ 10 ms"
	curves := []report.Curve{
		build("partitions", "Partitions owned (0 ms handler, MaxProcCount 1000, 100-byte records)", "partitions",
			[]report.Panel{report.PanelCPU, report.PanelRSS, report.PanelRate}, "partitions"),
		build("mpc", "MaxProcCount (10 ms handler, 12 partitions, 100-byte records)", "MaxProcCount",
			[]report.Panel{report.PanelCPU, report.PanelRSS, rateLog}, "mpc"),
		build("size", "Record size (0 ms handler, MaxProcCount 1000, 12 partitions; each topic read whole)", "value bytes",
			[]report.Panel{cpuLog, report.PanelRSS, mbps}, "size"),
		build("commits", "Commit cost against partitions (0 ms handler): the benchmark's commit once a second and the seed's settings", "partitions",
			[]report.Panel{report.PanelCommits, report.PanelCommitBytes, report.PanelBroker}, "partitions", "commits"),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# kwbench curves %s\n\n", strings.TrimSuffix(r.stamp, "-curves"))
	fmt.Fprintf(&b, "Command: `cd bench && go run ./cmd/kwbench %s` (%s)  \nMachine: %s\n\n", strings.Join(os.Args[1:], " "),
		time.Since(r.start).Round(time.Second), machine())
	b.WriteString("Versions: " + strings.Join(versions(false, r.commit), "; ") + ".\n\n")
	b.WriteString(r.curvesMethod(sets))
	for _, c := range curves {
		name, err := report.WriteCurve(r.o.outDir, r.stamp, c)
		if err != nil {
			return fmt.Errorf("curve %s: %w", c.Name, err)
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n![%s](%s)\n\n", c.Title, report.CurveTable(c, c.Name == "commits"), name, name)
	}
	path := filepath.Join(r.o.outDir, r.stamp+".md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %d charts", path, len(curves))
	return nil
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// curvesMethod says how the curves were run and what each number means.
func (r *runner) curvesMethod(sets []harness.Dataset) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("### How it runs and what the numbers mean\n\n")
	w("- **Contender.** kafkaworker unordered, its own process (`kwbench contend`) consuming from the start in a fresh group, with default settings but MaxProcCount and, as in the matrix, a commit once a second (CommitIntervalSeconds 1, MaxMsgCountBeforeCommit 1,000,000); the seed rows use the seed's appsettings.json unchanged (MaxProcCount 50, MaxMsgCountBeforeCommit 100, CommitIntervalSeconds 30). Every point runs %d time(s), repetitions interleaved (all points once, then all again); each figure is the **median** with (min–max).\n", r.o.reps)
	w("- **Whole-topic points** (partitions, commits, record size; 0 ms handler): each run reads its topic whole (%s per partition count; %s), and the steady state lies between the 10%% and 90%% handled marks: a backlog of hundreds of MB to GB, far larger than the consumer's buffers (MaxBufferedBytes 64 MiB by default) or the client's. **Windowed points** (MaxProcCount, 10 ms handler): the window opens %v after the first record and lasts %v, on the 12-partition topic; then the contender stops, drains and commits.\n",
		topicsLine(sets[0]), topicsLine(sets[3], sets[4]), r.o.warmup, r.o.window)
	w("- **steady rec/s** = records handled in the steady state ÷ its length. **steady CPU µs/rec** = the process's user+system CPU (getrusage) over the steady state ÷ the records handled in it; **CPU ms/1k rec (whole run)** = the child's CPU from wait4 over its whole life ÷ records handled × 1,000, start-up, drain and final commit included. **peak RSS** = the child's VmHWM.\n")
	w("- **broker CPU s** = the broker JVM's user+system CPU over the child's life, from /proc/<pid>/stat before and after (10 ms ticks); everything the contender asked of it (fetches, commits, heartbeats, the group join) and the broker's own background work in that time. **broker CPU µs/rec** = that ÷ records handled.\n")
	w("- **commits/s** = OffsetCommit requests written to the broker in the steady state ÷ its length, counted on the wire by a franz-go hook (`kgo.HookBrokerWrite`, API key 8) inside the contender; **bytes/commit** = their mean size on the wire (header, group, member, and per partition the offset, epoch and the commit metadata that carries finished records above the commit point); **commits (run)** = all of them, the final commit included; **commit latency** = the mean request-to-response time reported by kafkaworker's commit observer (`WithCommitObserver`).\n")
	w("- **Completeness.** As in the matrix: per partition, the committed offset read back with kadm must equal the contiguous handled prefix, nothing handled twice; whole-topic runs must reach the end offsets. A failing run is FAILED and left out of the medians.\n")
	w("- **Machine.** Broker, contender and orchestrator share the same cores, with other work running on the machine: compare the points of one curve (run interleaved), not absolute figures across days.\n\n")
	return b.String()
}

func topicsLine(sets ...harness.Dataset) string {
	var l []string
	for _, d := range sets {
		l = append(l, fmt.Sprintf("%s records of %s", commas(d.Records), sizeLabel(d.ValueSize)))
	}
	return strings.Join(l, ", ")
}
