package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkEngine measures the engine's own cost per record: a no-op
// handler fed by a synthetic source of 12 partitions, as the fetch loop
// feeds it (batches bounded by the room the engine reports), with commits
// every 100 records to a committer that does nothing.
func BenchmarkEngine(b *testing.B) {
	for _, mode := range []struct {
		name string
		o    Ordering
	}{{"unordered", Unordered}, {"key", ByKey}, {"partition", ByPartition}} {
		for _, procs := range []int{50, 1000} {
			b.Run(fmt.Sprintf("%s/procs=%d", mode.name, procs), func(b *testing.B) {
				cfg := testConfig()
				cfg.Ordering = mode.o
				cfg.MaxProcCount = procs
				cfg.PartitionWindow = int64(max(2*procs, 512))
				cfg.MaxBuffered = max(8*procs, 4*int(cfg.PartitionWindow))
				cfg.CommitCount = 100
				nop := CommitterFunc(func(context.Context, []Offset) error { return nil })
				// The last handler call closes all: waiting on it costs
				// nothing, where polling Stats would steal a core.
				var handled atomic.Int64
				all := make(chan struct{})
				h := func(context.Context, int, int) error {
					if handled.Add(1) == int64(b.N) {
						close(all)
					}
					return nil
				}
				e := New(cfg, h, nop, nil, nil)
				var tps []TP
				for p := range 12 {
					tps = append(tps, TP{"bench", int32(p)})
				}
				e.Assign(tps)
				e.Start()
				keys := make([][]byte, 10000)
				for i := range keys {
					keys[i] = []byte(fmt.Sprintf("key-%d", i))
				}
				batch := make([]Fetched[int], 0, 512)
				next := make([]int64, 12)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for sent := 0; sent < b.N; {
					room, _ := e.WaitRoom(ctx)
					n := min(room, 512, b.N-sent)
					batch = batch[:0]
					for i := range n {
						p := (sent + i) % 12
						batch = append(batch, Fetched[int]{TP: tps[p], Offset: next[p], Key: keys[(sent+i)%len(keys)]})
						next[p]++
					}
					e.Add(batch)
					sent += n
				}
				<-all
				b.StopTimer()
				ctx2, cancel := context.WithCancel(ctx)
				defer cancel()
				_ = e.Shutdown(ctx2, ctx2)
			})
		}
	}
}
