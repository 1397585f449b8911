package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Meta describes the benchmark for the report's header.
type Meta struct {
	Date, Command, Machine string
	Versions               []string // "name version" lines
	Method                 string   // how the runs are made and what each number means
	Notes                  []string // free text after the tables: targets, matrix, profiles, charts
}

// WriteMarkdown writes the header, one table per model and the notes.
func WriteMarkdown(w io.Writer, m Meta, s Set) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# kwbench %s\n\n", m.Date)
	fmt.Fprintf(&b, "Command: `%s`  \nMachine: %s\n\n", m.Command, m.Machine)
	if len(m.Versions) > 0 {
		b.WriteString("Versions: " + strings.Join(m.Versions, "; ") + ".\n\n")
	}
	b.WriteString(m.Method + "\n\n")
	for _, model := range contenders.Models {
		writeModel(&b, model, s)
	}
	for _, n := range m.Notes {
		b.WriteString(n)
		b.WriteString("\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeModel(b *strings.Builder, model contenders.Model, s Set) {
	rows := s.Rows(model)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s handler\n\n", title(model))
	little := model.Latency() > 0
	b.WriteString("| contender | steady rec/s | spread | rec/s incl. start | spread | start-up s | CPU ms/1k rec | steady CPU ms/1k | peak RSS MiB | window s | × raw franz-go (steady) |")
	if little {
		b.WriteString(" handler mean ms | of calibrated limit |")
	}
	b.WriteString(" runs |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	if little {
		b.WriteString("---:|---:|")
	}
	b.WriteString("---|\n")
	var raw Stat
	if r := s.Find(model, "raw-franz-go"); r != nil {
		raw = r.Stat(Run.SteadyRate)
	}
	for _, w := range rows {
		steady, incl := w.Stat(Run.SteadyRate), w.Stat(Run.RateWithStart)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", w.Spec.Label(),
			rng(steady, 0), pct(steady.Spread()), rng(incl, 0), pct(incl.Spread()),
			rng(w.Stat(func(r Run) float64 { return r.Result.Startup.Seconds() }), 2),
			rng(w.Stat(Run.CPUPer1k), 2), rng(w.Stat(Run.SteadyCPUPer1k), 2), rng(w.Stat(Run.RSSMiB), 0),
			num(w.Stat(func(r Run) float64 { return r.Result.SteadyTime.Seconds() }).Med, 1),
			ratio(steady.Med, raw.Med))
		if little {
			lim := w.Stat(Run.OfLimit)
			fmt.Fprintf(b, " %s | %s |", num(w.Stat(Run.HandlerMeanMs).Med, 3),
				rngPct(lim))
		}
		fmt.Fprintf(b, " %s |\n", status(w))
	}
	b.WriteString("\n")
}

func status(w Row) string {
	ok := len(w.Runs) - w.Failed()
	s := fmt.Sprintf("%d/%d ok", ok, len(w.Runs))
	if want := w.Spec.Window; want > 0 {
		for _, r := range w.Runs {
			// The window's end is taken by a timer: allow its slack.
			if got := r.Result.SteadyTime; r.OK() && got < want*99/100 {
				s += fmt.Sprintf("; rep %d: window %.1f s < %v (the backlog ran out)", r.Rep, got.Seconds(), want)
			}
		}
	}
	for _, r := range w.Runs {
		if n := r.Beyond(); r.OK() && n > 0 {
			s += fmt.Sprintf("; rep %d: %d handled beyond the commit point at the stop", r.Rep, n)
		}
	}
	for _, r := range w.Runs {
		if !r.OK() {
			s += fmt.Sprintf("; rep %d FAILED: %s", r.Rep, strings.ReplaceAll(r.Err.Error(), "|", "/"))
		}
	}
	return s
}

func title(m contenders.Model) string {
	switch m {
	case contenders.NoOp:
		return "0 ms (no-op)"
	case contenders.CPU:
		return "cpu (~50 µs of SHA-256)"
	case contenders.Tail:
		return "10 ms with a 1 s tail (sleep; 1 record in 1,000 waits 1 s)"
	}
	return strings.TrimSuffix(string(m), "ms") + " ms (sleep)"
}

// rng formats a median with its min–max when there is more than one run.
func rng(s Stat, prec int) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return num(s.Med, prec)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.Med, prec), num(s.Min, prec), num(s.Max, prec))
}

func rngPct(s Stat) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return pct(s.Med)
	}
	return fmt.Sprintf("%s (%s–%s)", pct(s.Med), pct(s.Min), pct(s.Max))
}

// num formats v with prec decimals, or with thousands separators when prec
// is 0.
func num(v float64, prec int) string {
	if v == 0 {
		return "–"
	}
	if prec > 0 {
		return fmt.Sprintf("%.*f", prec, v)
	}
	s := fmt.Sprintf("%.0f", math.Round(v))
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func pct(f float64) string {
	if f == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

func ratio(v, base float64) string {
	if v == 0 || base == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", v/base)
}
