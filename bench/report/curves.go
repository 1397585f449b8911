package report

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Curve is one swept setting: a series of points, each the repeated runs
// of one configuration, and, for the commit curve, a second series beside
// the first.
type Curve struct {
	Name   string // file suffix: partitions, mpc, size, commits
	Title  string
	XLabel string
	// Series are lines drawn on the same axes (the commit curve: the
	// benchmark's commit setting and the seed's); most curves have one.
	Series []Series
	// Panels are the figures drawn, one plot each, side by side.
	Panels []Panel
}

// Series is one line of a curve.
type Series struct {
	Name   string
	Points []Point
}

// Point is one x value of a series and its repeated runs.
type Point struct {
	X      float64
	Label  string // the x value as the table shows it
	Runs   Row
	Window bool // a windowed run (fixed window), not a whole-topic run
}

// Panel is one figure of a curve: f over each point's successful runs,
// drawn as the median with a min–max bar.
type Panel struct {
	Title, YLabel string
	F             func(Run) float64
	LogY          bool
	// Ideal, if not nil, is drawn dashed at each x: a bound such as the
	// Little's-law limit.
	Ideal     func(x float64) float64
	IdealName string
}

// Figures the curves plot and tabulate.
var (
	// PanelCPU is the process's CPU per record in the steady state.
	PanelCPU = Panel{Title: "CPU per record (steady state)", YLabel: "µs CPU / record", F: Run.SteadyCPUPer1k}
	// PanelRSS is the peak RSS over the whole run.
	PanelRSS = Panel{Title: "peak RSS (VmHWM)", YLabel: "MiB", F: Run.RSSMiB}
	// PanelRate is the steady-state throughput.
	PanelRate = Panel{Title: "steady-state throughput", YLabel: "records/s", F: Run.SteadyRate}
	// PanelCommits is commits per second in the steady state.
	PanelCommits = Panel{Title: "OffsetCommit requests / s (steady state)", YLabel: "commits/s", F: Run.CommitsPerSec}
	// PanelCommitBytes is the mean OffsetCommit request size.
	PanelCommitBytes = Panel{Title: "bytes per OffsetCommit request", YLabel: "bytes", F: Run.BytesPerCommit}
	// PanelBroker is the broker's CPU per record consumed.
	PanelBroker = Panel{Title: "broker CPU per record", YLabel: "µs broker CPU / record", F: Run.BrokerCPUPer1k}
)

// CommitsPerSec is OffsetCommit requests per second in the steady window.
func (r Run) CommitsPerSec() float64 {
	if r.Result.SteadyTime <= 0 {
		return 0
	}
	return float64(r.Result.Commits.Steady) / r.Result.SteadyTime.Seconds()
}

// BytesPerCommit is the mean OffsetCommit request size on the wire.
func (r Run) BytesPerCommit() float64 {
	if r.Result.Commits.Requests == 0 {
		return 0
	}
	return float64(r.Result.Commits.Bytes) / float64(r.Result.Commits.Requests)
}

// CommitMeanMs is the mean commit latency (request to response) in ms,
// from kafkaworker's commit observer.
func (r Run) CommitMeanMs() float64 {
	if r.Result.Commits.N == 0 {
		return 0
	}
	return r.Result.Commits.Time.Seconds() * 1e3 / float64(r.Result.Commits.N)
}

// BrokerCPUPer1k is the broker's CPU ms per 1,000 records handled (µs per
// record) over the child's whole life.
func (r Run) BrokerCPUPer1k() float64 {
	if r.Result.Handled == 0 {
		return 0
	}
	return r.BrokerCPU.Seconds() * 1e6 / float64(r.Result.Handled)
}

// WriteCurve draws c's panels side by side into dir/prefix-<name>.png and
// returns the file name.
func WriteCurve(dir, prefix string, c Curve) (string, error) {
	colors := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 255}, color.RGBA{0xd6, 0x27, 0x28, 255}, color.RGBA{0x2c, 0xa0, 0x2c, 255}}
	// The x ticks are the points themselves (12, 120, 1,200 partitions):
	// a log axis would label only the powers of ten.
	var xticks []plot.Tick
	for _, pt := range c.Series[0].Points {
		xticks = append(xticks, plot.Tick{Value: pt.X, Label: pt.Label})
	}
	var row []*plot.Plot
	for k, pn := range c.Panels {
		p := plot.New()
		p.Title.Text = pn.Title
		p.X.Label.Text = c.XLabel
		p.Y.Label.Text = pn.YLabel
		p.Add(plotter.NewGrid())
		drawn, top := false, 0.0
		if pn.Ideal != nil {
			var xys plotter.XYs
			for _, t := range xticks {
				xys = append(xys, plotter.XY{X: t.Value, Y: pn.Ideal(t.Value)})
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return "", err
			}
			l.Color, l.Dashes = color.Gray{0x80}, []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l)
			p.Legend.Add(pn.IdealName, l)
		}
		for i, s := range c.Series {
			var pts struct {
				plotter.XYs
				plotter.YErrors
			}
			for _, pt := range s.Points {
				st := pt.Runs.Stat(pn.F)
				if st.N == 0 {
					continue
				}
				pts.XYs = append(pts.XYs, plotter.XY{X: pt.X, Y: st.Med})
				top = max(top, st.Max)
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{st.Med - st.Min, st.Max - st.Med})
			}
			if len(pts.XYs) == 0 {
				continue
			}
			l, sc, err := plotter.NewLinePoints(pts.XYs)
			if err != nil {
				return "", err
			}
			l.Color, sc.Color = colors[i%len(colors)], colors[i%len(colors)]
			l.Width = vg.Points(1.5)
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return "", err
			}
			eb.Color = colors[i%len(colors)]
			p.Add(l, sc, eb)
			drawn = true
			if len(c.Series) > 1 && k == 0 {
				p.Legend.Add(s.Name, l, sc)
			}
		}
		// A log axis needs positive data: a panel whose every run failed
		// stays linear (and empty).
		if drawn {
			p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.ConstantTicks(xticks)
			p.X.Min, p.X.Max = xticks[0].Value/1.3, xticks[len(xticks)-1].Value*1.3
			if pn.LogY {
				p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
			} else {
				// Headroom for the legend above the lines.
				p.Y.Min, p.Y.Max = 0, top*1.35
			}
		}
		p.Legend.Top, p.Legend.Left = true, true
		row = append(row, p)
	}
	width, height := vg.Length(len(row))*4.2*vg.Inch, 3.6*vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{row}, t, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	name := fmt.Sprintf("%s-%s.png", prefix, c.Name)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return "", err
	}
	return name, f.Close()
}

// CurveTable is c as a Markdown table: per series and point the medians
// (min–max) of throughput, CPU per record, peak RSS and the broker's CPU;
// with commits, the commit figures too; for a sleep handler, its measured
// mean and the calibrated Little's-law limit, as in the matrix.
func CurveTable(c Curve, commits bool) string {
	var b strings.Builder
	b.WriteString("| " + c.XLabel + " |")
	if len(c.Series) > 1 {
		b.WriteString(" setting |")
	}
	b.WriteString(" steady rec/s | steady CPU µs/rec | CPU ms/1k rec (whole run) | peak RSS MiB | broker CPU s | broker CPU µs/rec |")
	little := len(c.Series) > 0 && len(c.Series[0].Points) > 0 && c.Series[0].Points[0].Runs.Spec.Model.Latency() > 0
	if commits {
		b.WriteString(" commits/s (steady) | commit latency ms (mean) | bytes/commit | commits (run) |")
	}
	if little {
		b.WriteString(" handler mean ms | of calibrated limit |")
	}
	b.WriteString(" window s | runs |\n|---:|")
	if len(c.Series) > 1 {
		b.WriteString("---|")
	}
	b.WriteString(strings.Repeat("---:|", 6))
	if commits {
		b.WriteString(strings.Repeat("---:|", 4))
	}
	if little {
		b.WriteString(strings.Repeat("---:|", 2))
	}
	b.WriteString("---:|---|\n")
	for _, s := range c.Series {
		for _, pt := range s.Points {
			w := pt.Runs
			fmt.Fprintf(&b, "| %s |", pt.Label)
			if len(c.Series) > 1 {
				fmt.Fprintf(&b, " %s |", s.Name)
			}
			fmt.Fprintf(&b, " %s | %s | %s | %s | %s | %s |", rng(w.Stat(Run.SteadyRate), 0), rng(w.Stat(Run.SteadyCPUPer1k), 2),
				rng(w.Stat(Run.CPUPer1k), 2), rng(w.Stat(Run.RSSMiB), 0),
				rng(w.Stat(func(r Run) float64 { return r.BrokerCPU.Seconds() }), 2), rng(w.Stat(Run.BrokerCPUPer1k), 2))
			if commits {
				fmt.Fprintf(&b, " %s | %s | %s | %s |", rng(w.Stat(Run.CommitsPerSec), 1), rng(w.Stat(Run.CommitMeanMs), 2),
					rng(w.Stat(Run.BytesPerCommit), 0), rng(w.Stat(func(r Run) float64 { return float64(r.Result.Commits.Requests) }), 0))
			}
			if little {
				fmt.Fprintf(&b, " %s | %s |", rng(w.Stat(Run.HandlerMeanMs), 1),
					rngPct(w.Stat(Run.OfLimit)))
			}
			fmt.Fprintf(&b, " %s | %s |\n", num(w.Stat(func(r Run) float64 { return r.Result.SteadyTime.Seconds() }).Med, 1), status(w))
		}
	}
	return b.String()
}

// CommitTable lists, for the rows of s that observed their commits, the
// commit figures beside throughput: the benchmark's commit setting next to
// the seed's.
func CommitTable(s Set) string {
	var b strings.Builder
	b.WriteString("| model | contender | steady rec/s | commits/s (steady) | commit latency ms (mean) | bytes/commit | commits (run) | broker CPU s | broker CPU µs/rec | CPU ms/1k rec |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	n := 0
	for _, m := range modelsOf(s) {
		for _, w := range s.Rows(m) {
			if w.Stat(func(r Run) float64 { return float64(r.Result.Commits.Requests) }).N == 0 {
				continue
			}
			n++
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m, w.Spec.Label(),
				rng(w.Stat(Run.SteadyRate), 0), rng(w.Stat(Run.CommitsPerSec), 1), rng(w.Stat(Run.CommitMeanMs), 2),
				rng(w.Stat(Run.BytesPerCommit), 0), rng(w.Stat(func(r Run) float64 { return float64(r.Result.Commits.Requests) }), 0),
				rng(w.Stat(func(r Run) float64 { return r.BrokerCPU.Seconds() }), 2), rng(w.Stat(Run.BrokerCPUPer1k), 2),
				rng(w.Stat(Run.CPUPer1k), 2))
		}
	}
	if n == 0 {
		return ""
	}
	return b.String()
}

// modelsOf lists the models of s in the order they first ran.
func modelsOf(s Set) []contenders.Model {
	var ms []contenders.Model
	seen := map[contenders.Model]bool{}
	for _, r := range s {
		if m := r.Spec.Model; !seen[m] {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	return ms
}
