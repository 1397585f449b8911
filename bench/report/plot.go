package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// chart is one horizontal bar chart: a figure's median per row, with its
// min–max as an error bar.
type chart struct {
	name, title, xlabel string
	model               contenders.Model
	f                   func(Run) float64
}

// WriteCharts writes the PNG charts into dir as prefix-<name>.png and
// returns the file names: steady-state records/s per model, and CPU per
// 1,000 records and peak RSS at 0 ms.
func WriteCharts(dir, prefix string, s Set) ([]string, error) {
	var charts []chart
	for _, m := range contenders.Models {
		charts = append(charts, chart{string(m), fmt.Sprintf("kwbench %s handler: steady-state records/s (median, min–max)", title(m)),
			"records/s", m, Run.SteadyRate})
	}
	charts = append(charts,
		chart{"0ms-cpu", "kwbench 0 ms: CPU ms per 1,000 records (whole run)", "CPU ms / 1,000 records", contenders.NoOp, Run.CPUPer1k},
		chart{"0ms-rss", "kwbench 0 ms: peak RSS (VmHWM)", "MiB", contenders.NoOp, Run.RSSMiB})
	var files []string
	for _, c := range charts {
		rows := s.Rows(c.model)
		if len(rows) == 0 {
			continue
		}
		slices.Reverse(rows) // the first row on top
		var vals plotter.Values
		var bars struct {
			plotter.XYs
			plotter.XErrors
		}
		var labels []string
		for i, w := range rows {
			st := w.Stat(c.f)
			vals = append(vals, st.Med)
			bars.XYs = append(bars.XYs, plotter.XY{X: st.Med, Y: float64(i)})
			bars.XErrors = append(bars.XErrors, struct{ Low, High float64 }{st.Med - st.Min, st.Max - st.Med})
			labels = append(labels, w.Spec.Label())
		}
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = c.xlabel
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
		eb, err := plotter.NewXErrorBars(bars)
		if err != nil {
			return files, err
		}
		p.Add(eb)
		p.NominalY(labels...)
		name := fmt.Sprintf("%s-%s.png", prefix, c.name)
		if err := p.Save(8*vg.Inch, vg.Length(1.2+0.32*float64(len(rows)))*vg.Inch, filepath.Join(dir, name)); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}
