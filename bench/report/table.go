package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Meta describes the benchmark for the report's header.
type Meta struct {
	Date, Command, Machine string
	Sizes                  map[contenders.Model]int64
	Notes                  []string // free text after the tables: targets, profile
}

// WriteMarkdown writes one table per model: records/s, the ratios to raw
// franz-go and to the Parallel Consumer, CPU seconds, peak RSS and, for the
// sleep models, the share of the Little's-law limit achieved.
func WriteMarkdown(w io.Writer, m Meta, s Set) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# kwbench %s\n\n", m.Date)
	fmt.Fprintf(&b, "Command: `%s`  \nMachine: %s\n\n", m.Command, m.Machine)
	b.WriteString("Each contender is its own process, consuming the whole topic from the start in a fresh group. " +
		"records/s = records ÷ time from the first record handed to a handler until every record is handled " +
		"and the final commit has returned (group join excluded, shown as startup); incl. start = records ÷ (startup + that time), " +
		"the fairer figure when a client prefetches the whole data set during its start (raw franz-go at 0 ms does: its records/s then only times a loop over memory). " +
		"kafkaworker commits once a second here (CommitIntervalSeconds 1), as the Parallel Consumer's periodic commits do; raw franz-go every 5 s. A run counts only if the " +
		"contender handled every record and the committed offsets equal the end offsets (kadm); otherwise it " +
		"is FAILED. CPU s is the child's rusage (user+sys); peak RSS is its own VmHWM (/proc/self/status), because wait4's ru_maxrss carries the forking parent's high-water mark across exec. " +
		"× PC compares with the Parallel Consumer at the same ordering and MaxProcCount (else PC unordered at the same MPC, else the fastest PC run). " +
		"Raw franz-go, sarama and kafkaworker partition mode run one record per partition at a time (concurrency 12).\n\n")
	for _, model := range contenders.Models {
		rows := s.model(model)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s handler, %d records\n\n", title(model), m.Sizes[model])
		little := model.Latency() > 0
		b.WriteString("| contender | records/s | incl. start | × raw franz-go | × PC | CPU s | peak RSS MiB | startup s |")
		if little {
			b.WriteString(" of Little's limit |")
		}
		b.WriteString(" status |\n|---|---:|---:|---:|---:|---:|---:|---:|")
		if little {
			b.WriteString("---:|")
		}
		b.WriteString("---|\n")
		raw := s.Find(model, "raw-franz-go", "", -1)
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f | %.0f | %.1f |", r.Spec.Label(), rate(r.Rate()), rate(r.RateWithStart()),
				ratio(r, raw), ratio(r, s.PCPeer(r)), r.CPU.Seconds(), float64(r.PeakRSS)/(1<<20), r.Result.Startup.Seconds())
			if little {
				if lim := s.LittleLimit(r); lim > 0 && r.Err == nil {
					fmt.Fprintf(&b, " %.0f%% of %s |", 100*r.Rate()/lim, rate(lim))
				} else {
					b.WriteString(" – |")
				}
			}
			status := "ok"
			if r.Err != nil {
				status = "FAILED: " + strings.ReplaceAll(r.Err.Error(), "|", "/")
			}
			fmt.Fprintf(&b, " %s |\n", status)
		}
		b.WriteString("\n")
	}
	for _, n := range m.Notes {
		b.WriteString(n)
		b.WriteString("\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s Set) model(m contenders.Model) []Run {
	var out []Run
	for _, r := range s {
		if r.Spec.Model == m {
			out = append(out, r)
		}
	}
	return out
}

func title(m contenders.Model) string {
	switch m {
	case contenders.NoOp:
		return "0ms (no-op)"
	case contenders.CPU:
		return "cpu (~50 µs of SHA-256)"
	}
	return string(m) + " (sleep)"
}

func rate(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func ratio(r Run, base *Run) string {
	if base == nil || base.Rate() == 0 || r.Err != nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", r.Rate()/base.Rate())
}
