package main

import (
	"cmp"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// runInfo is everything the report shows about one run.
type runInfo struct {
	seed                          uint64
	started                       time.Time
	t0                            time.Time // production start: time zero of the timeline and of the fault table
	elapsed, produceFor, drainFor time.Duration
	params                        []string // "name: value" lines
	faults                        []*fault
	verdict                       *verdict
	drained                       bool
	drainNote                     string
	notReady, badExits, crashed   []string
	workDir                       string
	producedPerSec                map[int64]int64
	events                        []event
}

// summaryLine is the line CI greps.
func summaryLine(r *runInfo) string {
	return fmt.Sprintf("lost=%d duplicates=%d order_violations=%d faults=%d",
		r.verdict.lost, r.verdict.duplicates, r.verdict.orderViolations(), len(r.faults))
}

// passed reports whether the run met the hard guarantees.
func passed(r *runInfo) bool {
	return r.verdict.lost == 0 && r.verdict.orderViolations() == 0 && r.drained && len(r.notReady) == 0
}

// writeReport writes results/<date>-<seed>.md and its timeline PNG, and
// returns the Markdown path.
func writeReport(dir string, r *runInfo) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	base := fmt.Sprintf("%s-%d", r.started.Format("2006-01-02T150405"), r.seed)
	png := base + ".png"
	if err := plotTimeline(filepath.Join(dir, png), r); err != nil {
		return "", fmt.Errorf("timeline: %w", err)
	}
	md := filepath.Join(dir, base+".md")
	return md, os.WriteFile(md, []byte(markdown(r, png)), 0o644)
}

func markdown(r *runInfo, png string) string {
	v := r.verdict
	var b strings.Builder
	status := "PASS"
	if !passed(r) {
		status = "FAIL"
	}
	fmt.Fprintf(&b, "# Chaos run %s, seed %d: %s\n\n", r.started.Format(time.RFC3339), r.seed, status)
	fmt.Fprintf(&b, "`%s`\n\nReplay the fault schedule with `-seed %d` (timings, latencies and injected errors differ).\n\n", summaryLine(r), r.seed)
	fmt.Fprintf(&b, "Run time %s (producing %s, draining %s).\n\n", r.elapsed.Round(time.Second), r.produceFor.Round(time.Second), r.drainFor.Round(time.Second))
	b.WriteString("## Setup\n\n")
	for _, p := range r.params {
		fmt.Fprintf(&b, "- %s\n", p)
	}
	b.WriteString("\n## Results\n\n| check | value |\n|---|---|\n")
	row := func(k string, val any) { fmt.Fprintf(&b, "| %s | %v |\n", k, val) }
	row("records produced / acknowledged / not acknowledged", fmt.Sprintf("%d / %d / %d", v.produced, v.acked, v.unacked))
	row("acknowledged records answered 2xx at least once", v.handled)
	row("**lost** (acknowledged, never answered 2xx)", v.lost)
	row("**duplicates** (2xx answers beyond the first)", v.duplicates)
	row("duplicate estimate (sum over faults: finished-uncommitted + in flight)", v.bound)
	row("duplicates attributed to a fault / to none", fmt.Sprintf("%d / %d", v.duplicates-v.unattributed, v.unattributed))
	for _, k := range []string{faultKill, faultTerm, faultAdd, faultRemove, faultBroker, faultPause} {
		n, d := 0, 0
		for i, f := range r.faults {
			if f.kind == k {
				n++
				d += v.attributed[i]
			}
		}
		if n > 0 {
			row(fmt.Sprintf("duplicates after %s faults (%d)", k, n), d)
		}
	}
	row("**order violations**: overlaps / regressions", fmt.Sprintf("%d / %d", v.overlaps, v.regressions))
	row("attempts / 2xx / injected 503 / abandoned by client / unparseable", fmt.Sprintf("%d / %d / %d / %d / %d", v.attempts, v.successes, v.injected, v.cancelled, v.bad))
	row("2xx for an offset whose key or sequence differ from the producer's", v.mismatched)
	row("drained (committed = end offsets)", fmt.Sprintf("%v %s", r.drained, r.drainNote))
	row("members not ready at the end", len(r.notReady))
	row("members that exited non-zero after SIGTERM", len(r.badExits))
	row("members that exited on their own", len(r.crashed))
	fmt.Fprintf(&b, "\n![timeline](%s)\n\n", png)
	b.WriteString("## Faults\n\n| # | at (since the producer started) | kind | target | lasted | duplicate estimate | duplicates | note |\n|---|---|---|---|---|---|---|---|\n")
	for i, f := range r.faults {
		lasted := "-"
		if !f.end.IsZero() {
			lasted = f.end.Sub(f.at).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %d | +%.1fs | %s | %s | %s | %d | %d | %s |\n", i+1, f.at.Sub(r.t0).Seconds(), f.kind, f.target, lasted, v.estimates[i], v.attributed[i], strings.TrimSpace(f.note))
	}
	writeStrays(&b, v.strays, r.t0)
	b.WriteString("\n## Definitions\n\n" + definitions + "\n")
	for _, l := range [][]string{r.notReady, r.badExits, r.crashed, v.samples} {
		for _, s := range l {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	fmt.Fprintf(&b, "\nLogs of this run (deleted when it passes with no member exiting on its own): `%s`\n", r.workDir)
	return b.String()
}

const definitions = `- An *owner* is one kafkaworker process (a slot and an incarnation of it); each posts to its own recorder path, /o<owner>.
- *Lost*: a record the producer got an acknowledgement for (acks=all, idempotent) that never got a 2xx from the recorder.
- *Duplicates*: for each record, its 2xx answers minus one.
- *Overlap*: an owner starts an attempt for key k before its previous attempt for k has ended (answered, or abandoned by the client).
- *Regression*: an owner's attempt for key k carries a lower per-key sequence number than its previous one, with no interruption of its ownership in between (a franz-go group event in its log — session begun, revoke, lost, heartbeat or join error — or a SIGSTOP/SIGCONT). Equal numbers are retries.
- *Duplicate estimate* of a fault: read the group's committed offsets just before it; count the victims' (for a kill, term, remove or pause: that member; for a join or a broker restart: every member) 2xx answers at or above them so far, plus their attempts in flight. It is an estimate, not a hard bound: records finished between the snapshot and the rebalance are not in it.
- *Duplicates* of a fault: each 2xx answer of a record after its first is a duplicate of the previous one; it is the fault's if the fault is the first, between the previous answer's start and the duplicate's start, to strike the previous answer's owner (a victim, or every member for a join or a broker restart). The others (a revoke timing out in an ordinary rebalance, a late answer) are attributed to none.
- *Drained*: the group's committed offset equals the end offset of every partition (kadm), after the producer and the faults stopped.`

// plotTimeline draws records acknowledged and handled (2xx) per second, with
// a vertical line at each fault.
func plotTimeline(path string, r *runInfo) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("kafkaworker chaos, seed %d", r.seed)
	p.X.Label.Text = "seconds since the producer started"
	p.Y.Label.Text = "records per second"
	t0 := r.t0.Unix()
	handled := map[int64]float64{}
	for _, e := range r.events {
		if e.status == statusOK {
			handled[e.end/1e9-t0]++
		}
	}
	produced := map[int64]float64{}
	for s, n := range r.producedPerSec {
		produced[s-t0] = float64(n)
	}
	last := int64(r.produceFor.Seconds()+r.drainFor.Seconds()) + 1
	ymax := 1.0
	series := func(m map[int64]float64) plotter.XYs {
		xy := make(plotter.XYs, 0, last)
		for s := int64(0); s <= last; s++ {
			xy = append(xy, plotter.XY{X: float64(s), Y: m[s]})
			ymax = max(ymax, m[s])
		}
		return xy
	}
	for _, s := range []struct {
		name string
		xy   plotter.XYs
		c    color.Color
	}{
		{"acknowledged by Kafka", series(produced), color.RGBA{B: 200, A: 255}},
		{"handled (2xx)", series(handled), color.RGBA{G: 150, A: 255}},
	} {
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return err
		}
		l.Color = s.c
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	colors := map[string]color.Color{
		faultKill: color.RGBA{R: 220, A: 255}, faultTerm: color.RGBA{R: 230, G: 140, A: 255},
		faultAdd: color.RGBA{R: 120, G: 120, B: 120, A: 255}, faultRemove: color.RGBA{R: 150, B: 150, A: 255},
		faultBroker: color.RGBA{B: 0, R: 0, G: 0, A: 255}, faultPause: color.RGBA{G: 180, B: 180, A: 255},
	}
	seen := map[string]bool{}
	kinds := []string{faultKill, faultTerm, faultAdd, faultRemove, faultBroker, faultPause}
	for _, f := range r.faults {
		x := f.at.Sub(r.t0).Seconds()
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax * 1.05}})
		if err != nil {
			return err
		}
		l.Color = colors[f.kind]
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		if f.kind == faultBroker || f.kind == faultPause {
			l.Width = vg.Points(1.5) // the long faults: the line marks their start
		}
		p.Add(l)
		if !seen[f.kind] && slices.Contains(kinds, f.kind) {
			seen[f.kind] = true
			p.Legend.Add(f.kind, l)
		}
	}
	p.Legend.Top = true
	return p.Save(12*vg.Inch, 5*vg.Inch, path)
}

// writeStrays lists where the unattributed duplicates came from: the
// largest groups by the owner whose answer came first, the owner of the
// duplicate and the second it started, to read beside the members' logs.
func writeStrays(b *strings.Builder, strays map[stray]int, t0 time.Time) {
	if len(strays) == 0 {
		return
	}
	type group struct {
		s stray
		n int
	}
	var gs []group
	for s, n := range strays {
		gs = append(gs, group{s, n})
	}
	slices.SortFunc(gs, func(a, b group) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.s.second, b.s.second), cmp.Compare(a.s.from, b.s.from))
	})
	b.WriteString("\n## Unattributed duplicates\n\nThe largest groups: the owner of the earlier answer, the owner of the duplicate, the second the duplicate started.\n\n| earlier answer by | duplicate by | at | duplicates |\n|---|---|---|---|\n")
	for _, g := range gs[:min(len(gs), 15)] {
		fmt.Fprintf(b, "| o%d | o%d | +%ds | %d |\n", g.s.from, g.s.to, g.s.second-t0.Unix(), g.n)
	}
}
