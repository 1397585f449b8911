package offsetmeta_test

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
)

// FuzzDecode feeds Decode arbitrary strings, with seeds of every form: it
// must not panic, and whatever it accepts must be a well-formed set above
// the committed offset, within MaxRange, that re-encodes to the same set.
func FuzzDecode(f *testing.F) {
	every := func(k, n int64) []int64 {
		var rel []int64
		for i := k; i < n; i += k {
			rel = append(rel, i)
		}
		return rel
	}
	for _, s := range []struct {
		committed int64
		rel       []int64
		n         int64
	}{
		{100, []int64{2, 3, 40}, 41},                                // R
		{0, every(3, 600), 600},                                     // b
		{1 << 40, every(500, 9000), 9000},                           // r
		{5, []int64{1, 2, 4, 7, 8, 11, 13, 14, 16, 17, 19, 22}, 23}, // B
	} {
		f.Add(offsetmeta.Encode(s.committed, bitsOf(s.rel, s.n), s.n, 4096), s.committed)
	}
	f.Add("", int64(0))
	f.Add("kgo-5f1e4c3a-9b2d-4a8e-bc71-0d6e2f3a4b5c", int64(7))
	f.Add("kw1:R", int64(0))
	f.Add("kw1:rKLUv_QBYAAA", int64(0))
	f.Fuzz(func(t *testing.T, meta string, committed int64) {
		d, ok := offsetmeta.Decode(meta, committed)
		runs := d.Runs()
		if !ok {
			if len(runs) != 0 {
				t.Fatalf("not ok but %d runs", len(runs))
			}
			return
		}
		if len(runs) == 0 {
			t.Fatalf("ok with an empty set")
		}
		prev := committed
		for i, r := range runs {
			// Strictly above the commit point, sorted, disjoint and not
			// adjacent (adjacent runs would be one).
			if r.From <= prev || r.To <= r.From || (i > 0 && r.From == runs[i-1].To) {
				t.Fatalf("run %d %v after %d", i, r, prev)
			}
			prev = r.To
		}
		if d.End()-committed > offsetmeta.MaxRange {
			t.Fatalf("End %d: %d above committed %d", d.End(), d.End()-committed, committed)
		}
		// Re-encode: the same set (its body was at most MaxBody, and
		// the budget holds any body up to that, uncompressed).
		n := d.End() - committed
		bits := make([]uint64, (n+63)/64)
		for _, r := range runs {
			for o := r.From; o < r.To; o++ {
				i := o - committed
				bits[i/64] |= 1 << (i % 64)
			}
		}
		again := offsetmeta.Encode(committed, bits, n, 1<<21)
		d2, ok := offsetmeta.Decode(again, committed)
		if !ok || !slices.Equal(d2.Runs(), runs) {
			t.Fatalf("re-encoded %q decodes to %v, %v; want %v", again, d2.Runs(), ok, runs)
		}
	})
}

// FuzzRoundTrip encodes a done set drawn from the input with a budget drawn
// from it, decodes, and checks the result is within budget and is the set,
// or the prefix that fitted.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(0), uint16(4096), []byte{0x0f, 0xf0, 0xaa, 0x55})
	f.Add(uint64(1<<40), uint16(100), []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	f.Add(uint64(123), uint16(30), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, committed uint64, budget uint16, data []byte) {
		c := int64(committed >> 2) // any valid offset, with room above it
		// Each byte is a gap then a run length, so that long ranges come
		// from short inputs.
		var rel []int64
		pos := int64(1)
		for i := 0; i+1 < len(data) && len(rel) < 100_000; i += 2 {
			pos += int64(data[i]) * int64(1+data[i]>>6*20)
			for range int(data[i+1]) {
				rel = append(rel, pos)
				pos++
			}
		}
		if len(data) >= 8 {
			pos += int64(binary.LittleEndian.Uint16(data)) % 64
		}
		checkRoundTrip(t, c, rel, pos+1, int(budget), false)
	})
}
