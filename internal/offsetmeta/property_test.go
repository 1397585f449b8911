package offsetmeta_test

import (
	"maps"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
)

// doneSet draws a model: a map of done offsets relative to the commit
// point, each in [1, n), in one of several shapes (sparse, dense, runs,
// periodic), as a window of n outstanding offsets would hold them.
func doneSet(t *rapid.T) (model map[int64]bool, n int64) {
	n = rapid.Int64Range(0, 20_000).Draw(t, "n")
	model = map[int64]bool{}
	if n < 2 {
		return model, n
	}
	switch rapid.IntRange(0, 3).Draw(t, "shape") {
	case 0: // scattered
		for range rapid.IntRange(0, 300).Draw(t, "count") {
			model[rapid.Int64Range(1, n-1).Draw(t, "off")] = true
		}
	case 1: // dense: each done with probability p
		p := rapid.Float64Range(0, 1).Draw(t, "p")
		seed := rapid.Uint64().Draw(t, "seed")
		for i := int64(1); i < n; i++ {
			seed = seed*6364136223846793005 + 1442695040888963407
			if float64(seed>>11)/(1<<53) < p {
				model[i] = true
			}
		}
	case 2: // runs
		for range rapid.IntRange(0, 40).Draw(t, "runs") {
			from := rapid.Int64Range(1, n-1).Draw(t, "from")
			to := min(n, from+rapid.Int64Range(1, 2000).Draw(t, "len"))
			for i := from; i < to; i++ {
				model[i] = true
			}
		}
	default: // periodic, as key order with a slow key leaves it
		period := rapid.Int64Range(2, 200).Draw(t, "period")
		phase := rapid.Int64Range(0, period-1).Draw(t, "phase")
		for i := int64(1); i < n; i++ {
			if i%period != phase {
				model[i] = true
			}
		}
	}
	return model, n
}

var committedGen = rapid.OneOf(
	rapid.Int64Range(0, 1000),
	rapid.Int64Range(1<<40, 1<<40+1000),
	rapid.Int64Range(math.MaxInt64-1<<30, math.MaxInt64-1<<25),
)

// TestRoundTripMatchesModel: any done set, any budget: the decoded set is
// the model's prefix below End, within budget; all of it with a budget that
// holds the whole bitset.
func TestRoundTripMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		model, n := doneSet(t)
		committed := committedGen.Draw(t, "committed")
		budget := rapid.OneOf(rapid.IntRange(0, 200), rapid.IntRange(200, 5000), rapid.Just(offsetmeta.DefaultBudget)).Draw(t, "budget")
		rel := slices.Sorted(maps.Keys(model))
		// The bitset form of the whole set takes n/8 bytes: with room for
		// it (in base64, plus the header) nothing may be cut.
		full := budget >= 5+(int(n)/8+30)*4/3+4
		checkRoundTrip(t, committed, rel, n, budget, full)
	})
}

// TestDoneMatchesModel checks Skip, Contains, Count and End of a decoded set
// against the model, and AppendBits, which carries the part of a restored
// set above what the window has fetched into the next bitset.
func TestDoneMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		model, n := doneSet(t)
		const committed = 1000
		rel := slices.Sorted(maps.Keys(model))
		meta := offsetmeta.Encode(committed, bitsOf(rel, n), n, 1<<20)
		d, ok := offsetmeta.Decode(meta, committed)
		if len(rel) == 0 {
			if ok {
				t.Fatalf("empty set decoded ok")
			}
			return
		}
		if !ok || d.Count() != int64(len(rel)) || d.End() != committed+rel[len(rel)-1]+1 {
			t.Fatalf("ok %v Count %d End %d; want %d offsets up to %d", ok, d.Count(), d.End(), len(rel), committed+rel[len(rel)-1])
		}
		// Skip in fetch order (with gaps), Contains anywhere.
		for off := int64(committed - 2); off < committed+n+2; off += rapid.Int64Range(1, 3).Draw(t, "stride") {
			want := model[off-committed]
			if d.Skip(off) != want {
				t.Fatalf("Skip(%d) = %v", off, !want)
			}
		}
		for range 50 {
			off := rapid.Int64Range(committed-5, committed+n+5).Draw(t, "probe")
			want := model[off-committed]
			if d.Contains(off) != want || d.Skip(off) != want {
				t.Fatalf("Contains/Skip(%d) != %v", off, want)
			}
		}
		// AppendBits: a window that has fetched up to from+k, with its
		// own view of [from, from+k); the restored set fills in above.
		from := committed + rapid.Int64Range(0, n).Draw(t, "from")
		k := rapid.Int64Range(0, committed+n-from).Draw(t, "k")
		own := []uint64{}
		for i := range (k + 63) / 64 {
			own = append(own, rapid.Uint64().Draw(t, "own")&mask(k-i*64))
		}
		snapshot := slices.Clone(own)
		bits, nn := d.AppendBits(own, from, k)
		if want := max(k, d.End()-from); nn != want {
			t.Fatalf("AppendBits n = %d, want %d", nn, want)
		}
		for i := range nn {
			got := bits[i/64]>>(i%64)&1 == 1
			var want bool
			if i < k {
				want = snapshot[i/64]>>(i%64)&1 == 1
			} else {
				want = model[from+i-committed]
			}
			if got != want {
				t.Fatalf("AppendBits bit %d (offset %d) = %v, want %v", i, from+i, got, want)
			}
		}
		if r := nn % 64; r != 0 && bits[len(bits)-1]>>r != 0 {
			t.Fatalf("AppendBits: bits above n")
		}
	})
}

// mask is the mask of the low min(k, 64) bits.
func mask(k int64) uint64 {
	if k >= 64 {
		return math.MaxUint64
	}
	return 1<<k - 1
}

// TestEncoderReuse checks that one Encoder gives the same result as a fresh
// one, call after call, whatever it encoded before.
func TestEncoderReuse(t *testing.T) {
	var e offsetmeta.Encoder
	rapid.Check(t, func(t *rapid.T) {
		model, n := doneSet(t)
		budget := rapid.IntRange(0, 5000).Draw(t, "budget")
		bits := bitsOf(slices.Sorted(maps.Keys(model)), n)
		if got, want := e.Encode(77, bits, n, budget), new(offsetmeta.Encoder).Encode(77, bits, n, budget); got != want {
			t.Fatalf("reused Encoder: %q, fresh: %q", got, want)
		}
	})
}
