package report

import (
	"fmt"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Targets lists issue 9's targets (and issue 14's) with PASS or MISS,
// computed from the medians. hi is the highest MaxProcCount run and mbb the
// MaxBufferedBytes of the memory-bound row. It measures; it asserts nothing.
func Targets(s Set, hi, mbb int) string {
	var b strings.Builder
	verdict := func(pass bool) string {
		if pass {
			return "**PASS**"
		}
		return "**MISS**"
	}
	na := func(name, why string) { fmt.Fprintf(&b, "- n/a %s: %s\n", name, why) }
	med := func(model contenders.Model, label string, f func(Run) float64) (float64, bool) {
		w := s.Find(model, label)
		if w == nil {
			return 0, false
		}
		st := w.Stat(f)
		return st.Med, st.N > 0
	}
	// atMost checks a/b ≤ want (less is better), atLeast a/b ≥ want.
	cmp := func(name string, model contenders.Model, a, bl string, f func(Run) float64, want float64, less bool, unit string) {
		va, oka := med(model, a, f)
		vb, okb := med(model, bl, f)
		if !oka || !okb || vb == 0 {
			na(name, "a row is missing or failed ("+a+", "+bl+")")
			return
		}
		got := va / vb
		op, pass := "≥", got >= want
		if less {
			op, pass = "≤", got <= want
		}
		fmt.Fprintf(&b, "- %s %s: %.2f× (target %s %.2g×): %s %s vs %s %s\n", verdict(pass), name, got, op, want,
			num(va, prec(va)), unit, num(vb, prec(vb)), unit)
	}
	kw := func(ord string) string { return fmt.Sprintf("kafkaworker %s %d", ord, hi) }
	pc := func(ord string) string { return fmt.Sprintf("parallel-consumer %s %d", ord, hi) }
	mbbLabel := kw("unordered") + fmt.Sprintf(" MaxBufferedBytes %dMiB", mbb>>20)
	z := contenders.NoOp

	b.WriteString("### Targets (issue 9), from the medians\n\n")
	b.WriteString("0 ms, a 10 s window on the 0 ms backlog, MaxProcCount " + fmt.Sprint(hi) + "; CPU is the whole run's CPU per 1,000 records.\n\n")
	cmp("unordered CPU ÷ raw franz-go", z, kw("unordered"), "raw-franz-go", Run.CPUPer1k, 2.0, true, "ms/1k")
	cmp("key CPU ÷ raw franz-go", z, kw("key"), "raw-franz-go", Run.CPUPer1k, 2.5, true, "ms/1k")
	cmp("partition CPU ÷ raw franz-go", z, kw("partition"), "raw-franz-go", Run.CPUPer1k, 2.5, true, "ms/1k")
	cmp("unordered records/s incl. start ÷ raw franz-go", z, kw("unordered"), "raw-franz-go", Run.RateWithStart, 0.5, false, "rec/s")
	cmp("unordered records/s incl. start ÷ Parallel Consumer unordered", z, kw("unordered"), pc("unordered"), Run.RateWithStart, 8, false, "rec/s")
	cmp("key records/s incl. start ÷ Parallel Consumer key", z, kw("key"), pc("key"), Run.RateWithStart, 8, false, "rec/s")
	for _, ord := range []string{"unordered", "key", "partition"} {
		if v, ok := med(z, kw(ord), Run.RSSMiB); ok {
			fmt.Fprintf(&b, "- %s peak RSS, %s, default settings: %.0f MiB (target ≤ 256 MiB)\n", verdict(v <= 256), kw(ord), v)
		} else {
			na("peak RSS "+kw(ord), "row missing or failed")
		}
	}
	if mbb > 0 {
		if v, ok := med(z, mbbLabel, Run.RSSMiB); ok {
			fmt.Fprintf(&b, "- %s peak RSS, %s: %.0f MiB (target ≤ 160 MiB)\n", verdict(v <= 160), mbbLabel, v)
		} else {
			na("peak RSS "+mbbLabel, "row missing or failed")
		}
		cmp("MaxBufferedBytes 32 MiB throughput (steady rec/s) ÷ defaults, i.e. loss ≤ 10%", z, mbbLabel, kw("unordered"), Run.SteadyRate, 0.9, false, "rec/s")
	}
	if w := s.Find(contenders.Sleep10ms, kw("unordered")); w != nil && w.Stat(Run.OfLimit).N > 0 {
		lim, mean := w.Stat(Run.OfLimit), w.Stat(Run.HandlerMeanMs)
		steady, nominal := w.Stat(Run.SteadyRate).Med, float64(hi)/0.010
		fmt.Fprintf(&b, "- %s 10 ms, %s: %.1f%% of the calibrated limit (target ≥ 95%%): %s rec/s steady, handler mean %.3f ms → limit %s rec/s (of the nominal %s: %.1f%%)\n",
			verdict(lim.Med >= 0.95), kw("unordered"), 100*lim.Med, num(steady, 0), mean.Med,
			num(float64(hi)/(mean.Med/1e3), 0), num(nominal, 0), 100*steady/nominal)
	} else {
		na("10 ms calibrated limit", "no 10 ms run of "+kw("unordered"))
	}

	b.WriteString("\n### Targets (issue 11, share groups), from the medians\n\n")
	share := kw(contenders.Share)
	if w := s.Find(contenders.Sleep10ms, share); w != nil && w.Stat(Run.OfLimit).N > 0 {
		lim, mean := w.Stat(Run.OfLimit), w.Stat(Run.HandlerMeanMs)
		steady := w.Stat(Run.SteadyRate).Med
		fmt.Fprintf(&b, "- %s 10 ms, %s: %.1f%% of the calibrated limit (target ≥ 90%%): %s rec/s steady, handler mean %.3f ms → limit %s rec/s\n",
			verdict(lim.Med >= 0.90), share, 100*lim.Med, num(steady, 0), mean.Med, num(float64(hi)/(mean.Med/1e3), 0))
	} else {
		na("share 10 ms calibrated limit", "no 10 ms run of "+share+" (kwbench -share)")
	}
	for _, m := range []contenders.Model{z, contenders.Sleep10ms} {
		sh, unord := s.Find(m, share), s.Find(m, kw("unordered"))
		if sh == nil || unord == nil || sh.Stat(Run.SteadyRate).N == 0 || unord.Stat(Run.SteadyRate).N == 0 {
			continue
		}
		fmt.Fprintf(&b, "- measured %s, share beside consumer-group unordered: %s vs %s rec/s steady, %.2f vs %.2f steady CPU ms/1k, %.0f vs %.0f MiB peak RSS\n",
			m, num(sh.Stat(Run.SteadyRate).Med, 0), num(unord.Stat(Run.SteadyRate).Med, 0),
			sh.Stat(Run.SteadyCPUPer1k).Med, unord.Stat(Run.SteadyCPUPer1k).Med, sh.Stat(Run.RSSMiB).Med, unord.Stat(Run.RSSMiB).Med)
	}

	b.WriteString("\n### Targets (issue 14), from the medians\n\n")
	b.WriteString(peerRatios(s, hi, verdict))
	var wide []string
	for _, m := range contenders.Models {
		for _, w := range s.Rows(m) {
			for _, f := range []struct {
				name string
				f    func(Run) float64
			}{{"steady rec/s", Run.SteadyRate}, {"rec/s incl. start", Run.RateWithStart}} {
				if st := w.Stat(f.f); st.N > 1 && st.Spread() > 0.10 {
					wide = append(wide, fmt.Sprintf("%s %s %s %.0f%%", m, w.Spec.Label(), f.name, 100*st.Spread()))
				}
			}
		}
	}
	if len(wide) == 0 {
		b.WriteString("- spread (max−min)/median ≤ 10% for every row's steady and incl.-start records/s (with more than one run)\n")
	} else {
		fmt.Fprintf(&b, "- spread above 10%% (on a shared 2-core machine, the broker, the producer's page cache and the contender compete for the same cores): %s\n",
			strings.Join(wide, "; "))
	}

	failed, total := 0, 0
	for _, r := range s {
		total++
		if !r.OK() {
			failed++
		}
	}
	fmt.Fprintf(&b, "- completeness: %d of %d runs handled what they covered exactly once and committed exactly that\n", total-failed, total)
	return b.String()
}

func prec(v float64) int {
	if v < 100 {
		return 3
	}
	return 0
}

// peerRatios compares kafkaworker unordered with every Go peer at the sleep
// models, steady rec/s: issue 14's ≥ 5× at 1 ms and 10 ms, and the tail
// model as a measurement. A peer that runs as many handlers at once as
// kafkaworker (the worker pool) is bounded by the same Little's-law limit,
// so beside its ratio stand both rows' share of their calibrated limits:
// that, not the ratio, says which one wastes its concurrency.
func peerRatios(s Set, hi int, verdict func(bool) string) string {
	var b strings.Builder
	kw := fmt.Sprintf("kafkaworker unordered %d", hi)
	for _, m := range []contenders.Model{contenders.Sleep1ms, contenders.Sleep10ms, contenders.Tail} {
		me := s.Find(m, kw)
		if me == nil || me.Stat(Run.SteadyRate).N == 0 {
			continue
		}
		v := me.Stat(Run.SteadyRate).Med
		for _, w := range s.Rows(m) {
			if w.Spec.Contender == "kafkaworker" || w.Spec.Contender == "parallel-consumer" || w.Stat(Run.SteadyRate).N == 0 {
				continue
			}
			peer := w.Stat(Run.SteadyRate).Med
			head := verdict(v/peer >= 5)
			target := " (target ≥ 5×)"
			if m == contenders.Tail {
				head, target = "measured", ""
			}
			fmt.Fprintf(&b, "- %s %s, %s ÷ %s, steady rec/s: %.1f×%s: %s vs %s rec/s", head, m, kw, w.Spec.Label(), v/peer, target, num(v, 0), num(peer, 0))
			if w.Spec.MPC > 0 {
				fmt.Fprintf(&b, "; the peer runs %d handlers at once to kafkaworker's %d, so both are bounded by concurrency ÷ handler time (Little's law): kafkaworker reaches %.0f%% of its calibrated limit and the peer %.0f%% (handler mean %.2f and %.2f ms)",
					w.Runs[0].Concurrency(), me.Runs[0].Concurrency(), 100*me.Stat(Run.OfLimit).Med, 100*w.Stat(Run.OfLimit).Med,
					me.Stat(Run.HandlerMeanMs).Med, w.Stat(Run.HandlerMeanMs).Med)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
