package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// downstream simulates a service with a knee: 10 ms per call up to 100
// calls at once, sharply more beyond (×2 at 120, ×5 at 140), and an
// immediate 503 beyond 150.
type downstream struct {
	conc, calls, overloaded atomic.Int64
}

var err503 = errors.New("503 Service Unavailable")

func (d *downstream) call() error {
	c := d.conc.Add(1)
	defer d.conc.Add(-1)
	d.calls.Add(1)
	if c > 150 {
		d.overloaded.Add(1)
		return err503
	}
	lat := 10 * time.Millisecond
	if c > 100 {
		x := float64(c-100) / 20
		lat = time.Duration(float64(lat) * (1 + x*x))
	}
	time.Sleep(lat)
	return nil
}

// BenchmarkAdaptiveConcurrency runs b.N records against the downstream
// above, with fixed MaxProcCount settings and with AdaptiveConcurrency at
// MaxProcCount 1000, in real time. It reports records/s and the share of
// calls answered 503 (retried, with backoff). Run with -benchtime 50000x
// (about 5 s per setting at the knee).
func BenchmarkAdaptiveConcurrency(b *testing.B) {
	for _, c := range []struct {
		procs    int
		adaptive bool
	}{{50, false}, {100, false}, {120, false}, {150, false}, {1000, false}, {1000, true}} {
		name := fmt.Sprintf("fixed=%d", c.procs)
		if c.adaptive {
			name = fmt.Sprintf("adaptive/max=%d", c.procs)
		}
		b.Run(name, func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxProcCount = c.procs
			cfg.Adaptive = c.adaptive
			cfg.MaxRetries = 1 << 30
			cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
			cfg.PartitionWindow = 1 << 16
			cfg.MaxBuffered = 1 << 17
			cfg.Overloaded = func(err error) bool { return errors.Is(err, err503) }
			var d downstream
			var handled atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := func(context.Context, int, int) error {
				if err := d.call(); err != nil {
					return err
				}
				if handled.Add(1) == int64(b.N) {
					cancel()
				}
				return nil
			}
			start := time.Now()
			e := runSynthetic(ctx, b, cfg, h, 1)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			b.ReportMetric(100*float64(d.overloaded.Load())/float64(max(d.calls.Load(), 1)), "%503")
			b.ReportMetric(float64(e.Stats().Limit), "limit")
		})
	}
}
