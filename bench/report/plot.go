package report

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// series is one line of a chart: a contender and ordering whose throughput
// depends on MaxProcCount, or (flat) one whose concurrency does not.
type series struct {
	contender, ordering, label string
	flat                       bool
	dash                       bool
	c                          color.RGBA
}

var chartSeries = []series{
	{"kafkaworker", "unordered", "kafkaworker unordered", false, false, color.RGBA{0x1f, 0x77, 0xb4, 255}},
	{"kafkaworker", "key", "kafkaworker key", false, false, color.RGBA{0x2c, 0xa0, 0x2c, 255}},
	{"parallel-consumer", "unordered", "Parallel Consumer unordered", false, true, color.RGBA{0xd6, 0x27, 0x28, 255}},
	{"parallel-consumer", "key", "Parallel Consumer key", false, true, color.RGBA{0xff, 0x7f, 0x0e, 255}},
	{"raw-franz-go", "", "raw franz-go (12 partitions)", true, true, color.RGBA{0x44, 0x44, 0x44, 255}},
	{"sarama", "", "sarama (12 partitions)", true, true, color.RGBA{0x94, 0x67, 0xbd, 255}},
	{"kafkaworker", "partition", "kafkaworker partition", true, true, color.RGBA{0x17, 0xbe, 0xcf, 255}},
}

// WriteCharts writes one PNG per model, throughput against MaxProcCount,
// into dir as prefix-<model>.png, and returns the file names.
func WriteCharts(dir, prefix string, s Set, mpcs []int) ([]string, error) {
	var files []string
	for _, model := range contenders.Models {
		if len(s.model(model)) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("kwbench: %s handler", title(model))
		p.X.Label.Text = "MaxProcCount (log scale)"
		p.Y.Label.Text = "records/s"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = mpcTicks(mpcs)
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		for _, se := range chartSeries {
			pts := points(s, model, se, mpcs)
			if len(pts) == 0 {
				continue
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return files, err
			}
			line.Color = se.c
			line.Width = vg.Points(2)
			if se.dash {
				line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(line)
			p.Legend.Add(se.label, line)
			if !se.flat {
				sc, err := plotter.NewScatter(pts)
				if err != nil {
					return files, err
				}
				sc.Color, sc.Shape = se.c, draw.CircleGlyph{}
				p.Add(sc)
			}
		}
		p.Y.Min = 0
		name := fmt.Sprintf("%s-%s.png", prefix, model)
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, name)); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}

// points returns a series' throughput at each MPC; a flat series is drawn
// across the whole MPC range at its single measured rate.
func points(s Set, model contenders.Model, se series, mpcs []int) plotter.XYs {
	var pts plotter.XYs
	if se.flat {
		r := s.Find(model, se.contender, se.ordering, -1)
		if r == nil {
			return nil
		}
		return plotter.XYs{{X: float64(mpcs[0]), Y: r.Rate()}, {X: float64(mpcs[len(mpcs)-1]), Y: r.Rate()}}
	}
	for _, m := range mpcs {
		if r := s.Find(model, se.contender, se.ordering, m); r != nil {
			pts = append(pts, plotter.XY{X: float64(m), Y: r.Rate()})
		}
	}
	return pts
}

type mpcTicks []int

func (t mpcTicks) Ticks(_, _ float64) []plot.Tick {
	out := make([]plot.Tick, len(t))
	for i, m := range t {
		out[i] = plot.Tick{Value: float64(m), Label: fmt.Sprint(m)}
	}
	return out
}
