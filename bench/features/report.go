package features

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Run is one finished child run as the orchestrator saw it.
type Run struct {
	Spec Spec
	Res  Result
	CPU  time.Duration // the child's user+sys over its whole life (wait4)
	// Load is the machine's 1-minute load average before and after the run.
	Load        [2]float64
	DeadLetters *DeadLetterCheck // the poison run's
	Err         string           // why the run does not count; empty if it does
}

// OK reports whether the run counts.
func (r Run) OK() bool { return r.Err == "" }

// Rate is the steady-state records/s.
func (r Run) Rate() float64 {
	if r.Res.SteadyTime <= 0 {
		return 0
	}
	return float64(r.Res.SteadyN) / r.Res.SteadyTime.Seconds()
}

// CPUPer1k is the process's CPU ms per 1,000 records in the steady window.
func (r Run) CPUPer1k() float64 {
	if r.Res.SteadyN <= 0 {
		return 0
	}
	return r.Res.SteadyCPU.Seconds() * 1e3 / float64(r.Res.SteadyN) * 1e3
}

// WholeCPUPer1k is the child's CPU ms per 1,000 records over its whole life
// (start-up, group join and final commit included).
func (r Run) WholeCPUPer1k() float64 {
	if r.Res.Handled <= 0 {
		return 0
	}
	return r.CPU.Seconds() * 1e3 / float64(r.Res.Handled) * 1e3
}

// RSSMiB is the child's peak RSS (VmHWM).
func (r Run) RSSMiB() float64 { return float64(r.Res.PeakRSSKiB) / 1024 }

// PerCall is the store's mean records per call in the window.
func (r Run) PerCall() float64 {
	if r.Res.Store.Calls == 0 {
		return 0
	}
	return float64(r.Res.Store.Records) / float64(r.Res.Store.Calls)
}

// StoreCapacity is what the store could take at the window's batch size:
// Conns connections × the records a connection wrote per second it was
// held (measured: a sleep lasts longer than asked).
func (r Run) StoreCapacity() float64 {
	if r.Res.Store.Hold <= 0 {
		return 0
	}
	return float64(r.Spec.Conns) * float64(r.Res.Store.Records) / r.Res.Store.Hold.Seconds()
}

// ModelCapacity is the store's nominal capacity at batch size b:
// Conns · b / (5 ms + 0.05 ms · b).
func ModelCapacity(conns int, b float64) float64 {
	return float64(conns) * b / (StorePerCall.Seconds() + b*StorePerRecord.Seconds())
}

// CallMs is the mean time in ms of the downstream calls answered (not 503)
// in the window.
func (r Run) CallMs() float64 {
	n := r.Res.Calls - r.Res.Calls503
	if n <= 0 {
		return 0
	}
	return r.Res.Answered.Seconds() * 1e3 / float64(n)
}

// Share503 is the share of downstream calls answered 503 in the window.
func (r Run) Share503() float64 {
	if r.Res.Calls == 0 {
		return 0
	}
	return float64(r.Res.Calls503) / float64(r.Res.Calls)
}

// Summary is the run's progress line.
func (r Run) Summary() string {
	s := fmt.Sprintf("%-42s steady %9.0f rec/s over %5.1fs  cpu %6.3f ms/1k  rss %4.0f MiB  load %.1f→%.1f",
		r.Spec.Label(), r.Rate(), r.Res.SteadyTime.Seconds(), r.CPUPer1k(), r.RSSMiB(), r.Load[0], r.Load[1])
	if r.Res.Calls > 0 {
		s += fmt.Sprintf("  503s %.2f%%  limit %.0f  call %.1f ms  rep %d", 100*r.Share503(), r.Res.LimitMean, r.CallMs(), r.Spec.Rep)
	}
	if r.Res.Store.Calls > 0 {
		s += fmt.Sprintf("  %.1f rec/call", r.PerCall())
	}
	if o := r.Res.Order; o != nil {
		s += fmt.Sprintf("  order violations %d", o.Violations)
	}
	s += fmt.Sprintf("  in flight %.0f  pauses %d", r.Res.InFlightMean, r.Res.Pauses)
	if d := r.DeadLetters; d != nil {
		s += fmt.Sprintf("  dead letters %d of %d poison, exact %v", d.DeadLetters, d.Poison, d.Exact())
	}
	if r.OK() {
		return s + "  ok"
	}
	return s + "  FAILED: " + r.Err
}

// Meta describes the whole run for the results file.
type Meta struct {
	Date, Command, Machine string
	Backlog, Poison        string // topic names
	BacklogRecords         int64
	PoisonRecords          int64
	Keys                   int    // distinct keys of the data set
	Log                    string // the children's stderr, next to the file
}

// WriteMarkdown writes the results file: method, the three tables, the
// targets.
func WriteMarkdown(w io.Writer, m Meta, runs []Run) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# kwbench -features: issue 12 on a real broker, %s\n\n", m.Date)
	p("`%s`  \n%s. Children's stderr: `%s`.\n\n", m.Command, m.Machine, m.Log)
	p("### How it runs\n\n")
	p("- Each row is one child process (`kwbench feature`) consuming from the start in a fresh group on the single-node broker, **one run per row** (no repetitions: read the ratios side by side, not the absolute figures). Data: 12 partitions, %s keys, 100-byte values that start with `{\"seq\":N`, as the main benchmark's.\n", commas(int64(m.Keys)))
	p("- **Windowed rows** read `%s` (%s records): the steady-state window opens a warm-up after the first record and lasts its length; then the consumer stops taking records, drains and commits. **rec/s** = records handled in the window ÷ its length. The **poison row** reads the whole of `%s` (%s records); its steady state lies between the 10%% and 90%% handled marks.\n",
		m.Backlog, commas(m.BacklogRecords), m.Poison, commas(m.PoisonRecords))
	p("- **CPU ms/1k**: the child's CPU (getrusage) in the steady window per 1,000 records; **whole**: wait4's CPU over the child's life (start-up, join, drain) ÷ records handled. **RSS**: the child's VmHWM. **load**: the machine's 1-minute load average before → after the row (2 cores, shared with the broker and other work).\n")
	p("- **Completeness**: after each row the group's committed offsets (kadm) must equal, per partition, the contiguous prefix of offsets the handler finished (the poison row: the whole topic), with no record handled twice; otherwise the row is FAILED.\n")
	p("- Settings: defaults but `CommitIntervalSeconds` 1 and `MaxMsgCountBeforeCommit` 1,000,000 (as in the main benchmark), and those each section names.\n\n")

	p("## Batches: a BatchHandler against the single-record Handler\n\n")
	p("**The store.** A call holds one of P connections for 5 ms + 0.05 ms × its records (a `time.Sleep`, measured), and waits for a free connection when all are busy.\n\n")
	p("**Why a connection pool (a modelling decision).** `MaxProcCount` bounds the records in flight, for a `BatchHandler` too. Against a perfectly parallel store (no limit on concurrent calls) batching cannot win: at MaxProcCount N, one record per call gives N / 5.05 ms, and batches of B give (N/B) batches × B records / (5 + 0.05·B) ms = N / (5 + 0.05·B) ms, always less. What batching saves is the per-call cost when calls contend for something: a real store has a bounded number of connections. With P connections one record per call gives at most P / 5.05 ms, batches of B give P·B / (5 + 0.05·B) ms: for P = 8 (a typical database pool) and B = 100, 1,584 against 80,000 records/s (50×). The headline is that pooled store (P = 8); for honesty the serialising store (P = 1, the library's `BenchmarkBatchHandler`: 198 against 10,000 records/s) is shown beside it.\n\n")
	p("Every row: key order, MaxProcCount 1000, `MaxBatchSize` 100 and `BatchLinger` 5 ms (the defaults). **Key order check**: the data set puts record *seq* on key *seq* mod %s, and a key's records sit in one partition in seq order; the handler checks, at the start of every call, that each key's records arrive as k, k+%s, k+2·%s, … with none skipped, never two of one key in calls running at once (nor in one batch), and a record repeated (a retry, a bisected half) only while no later record of its key has started.\n\n", commas(int64(m.Keys)), commas(int64(m.Keys)), commas(int64(m.Keys)))
	p("| run | rec/s | window s | rec/call | store capacity at that batch size | of it | CPU ms/1k | whole | RSS MiB | load | key order | status |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range runs {
		if r.Spec.Scenario != StoreSingle && r.Spec.Scenario != StoreBatch {
			continue
		}
		order := "–"
		if o := r.Res.Order; o != nil {
			order = fmt.Sprintf("%d violations in %s calls, %s records", o.Violations, commas(o.Calls), commas(o.Records))
			if o.First != "" {
				order += " (first: " + o.First + ")"
			}
		}
		capacity, of := commas(int64(r.StoreCapacity())), pct(r.Rate(), r.StoreCapacity())
		if r.Spec.Window == 0 {
			// The store's counts cover the whole run, the rate only its
			// steady part: no ratio.
			capacity, of = "(whole run) "+capacity, "–"
		}
		p("| %s | %s | %.1f | %.1f | %s | %s | %.3f | %.3f | %.0f | %.1f→%.1f | %s | %s |\n", r.Spec.Label(), commas(int64(r.Rate())),
			r.Res.SteadyTime.Seconds(), r.PerCall(), capacity, of,
			r.CPUPer1k(), r.WholeCPUPer1k(), r.RSSMiB(), r.Load[0], r.Load[1], order, status(r))
	}
	p("\n**store capacity** = P × records written per second of connection time held (measured), at the row's mean records per call; **of it** = rec/s ÷ capacity. Nominal: %s (P = 8, one record), %s (P = 8, B = 100), %s (P = 1, one record), %s (P = 1, B = 100).\n\n",
		commas(int64(ModelCapacity(8, 1))), commas(int64(ModelCapacity(8, 100))), commas(int64(ModelCapacity(1, 1))), commas(int64(ModelCapacity(1, 100))))
	for _, r := range runs {
		if d := r.DeadLetters; d != nil {
			p("**Poison row**: %s poison records (seq mod %d = 7) in %s; the dead-letter topic holds %s records: %d not poison, %d poison missing, %d twice → %s. `Stats().DeadLettered` %d; `MaxRetries` 1, `FailurePolicy` dead-letter, `RetryBackoffMin` 100 ms (default). A batch holding a poison record fails whole (one transaction) and is bisected until the record is alone: %s failed calls held a poison record (%.1f per poison record), and a poison record took %.1f s on average (at most %.1f s) from its first call to its last attempt. Sampled every 100 ms: %.0f handler calls in flight on average (`Stats().InFlight`; records in calls or waiting for a batch, at most MaxProcCount 1000); partitions paused with a full window: %d times (`Stats().Pauses`).\n\n",
				commas(d.Poison), PoisonEvery, m.Poison, commas(d.DeadLetters), d.NotPoison, d.Missing, d.Twice,
				map[bool]string{true: "exactly the poison records", false: "NOT exact"}[d.Exact()], r.Res.DeadLettered,
				commas(r.Res.PoisonCalls), float64(r.Res.PoisonCalls)/float64(max(d.Poison, 1)), r.Res.PoisonMean.Seconds(), r.Res.PoisonMax.Seconds(),
				r.Res.InFlightMean, r.Res.Pauses)
		}
	}

	p("## MaxRecordsPerSecond\n\n")
	p("A no-op handler, unordered, MaxProcCount 1000, `MaxRecordsPerSecond` 5,000: the consumer could go ~100× faster, so the limiter alone sets the pace. **error** = |rate − 5,000| ÷ 5,000 over the window; **per second** = the lowest and highest records/s of the window's one-second intervals (each interval timed).\n\n")
	p("| run | rec/s | window s | error | per second (min–max) | CPU ms/1k | whole | RSS MiB | load | status |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	for _, r := range runs {
		if r.Spec.Scenario != RateLimit {
			continue
		}
		lo, hi := minMax(r.Res.PerSecond)
		p("| %s | %s | %.1f | %.3f%% | %s–%s over %d intervals | %.3f | %.3f | %.0f | %.1f→%.1f | %s |\n", r.Spec.Label(), commas(int64(math.Round(r.Rate()))),
			r.Res.SteadyTime.Seconds(), 100*rateError(r), commas(int64(math.Round(lo))), commas(int64(math.Round(hi))), len(r.Res.PerSecond),
			r.CPUPer1k(), r.WholeCPUPer1k(), r.RSSMiB(), r.Load[0], r.Load[1], status(r))
	}

	p("\n## AdaptiveConcurrency against a downstream with a knee\n\n")
	p("The downstream of `internal/engine`'s `BenchmarkAdaptiveConcurrency`, in wall-clock time on the real broker: 10 ms per call up to 100 calls at once, then 10 ms × (1 + ((c−100)/20)²) (×2 at 120, ×5 at 140), and an immediate 503 beyond 150 calls. The handler returns `kafkaworker.Overloaded(err)` on a 503, which is retried after 10–100 ms (`MaxRetries` unbounded). Unordered. **503s** = calls answered 503 ÷ all calls, in the window; **limit** = `Stats().ConcurrencyLimit` sampled every 100 ms in the window.\n\n")
	p("| run | rep | rec/s | of the rep's best fixed | window s | 503s | calls | answered call ms | limit mean (min–max) | CPU ms/1k | whole | RSS MiB | load | status |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n")
	for _, r := range runs {
		if r.Spec.Scenario != Knee {
			continue
		}
		best := bestFixed(runs, r.Spec.Rep)
		p("| %s | %d | %s | %s | %.1f | %.2f%% | %s | %.1f | %.0f (%d–%d) | %.3f | %.3f | %.0f | %.1f→%.1f | %s |\n", r.Spec.Label(), r.Spec.Rep, commas(int64(r.Rate())),
			pct(r.Rate(), best.Rate()), r.Res.SteadyTime.Seconds(), 100*r.Share503(), commas(r.Res.Calls), r.CallMs(), r.Res.LimitMean, r.Res.LimitMin, r.Res.LimitMax,
			r.CPUPer1k(), r.WholeCPUPer1k(), r.RSSMiB(), r.Load[0], r.Load[1], status(r))
	}
	p("\n**answered call ms** = the mean time of the calls answered (not 503), in the window: the model's latency at the concurrency reached (10 ms up to 100 calls), stretched by the machine's load (a sleeping goroutine waits for a CPU to wake). The adaptive limit reads the same stretched latency.\n")
	p("\n## Issue 12's targets\n\n")
	for _, t := range Targets(runs) {
		p("- %s\n", t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Targets judges issue 12's targets from the runs: one line each, PASS,
// MISS or NOT MEASURED.
func Targets(runs []Run) []string {
	find := func(scenario string, conns int, poison bool) *Run {
		for i, r := range runs {
			if r.Spec.Scenario == scenario && r.Spec.Conns == conns && (r.Spec.DeadLetterTopic != "") == poison {
				return &runs[i]
			}
		}
		return nil
	}
	var out []string
	verdict := func(ok bool) string { return map[bool]string{true: "**PASS**", false: "**MISS**"}[ok] }
	for _, conns := range []int{8, 1} {
		single, batch := find(StoreSingle, conns, false), find(StoreBatch, conns, false)
		name := map[int]string{8: "pooled store (P = 8, the headline)", 1: "serialising store (P = 1)"}[conns]
		if single == nil || batch == nil || !single.OK() || !batch.OK() || single.Rate() == 0 {
			out = append(out, "**NOT MEASURED** batch ≥ 10× single-record, "+name+": a row is missing or failed")
			continue
		}
		x := batch.Rate() / single.Rate()
		out = append(out, fmt.Sprintf("%s BatchHandler ≥ 10× the single-record Handler at MaxProcCount 1000, %s: %.1f× (%s vs %s rec/s; CPU %.3f vs %.3f ms/1k; RSS %.0f vs %.0f MiB)",
			verdict(x >= 10), name, x, commas(int64(batch.Rate())), commas(int64(single.Rate())), batch.CPUPer1k(), single.CPUPer1k(), batch.RSSMiB(), single.RSSMiB()))
	}
	var checked, violations int64
	orderOK := true
	for _, r := range runs {
		if o := r.Res.Order; o != nil {
			checked += o.Records
			violations += o.Violations
			orderOK = orderOK && r.OK()
		}
	}
	if checked == 0 {
		out = append(out, "**NOT MEASURED** key order checks")
	} else {
		out = append(out, fmt.Sprintf("%s key order checks, every store row: %d violations over %s records (each row also passed the completeness check: %v)",
			verdict(violations == 0), violations, commas(checked), orderOK))
	}
	if p := find(StoreBatch, 8, true); p == nil || p.DeadLetters == nil {
		out = append(out, "**NOT MEASURED** 0.1% poison records: exactly those dead-lettered")
	} else {
		d := p.DeadLetters
		out = append(out, fmt.Sprintf("%s 0.1%% poison records, BatchHandler, P = 8: exactly the poison records reach the dead-letter topic: %s of %s dead-lettered, %d others, %d twice; the row ran at %s rec/s (steady) %s",
			verdict(d.Exact() && p.OK()), commas(d.DeadLetters), commas(d.Poison), d.NotPoison, d.Twice, commas(int64(p.Rate())), status(*p)))
	}
	for _, r := range runs {
		if r.Spec.Scenario != RateLimit {
			continue
		}
		e := rateError(r)
		long := r.Res.SteadyTime >= 30*time.Second*99/100
		v := verdict(r.OK() && e <= 0.05)
		if !long {
			v = "**NOT MEASURED** (a window shorter than 30 s)"
		}
		out = append(out, fmt.Sprintf("%s MaxRecordsPerSecond 5,000 within 5%% over 30 s: %.1f rec/s over %.1f s, %.3f%% off",
			v, r.Rate(), r.Res.SteadyTime.Seconds(), 100*e))
	}
	var ofs, shares []float64
	var detail []string
	for _, r := range runs {
		if r.Spec.Scenario != Knee || !r.Spec.Adaptive || !r.OK() {
			continue
		}
		best := bestFixed(runs, r.Spec.Rep)
		if best.Rate() == 0 {
			continue
		}
		of := r.Rate() / best.Rate()
		ofs, shares = append(ofs, of), append(shares, r.Share503())
		d := fmt.Sprintf("rep %d: %s rec/s = %.1f%% of %s (%s rec/s), %.2f%% 503s, limit %.0f, CPU %.3f ms/1k, RSS %.0f MiB, load %.1f→%.1f",
			r.Spec.Rep, commas(int64(r.Rate())), 100*of, best.Spec.Label(), commas(int64(best.Rate())), 100*r.Share503(), r.Res.LimitMean,
			r.CPUPer1k(), r.RSSMiB(), r.Load[0], r.Load[1])
		for _, f := range runs {
			if f.Spec.Scenario == Knee && !f.Spec.Adaptive && f.Spec.MPC == r.Spec.MPC && f.Spec.Rep == r.Spec.Rep {
				d += fmt.Sprintf("; fixed MaxProcCount %d beside it: %s rec/s, %.1f%% 503s", f.Spec.MPC, commas(int64(f.Rate())), 100*f.Share503())
			}
		}
		detail = append(detail, d)
	}
	if len(ofs) == 0 {
		out = append(out, "**NOT MEASURED** adaptive concurrency: no adaptive row with a fixed row beside it")
	} else {
		of, share := median(ofs), median(shares)
		line := fmt.Sprintf("%s AdaptiveConcurrency, MaxProcCount 1000: ≥ 90%% of the best fixed setting and ≤ 1%% of calls answered 503: %.1f%% and %.2f%% (medians of %d repetitions, each against the best fixed row of its own repetition)",
			verdict(of >= 0.9 && share <= 0.01), 100*of, 100*share, len(ofs))
		out = append(out, line+"\n  - "+strings.Join(detail, "\n  - "))
	}
	return out
}

// bestFixed is the fastest fixed downstream row of repetition rep.
func bestFixed(runs []Run, rep int) Run {
	var best Run
	for _, r := range runs {
		if r.Spec.Scenario == Knee && !r.Spec.Adaptive && r.Spec.Rep == rep && r.OK() && r.Rate() > best.Rate() {
			best = r
		}
	}
	return best
}

// median of v (not empty); v is sorted in place.
func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func rateError(r Run) float64 {
	if r.Spec.RatePerSecond == 0 {
		return 0
	}
	return math.Abs(r.Rate()-float64(r.Spec.RatePerSecond)) / float64(r.Spec.RatePerSecond)
}

func status(r Run) string {
	if !r.OK() {
		return "FAILED: " + strings.ReplaceAll(r.Err, "|", "/")
	}
	s := "ok"
	if want := r.Spec.Window; want > 0 && r.Res.SteadyTime < want*99/100 {
		s += fmt.Sprintf("; window %.1f s < %v (the backlog ran out)", r.Res.SteadyTime.Seconds(), want)
	}
	return s
}

func minMax(v []float64) (lo, hi float64) {
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		hi = max(hi, x)
	}
	return lo, hi
}

func pct(v, of float64) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*v/of)
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
