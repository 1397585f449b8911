package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
	"github.com/kafkaworker/kafkaworker/bench/report"
)

// write saves the table (with the targets and the profile's top entries),
// the charts and the profile summaries.
func (r *runner) write(set report.Set) error {
	charts, err := report.WriteCharts(r.o.outDir, r.stamp, set)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	meta := report.Meta{
		Date: r.stamp, Command: "cd bench && go run ./cmd/kwbench " + strings.Join(os.Args[1:], " "),
		Machine: machine(), Versions: versions(r.java != nil, r.commit), Method: r.method(),
	}
	meta.Notes = append(meta.Notes, report.Targets(set, r.o.mpcs[len(r.o.mpcs)-1], r.o.mbb))
	if t := report.CommitTable(set); t != "" {
		meta.Notes = append(meta.Notes, "### Commits and the broker's CPU\n\nThe contenders built on franz-go count the OffsetCommit requests they write (a `kgo.HookBrokerWrite`, API key 8): **commits/s** in the steady state, **bytes/commit** on the wire; kafkaworker's commit observer gives the mean **commit latency**. **broker CPU** is the broker JVM's user+system CPU over the child's life (/proc/<pid>/stat, 10 ms ticks), with everything the contender asked of it. The seed row keeps the seed's appsettings.json: a commit per 100 records or 30 s (see DESIGN.md, Commits, for the rate this gives at full speed).\n\n"+t)
	}
	for label, name := range r.profiles {
		top := pprofTop(filepath.Join(r.o.outDir, name))
		_ = os.WriteFile(filepath.Join(r.o.outDir, strings.TrimSuffix(name, ".pprof")+".top.txt"), []byte(top), 0o644)
		meta.Notes = append(meta.Notes, fmt.Sprintf("### CPU profile: %s, 0 ms (`go tool pprof -top %s`)\n\n```\n%s```", label, name, top))
	}
	if n := curvesNote(r.o.outDir); n != "" {
		meta.Notes = append(meta.Notes, n)
	}
	for _, c := range charts {
		meta.Notes = append(meta.Notes, fmt.Sprintf("![%s](%s)", c, c))
	}
	path := filepath.Join(r.o.outDir, r.stamp+".md")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := report.WriteMarkdown(f, meta, set); err != nil {
		return err
	}
	logf("wrote %s and %d charts", path, len(charts))
	return f.Close()
}

// curvesNote points at the newest curves results in dir (`make
// bench-curves`, a run of its own: ~12 minutes more than this one would
// bear) and shows their plots, so this file holds every figure of the
// benchmark or a link to it.
func curvesNote(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*-curves.md"))
	if len(files) == 0 {
		return ""
	}
	slices.Sort(files)
	md := filepath.Base(files[len(files)-1])
	pngs, _ := filepath.Glob(filepath.Join(dir, strings.TrimSuffix(md, ".md")+"-*.png"))
	var b strings.Builder
	fmt.Fprintf(&b, "### Cost against scale\n\nCPU per record and peak RSS against partitions owned, MaxProcCount and record size, and the commit cost with 1,200 partitions, come from `make bench-curves` (its own broker and topics; medians of 3): [%s](%s).\n", md, md)
	for _, p := range pngs {
		fmt.Fprintf(&b, "\n![%s](%s)\n", filepath.Base(p), filepath.Base(p))
	}
	return b.String()
}

// method says how the runs were made and what each number means.
func (r *runner) method() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("### How it runs and what the numbers mean\n\n")
	w("- **Runs.** Each contender is its own process (`kwbench contend`, or the JVM of `parallel-consumer/`) consuming from the start in a fresh group; every row runs %d time(s), repetitions interleaved (all rows once, then all again), and each figure is the **median** with (min–max). **spread** = (max−min)/median.\n", r.o.reps)
	if t, ok := r.topics[true]; ok {
		w("- **0 ms** (the framework alone): every run reads the backlog `%s` (%s records, %.1f GB on the broker's disk: far more than any client buffers, and more than the fastest contender reads in the warm-up and window) for a fixed time: the window opens %v after the first record (warm-up) and lasts %v; then the contender stops taking records, lets the handlers in flight finish and makes its final commit. **steady rec/s** = records handled in the window ÷ its length. (Reading a 2,000,000-record topic whole, as this benchmark did before, takes the fastest contenders about a second on a quiet machine: that measures start-up.)\n",
			t.Name, commas(t.Records()), float64(t.DiskBytes)/1e9, r.o.warmup, r.o.window0)
	}
	if t, ok := r.topics[false]; ok {
		w("- **1 ms, 10 ms, 10ms-tail, cpu**: every run reads the backlog `%s` (%s records) for a fixed time: the window opens %v after the first record (warm-up) and lasts %v; then, as at 0 ms, the contender stops, drains and commits. **window s** shows the length achieved (shorter only if the backlog ran out, which the column then shows).\n",
			t.Name, commas(t.Records()), r.o.warmup, r.o.window)
	}
	if slices.Contains(r.o.models, contenders.Tail) {
		w("- **10 ms with a 1 s tail** (`10ms-tail`): a 10 ms sleep, but one record in 1,000 (those whose seq is a multiple of 1,000, the same records for every contender) sleeps 1 s, as a call that runs into a downstream timeout does. The mean is 10.99 ms, so the Little's-law limit barely moves; the rows show what a slow record costs the records around it: a consumer that waits for a whole batch before it commits and fetches again idles its other handlers. Only the rows that answer that run it: raw franz-go, the worker pool, kafkaworker unordered and key, the Parallel Consumer unordered.\n")
	}
	w("- **rec/s incl. start** = records handled ÷ (start-up + first record → final commit returned). That span is start-up + warm-up + window + drain.\n")
	w("- **start-up s** = from the contender's start (after the process or JVM is up: client creation, group join, first fetch) to the first record handed to a handler.\n")
	w("- **CPU ms/1k rec** = the child's user+sys CPU from wait4's rusage ÷ records handled × 1,000 (= µs per record), the whole process life including start-up. **steady CPU ms/1k** = the process's CPU over the steady-state window only (getrusage(RUSAGE_SELF); Java: OperatingSystemMXBean.getProcessCpuTime) ÷ the records handled in it.\n")
	w("- **peak RSS** = the child's own VmHWM (/proc/self/status); wait4's ru_maxrss would carry the forking orchestrator's high-water mark across exec.\n")
	w("- **handler mean ms** = the sleep handlers' own measured mean duration (clock read around each `time.Sleep` / `Thread.sleep`, in the contender process, over the steady-state window). **of calibrated limit** = steady rec/s ÷ (concurrency ÷ handler mean), the Little's-law limit calibrated in the same run; concurrency is MaxProcCount, or the 12 partitions for raw franz-go, sarama and partition order. The measured time includes the scheduler's delay in waking the sleeper, part of which the contender's own CPU use causes on 2 cores; the 10 ms target line also gives the share of the nominal limit (MaxProcCount ÷ 10 ms).\n")
	w("- **× raw franz-go** = steady rec/s ÷ raw franz-go's, medians.\n")
	w("- **Completeness.** Every contender reports, per partition, which offsets its handlers completed (a bit per offset). A run counts only if, per partition, the committed offset (read from the broker with kadm) equals the contiguous handled prefix (nothing committed that was not handled, nothing handled in order left uncommitted), and no record was handled twice. Otherwise the run is FAILED and left out of the medians. A run stopped in key order may also have handled records beyond its commit point (a later key's record done, an earlier one never started); the runs column counts them: not lost, handled again after a restart.\n")
	if r.o.share {
		w("- **Share rows** (`-share`): kafkaworker with GroupType share (KIP-932, 4 share clients by default), at MaxProcCount %d, 0 ms and 10 ms. Nothing is committed: each record is accepted when its handler returns. A share run releases what it did not finish when its window ends, so its completeness check is no record handled twice.\n", r.o.mpcs[len(r.o.mpcs)-1])
	}
	w("- **Commits.** kafkaworker commits once a second (CommitIntervalSeconds 1, MaxMsgCountBeforeCommit 1,000,000), like the Parallel Consumer's periodic commits; raw franz-go commits its marks every 5 s (autocommit), sarama every second; all commit once more at the end.\n")
	if t, ok := r.topics[true]; ok && t.DiskBytes > 0 {
		w("- **Data.** 12 partitions, 10,000 keys (`key-000000`…, 10 bytes) round-robin, murmur2-partitioned. Each value is 100 bytes, semi-random: `{\"seq\":<10 digits>,\"key\":\"key-<6 digits>\",\"payload\":\"<50 random hex digits>\"}` from a seeded PCG, produced by franz-go with its default snappy compression: %.0f bytes per record on the broker's disk for 110 bytes of key and value (%.2f:1, batch and record headers included), so a fetch holds a realistic number of records, unlike a constant value.\n",
			float64(t.DiskBytes)/float64(t.Records()), 110*float64(t.Records())/float64(t.DiskBytes))
	}
	w("- **Machine.** Broker, contender and orchestrator share the same cores; the orchestrator idles while a contender runs.\n")
	return b.String()
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// commit describes the library's commit, "-dirty" if the tree has changes.
// It is read before the runs: the results they write would make any tree
// look dirty.
func commit() string {
	out, err := execCommand(context.Background(), "git", "-C", "..", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// versions lists what the numbers depend on: the Go modules as built, the
// library's commit (see commit), the broker's jar, the JVM and the Parallel
// Consumer's pom.
func versions(java bool, commit string) []string {
	var v []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = append(v, bi.GoVersion)
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/twmb/franz-go", "github.com/IBM/sarama":
				v = append(v, d.Path+" "+d.Version)
			}
		}
	}
	v = append(v, "kafkaworker "+commit)
	home, _ := os.UserHomeDir()
	if jars, _ := filepath.Glob(filepath.Join(home, ".cache/kafkaworker/kafka/lib/kafka_2.13-*.jar")); len(jars) > 0 {
		v = append(v, "Apache Kafka "+strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jars[0]), "kafka_2.13-"), ".jar")+" (1 node, KRaft)")
	}
	if java {
		if out, err := execCommand(context.Background(), "java", "-version").CombinedOutput(); err == nil {
			v = append(v, strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
		}
		if pom, err := os.ReadFile("parallel-consumer/pom.xml"); err == nil {
			for _, k := range []string{"pc.version", "kafka.version"} {
				if m := regexp.MustCompile("<" + regexp.QuoteMeta(k) + ">([^<]+)<").FindSubmatch(pom); m != nil {
					v = append(v, map[string]string{"pc.version": "parallel-consumer-core ", "kafka.version": "kafka-clients "}[k]+string(m[1]))
				}
			}
		}
	}
	return v
}

// pprofTop runs `go tool pprof -top` on a profile; the profile carries its
// symbols, so the binary is not needed.
func pprofTop(path string) string {
	out, err := execCommand(context.Background(), "go", "tool", "pprof", "-top", "-nodecount=30", path).Output()
	if err != nil {
		return fmt.Sprintf("go tool pprof failed: %v\n", err)
	}
	return string(out)
}
