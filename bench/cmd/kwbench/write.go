package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
	"github.com/kafkaworker/kafkaworker/bench/report"
)

// write saves the table (with the targets and the profile's top entries),
// the charts and the profile summaries.
func (r *runner) write(set report.Set) error {
	charts, err := report.WriteCharts(r.o.outDir, r.stamp, set, r.o.mpcs)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	meta := report.Meta{
		Date: r.stamp, Command: "cd bench && go run ./cmd/kwbench " + strings.Join(os.Args[1:], " "),
		Machine: machine(), Sizes: r.sizes,
	}
	meta.Notes = append(meta.Notes, r.matrixNote(), targets(set))
	for label, name := range r.profiles {
		top := pprofTop(filepath.Join(r.o.outDir, name))
		_ = os.WriteFile(filepath.Join(r.o.outDir, strings.TrimSuffix(name, ".pprof")+".top.txt"), []byte(top), 0o644)
		meta.Notes = append(meta.Notes, fmt.Sprintf("### CPU profile: %s, 0ms (`go tool pprof -top %s`)\n\n```\n%s```", label, name, top))
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

func (r *runner) matrixNote() string {
	return fmt.Sprintf("### Matrix\n\nRecords per model: 0ms %d, cpu %d, 1ms %d, 10ms %d (one topic per count, 12 partitions). "+
		"Only the 0ms model needs the large topic to measure the framework; the others are bounded by the handler, and the "+
		"contenders with one record per partition at a time (raw franz-go, sarama, kafkaworker partition) handle only ~12 records "+
		"per handler latency: the 10ms model at 1,000,000 records would take 23 minutes each. Those three run once per model "+
		"(MaxProcCount does not change their concurrency). MaxProcCount values: %v%s. The cpu model is %d chained SHA-256 rounds "+
		"(Java: MessageDigest) per record.",
		r.sizes[contenders.NoOp], r.sizes[contenders.CPU], r.sizes[contenders.Sleep1ms], r.sizes[contenders.Sleep10ms],
		r.o.mpcs, map[bool]string{true: " (quick: kafkaworker unordered at the lowest and highest, key mode and PC at the highest only)", false: ""}[r.o.quick],
		r.o.cpuIters)
}

// targets measures the targets; it never asserts them.
func targets(s report.Set) string {
	var b strings.Builder
	b.WriteString("### Targets (measured)\n\n")
	line := func(name string, got, want float64, detail string) {
		verdict := "MET"
		if got < want {
			verdict = "MISSED"
		}
		fmt.Fprintf(&b, "- %s: %.2f (target ≥ %.2f) **%s** — %s\n", name, got, want, verdict, detail)
	}
	kw := s.Best(contenders.NoOp, "kafkaworker", "unordered")
	if raw := s.Find(contenders.NoOp, "raw-franz-go", "", -1); kw != nil && raw != nil {
		line("kafkaworker unordered 0ms ÷ raw franz-go", kw.Rate()/raw.Rate(), 0.85,
			fmt.Sprintf("best kafkaworker unordered (%s) %.0f rec/s vs %.0f", kw.Spec.Label(), kw.Rate(), raw.Rate()))
	}
	if kw != nil {
		if pc := s.Best(contenders.NoOp, "parallel-consumer", "unordered"); pc != nil {
			line("kafkaworker unordered 0ms ÷ Parallel Consumer unordered 0ms", kw.Rate()/pc.Rate(), 5,
				fmt.Sprintf("best of each: %.0f vs %.0f rec/s (%s)", kw.Rate(), pc.Rate(), pc.Spec.Label()))
		}
	}
	var top *report.Run
	for i := range s {
		r := &s[i]
		if r.Err == nil && r.Spec.Model == contenders.Sleep10ms && r.Spec.Contender == "kafkaworker" &&
			r.Spec.Ordering == "unordered" && (top == nil || r.Spec.MPC > top.Spec.MPC) {
			top = r
		}
	}
	if top != nil {
		if lim := s.LittleLimit(*top); lim > 0 {
			line(fmt.Sprintf("kafkaworker unordered 10ms at MaxProcCount %d ÷ Little's-law limit", top.Spec.MPC), top.Rate()/lim, 0.9,
				fmt.Sprintf("%.0f rec/s of min(%d ÷ 10ms, its 0ms rate) = %.0f", top.Rate(), top.Spec.MPC, lim))
		}
	}
	for i := range s {
		k := &s[i]
		if k.Err != nil || k.Spec.Model != contenders.Sleep1ms || k.Spec.Contender != "kafkaworker" || k.Spec.Ordering != "key" {
			continue
		}
		if u := s.Find(contenders.Sleep1ms, "kafkaworker", "unordered", k.Spec.MPC); u != nil {
			line(fmt.Sprintf("kafkaworker key ÷ unordered, 1ms, MaxProcCount %d", k.Spec.MPC), k.Rate()/u.Rate(), 0.8,
				fmt.Sprintf("%.0f vs %.0f rec/s", k.Rate(), u.Rate()))
		}
	}
	failed := 0
	for _, r := range s {
		if r.Err != nil {
			failed++
		}
	}
	fmt.Fprintf(&b, "- completeness: %d of %d runs handled every record and committed every end offset\n", len(s)-failed, len(s))
	return b.String()
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
