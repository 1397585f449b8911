package engine

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRateLimit measures, in real time, how closely MaxRecordsPerSecond
// 5,000 holds: b.N records through the engine, timed from the first handler
// call to the last. Run it for 30 s with -benchtime 150000x; it reports the
// rate measured and its deviation from 5,000 in percent.
func BenchmarkRateLimit(b *testing.B) {
	const perSecond = 5000
	cfg := testConfig()
	cfg.MaxProcCount = 50
	cfg.MaxBuffered, cfg.PartitionWindow = 16384, 8192
	cfg.MaxRecordsPerSecond = perSecond
	var handled atomic.Int64
	var first, last atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := func(context.Context, int, int) error {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		if handled.Add(1) == int64(b.N) {
			last.Store(now)
			cancel()
		}
		return nil
	}
	runSynthetic(ctx, b, cfg, h, 100)
	if b.N < 2 {
		return
	}
	elapsed := time.Duration(last.Load() - first.Load())
	rate := float64(b.N-1) / elapsed.Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(100*math.Abs(rate-perSecond)/perSecond, "%off")
}
