package offsetmeta_test

import (
	"slices"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
)

// fatalfer is the part of *testing.T and *rapid.T the checks need.
type fatalfer interface {
	Fatalf(format string, args ...any)
}

// bitsOf is the bitset Encode takes for the done offsets rel (relative to
// the commit point, each in [1, n)).
func bitsOf(rel []int64, n int64) []uint64 {
	bits := make([]uint64, (n+63)/64)
	for _, i := range rel {
		bits[i/64] |= 1 << (i % 64)
	}
	return bits
}

// offsetsOf lists the offsets of d in increasing order.
func offsetsOf(d *offsetmeta.Done) []int64 {
	var offs []int64
	for _, r := range d.Runs() {
		for o := r.From; o < r.To; o++ {
			offs = append(offs, o)
		}
	}
	return offs
}

// checkRoundTrip encodes the done offsets committed+rel[i] (rel sorted,
// distinct, in [1, n)) with budget, decodes the result and checks the
// contract: at most budget bytes; the decoded set is exactly the done
// offsets below its End (a prefix); the whole set when full is true; empty
// only when nothing is done or the budget is below minUseful. It returns the
// metadata and the number of done offsets it kept.
func checkRoundTrip(t fatalfer, committed int64, rel []int64, n int64, budget int, full bool) (string, int) {
	meta := offsetmeta.Encode(committed, bitsOf(rel, n), n, budget)
	if len(meta) > budget {
		t.Fatalf("Encode: %d bytes, budget %d", len(meta), budget)
	}
	d, ok := offsetmeta.Decode(meta, committed)
	if meta == "" {
		if ok {
			t.Fatalf("Decode(\"\") ok")
		}
		if len(rel) > 0 && budget >= minUseful {
			t.Fatalf("Encode: empty for %d done offsets, budget %d", len(rel), budget)
		}
		return meta, 0
	}
	if !ok {
		t.Fatalf("Decode(Encode(...)) not ok: %q", meta)
	}
	if d.Committed() != committed {
		t.Fatalf("Committed() = %d, want %d", d.Committed(), committed)
	}
	got := offsetsOf(&d)
	want := make([]int64, 0, len(rel))
	for _, r := range rel {
		if committed+r < d.End() {
			want = append(want, committed+r)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("decoded %d offsets %v..., want %d %v... (End %d)", len(got), head(got), len(want), head(want), d.End())
	}
	if full && len(got) != len(rel) {
		t.Fatalf("decoded %d of %d done offsets; all should fit in %d bytes (%d used)", len(got), len(rel), budget, len(meta))
	}
	if _, ok := offsetmeta.Decode(meta, committed+1); ok {
		t.Fatalf("Decode with another committed offset: ok")
	}
	return meta, len(got)
}

// minUseful is a budget in which any non-empty set has a prefix that fits:
// the header, a 10-byte offset, a 4-byte N, one run pair and the CRC.
const minUseful = 48

func head(s []int64) []int64 { return s[:min(len(s), 8)] }
