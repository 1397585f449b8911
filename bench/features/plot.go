package features

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteCharts writes the charts of the runs into dir as prefix-<name>.png
// and returns the file names: the downstream rows' records/s, and the rate
// limit's records per second through its window.
func WriteCharts(dir, prefix string, runs []Run) ([]string, error) {
	var files []string
	var vals plotter.Values
	var labels []string
	for i := len(runs) - 1; i >= 0; i-- { // the first row on top
		if r := runs[i]; r.Spec.Scenario == Knee && r.OK() {
			vals = append(vals, r.Rate())
			labels = append(labels, fmt.Sprintf("%s, rep %d (503s %.1f%%)", r.Spec.Label(), r.Spec.Rep, 100*r.Share503()))
		}
	}
	if len(vals) > 0 {
		p := plot.New()
		p.Title.Text = "Downstream with a knee at 100 calls, 503 beyond 150: steady records/s"
		p.X.Label.Text = "records/s"
		p.X.Min = 0
		p.Add(plotter.NewGrid())
		bc, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			return files, err
		}
		bc.Horizontal = true
		bc.Color = color.RGBA{0x1f, 0x77, 0xb4, 255}
		bc.LineStyle.Width = 0
		p.Add(bc)
		p.NominalY(labels...)
		name := prefix + "-downstream.png"
		if err := p.Save(8*vg.Inch, vg.Length(1.2+0.32*float64(len(vals)))*vg.Inch, filepath.Join(dir, name)); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	for _, r := range runs {
		if r.Spec.Scenario != RateLimit || !r.OK() || len(r.Res.PerSecond) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("MaxRecordsPerSecond %d: records/s in each second of the window", r.Spec.RatePerSecond)
		p.X.Label.Text = "second of the window"
		p.Y.Label.Text = "records/s"
		p.Y.Min, p.Y.Max = 0, 1.1*float64(r.Spec.RatePerSecond) // the +5% line in view
		p.Add(plotter.NewGrid())
		pts := make(plotter.XYs, len(r.Res.PerSecond))
		for i, n := range r.Res.PerSecond {
			pts[i] = plotter.XY{X: float64(i + 1), Y: n}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return files, err
		}
		l.Color = color.RGBA{0x1f, 0x77, 0xb4, 255}
		p.Add(l)
		for _, f := range []float64{0.95, 1.05} {
			band := plotter.NewFunction(func(float64) float64 { return f * float64(r.Spec.RatePerSecond) })
			band.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
			band.Color = color.RGBA{0xd6, 0x27, 0x28, 255}
			p.Add(band)
		}
		name := prefix + "-rate.png"
		if err := p.Save(8*vg.Inch, 3.5*vg.Inch, filepath.Join(dir, name)); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}
