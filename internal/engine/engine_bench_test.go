package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// synthSource is an endless backlog over 12 partitions, served as a broker
// serves it: runs of chunk records of one partition, round robin. It
// allocates nothing per record and commits nowhere.
// runSynthetic runs an engine on 12 partitions of an endless synthetic
// backlog with keys distinct keys, timing Run until ctx ends (the handler
// cancels it after b.N records). It returns the engine, for its Stats.
func runSynthetic(ctx context.Context, b *testing.B, cfg Config, h Handler[int], keys int) *Engine[int] {
	e := New(cfg, h)
	var tps []TP
	for p := range 12 {
		tps = append(tps, TP{"bench", int32(p)})
	}
	e.Assign(tps)
	src := &synthSource{keys: make([][]byte, keys), chunk: 2000}
	for i := range src.keys {
		src.keys[i] = fmt.Appendf(nil, "key-%d", i)
	}
	b.ResetTimer()
	_ = e.Run(ctx, src)
	b.StopTimer()
	return e
}

type synthSource struct {
	keys  [][]byte
	next  [12]int64
	part  int
	left  int // records left in the current partition's run
	chunk int
}

func (s *synthSource) Poll(ctx context.Context, max int, b *Batch[int]) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for range max {
		if s.left == 0 {
			s.part = (s.part + 1) % len(s.next)
			s.left = s.chunk
		}
		p := s.part
		off := s.next[p]
		b.Records = append(b.Records, Fetched[int]{TP: TP{"bench", int32(p)}, Offset: off, Key: s.keys[off%int64(len(s.keys))], Size: 100})
		s.next[p]++
		s.left--
	}
	return nil
}

func (s *synthSource) AllowRebalance()                                   {}
func (s *synthSource) Pause([]TP)                                        {}
func (s *synthSource) Resume([]TP)                                       {}
func (s *synthSource) Commit(context.Context, []Offset) error            { return nil }
func (s *synthSource) DeadLetter(context.Context, int, int, error) error { return nil }
func (s *synthSource) Close()                                            {}

// BenchmarkEngine measures the engine's own cost per record, fetch loop
// included: a no-op handler fed by a synthetic source of 12 partitions,
// with commits every 100 records to a committer that does nothing.
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
				cfg.PartitionWindow = int64(max(8*procs, 4096))
				cfg.MaxBuffered = 2 * int(cfg.PartitionWindow)
				cfg.CommitCount = 100
				// The last handler call ends the run: waiting on it costs
				// nothing, where polling Stats would steal a core.
				var handled atomic.Int64
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				h := func(context.Context, int, int) error {
					if handled.Add(1) == int64(b.N) {
						cancel()
					}
					return nil
				}
				b.ReportAllocs()
				runSynthetic(ctx, b, cfg, h, 10000)
				if got := handled.Load(); got < int64(b.N) {
					b.Fatalf("handled %d of %d", got, b.N)
				}
			})
		}
	}
}
