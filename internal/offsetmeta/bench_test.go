package offsetmeta_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
	"github.com/kafkaworker/kafkaworker/internal/window"
)

// patterns are done patterns over n outstanding offsets (the lowest always
// pending), as a commit would find them.
var patterns = []struct {
	name string
	done func(rng *rand.Rand, i int64) bool
}{
	// A few stragglers: almost everything above the commit point is done.
	{"dense99", func(rng *rand.Rand, i int64) bool { return rng.IntN(100) != 0 }},
	// Half done at random: the worst case for both forms.
	{"random50", func(rng *rand.Rand, i int64) bool { return rng.IntN(2) == 0 }},
	// Few done: 1 in 100 at random.
	{"sparse1", func(rng *rand.Rand, i int64) bool { return rng.IntN(100) == 0 }},
	// Key order with a slow key: every 8th pending.
	{"periodic8", func(rng *rand.Rand, i int64) bool { return i%8 != 0 }},
}

// window builds a Window holding n outstanding offsets from 1,000,000 with
// the pattern's done ones finished, as the engine's would be.
func windowOf(b *testing.B, n int64, done func(*rand.Rand, int64) bool) *window.Window {
	rng := rand.New(rand.NewPCG(1, 2))
	var w window.Window
	const base = 1_000_000
	for i := range n {
		if err := w.Add(base + i); err != nil {
			b.Fatal(err)
		}
	}
	for i := int64(1); i < n; i++ {
		if done(rng, i) {
			if _, err := w.Done(base + i); err != nil {
				b.Fatal(err)
			}
		}
	}
	return &w
}

// BenchmarkEncode is what a commit pays per partition: the window's bitset
// (AppendDoneBits into a reused buffer) and Encode with a reused Encoder, at
// Kafka's default budget. bytes is the metadata's length, covered% the part
// of the outstanding range it covers, zstd whether it is compressed.
func BenchmarkEncode(b *testing.B) {
	for _, n := range []int64{1_000, 10_000, 100_000} {
		for _, p := range patterns {
			b.Run(fmt.Sprintf("n=%d/%s", n, p.name), func(b *testing.B) {
				w := windowOf(b, n, p.done)
				var enc offsetmeta.Encoder
				var buf []uint64
				var meta string
				b.ReportAllocs()
				for b.Loop() {
					var bn int64
					buf, bn = w.AppendDoneBits(buf[:0])
					meta = enc.Encode(w.Committable(), buf, bn, offsetmeta.DefaultBudget)
				}
				d, ok := offsetmeta.Decode(meta, w.Committable())
				if !ok {
					b.Fatalf("does not decode: %.40q", meta)
				}
				b.ReportMetric(float64(len(meta)), "bytes")
				b.ReportMetric(100*float64(d.End()-w.Committable())/float64(n), "covered%")
				z := 0.0
				if meta[4] == 'r' || meta[4] == 'b' {
					z = 1
				}
				b.ReportMetric(z, "zstd")
			})
		}
	}
}

// BenchmarkDecode is what an assignment pays per partition.
func BenchmarkDecode(b *testing.B) {
	for _, p := range patterns {
		b.Run(p.name, func(b *testing.B) {
			w := windowOf(b, 100_000, p.done)
			buf, n := w.AppendDoneBits(nil)
			meta := offsetmeta.Encode(w.Committable(), buf, n, offsetmeta.DefaultBudget)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := offsetmeta.Decode(meta, w.Committable()); !ok {
					b.Fatal("not ok")
				}
			}
		})
	}
}
