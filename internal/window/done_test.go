package window_test

import (
	"math"
	"math/bits"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

// applyAddDone runs AddDone(off) on w and Add(off) then Done(off) on m, and
// fails unless they agree on the error.
func applyAddDone(t fatalfer, w *window.Window, m *model, off int64) {
	wantErr := m.add(off)
	if wantErr == nil {
		if _, err := m.done(off); err != nil {
			t.Fatalf("model: done(%d) after add: %v", off, err)
		}
	}
	if err := w.AddDone(off); !sameErr(err, wantErr) {
		t.Fatalf("AddDone(%d) = %v, want %v", off, err, wantErr)
	}
}

// checkDoneBits compares AppendDoneBits with the model: n is the span, and
// bit i is set exactly when Committable()+i is not pending. It also checks
// that the call appends after what dst held, and the zero padding.
func checkDoneBits(t fatalfer, w *window.Window, m *model) {
	prefix := []uint64{0xdead, 0xbeef}
	got, n := w.AppendDoneBits(slices.Clone(prefix))
	if n != m.span() {
		t.Fatalf("AppendDoneBits n = %d, want Span %d", n, m.span())
	}
	if !slices.Equal(got[:2], prefix) {
		t.Fatalf("AppendDoneBits overwrote dst: %x", got[:2])
	}
	words := got[2:]
	if want := int((n + 63) / 64); len(words) != want {
		t.Fatalf("AppendDoneBits appended %d words for %d offsets, want %d", len(words), n, want)
	}
	if r := n % 64; r != 0 && words[len(words)-1]>>r != 0 {
		t.Fatalf("AppendDoneBits: bits above n set in the last word: %x", words[len(words)-1])
	}
	lo := m.committable()
	pend := m.pending
	for i := range n {
		off := lo + i
		for len(pend) > 0 && pend[0] < off {
			pend = pend[1:]
		}
		wantDone := len(pend) == 0 || pend[0] != off
		if gotDone := words[i/64]>>(i%64)&1 == 1; gotDone != wantDone {
			t.Fatalf("AppendDoneBits bit %d (offset %d) = %v, want %v", i, off, gotDone, wantDone)
		}
	}
}

// TestWindowAddDoneMatchesModel runs random sequences of the existing
// operations mixed with AddDone, compares everything with the model after
// each step, and checks AppendDoneBits against it.
func TestWindowAddDoneMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var w window.Window
		var m model
		start := startOffset.Draw(t, "start")
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0, 1, 2: // AddDone after a gap (as a skipped record).
				base := start
				if m.started {
					base = m.next
				}
				applyAddDone(t, &w, &m, satAdd(base, gap(t, len(m.pending) == 0)))
			case 3: // AddDone not above the last offset, or out of range.
				var off int64
				if m.started && rapid.Bool().Draw(t, "rewind") {
					off = rapid.Int64Range(max(m.next-200, 0), m.next-1).Draw(t, "rewound")
				} else {
					off = rapid.OneOf(rapid.Int64Range(math.MinInt64, -1), rapid.Just(int64(math.MaxInt64))).Draw(t, "bad")
				}
				applyAddDone(t, &w, &m, off)
			default:
				step(t, &w, &m, start, true)
			}
			lo, hi := m.committable(), m.nextOff()
			probe := rapid.Int64Range(lo-130, satAdd(max(lo, hi), 130))
			m.check(t, &w, probe.Draw(t, "probe"))
			checkDoneBits(t, &w, &m)
		}
	})
}

func TestAddDone(t *testing.T) {
	var w window.Window
	// A skipped first record starts the window past it.
	if err := w.AddDone(10); err != nil {
		t.Fatal(err)
	}
	if w.Committable() != 11 || w.Next() != 11 || w.Pending() != 0 {
		t.Fatalf("after AddDone(10): committable %d next %d pending %d", w.Committable(), w.Next(), w.Pending())
	}
	for _, off := range []int64{11, 12, 13, 14, 20, 21} {
		add := w.Add
		if off == 13 || off == 14 || off == 21 {
			add = w.AddDone
		}
		if err := add(off); err != nil {
			t.Fatal(err)
		}
	}
	if w.Committable() != 11 || w.Next() != 22 || w.Pending() != 3 {
		t.Fatalf("committable %d next %d pending %d, want 11 22 3", w.Committable(), w.Next(), w.Pending())
	}
	// Offsets 11..21: pending 11, 12, 20; done 13..19 (skipped or gaps), 21.
	got, n := w.AppendDoneBits(nil)
	if n != 11 || len(got) != 1 || got[0] != 0b10111111100 {
		t.Fatalf("AppendDoneBits = %b, %d; want 10111111100, 11", got, n)
	}
	if _, err := w.Done(11); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Done(12); err != nil {
		t.Fatal(err)
	}
	if c := w.Committable(); c != 20 {
		t.Fatalf("Committable() = %d, want 20", c)
	}
	if err := w.AddDone(21); err == nil {
		t.Fatal("AddDone(21) twice: no error")
	}
	if _, err := w.Done(20); err != nil {
		t.Fatal(err)
	}
	if c := w.Committable(); c != 22 {
		t.Fatalf("Committable() = %d, want 22", c)
	}
	if got, n := w.AppendDoneBits(nil); n != 0 || len(got) != 0 {
		t.Fatalf("AppendDoneBits of an empty window = %v, %d", got, n)
	}
}

// TestAppendDoneBitsWrappedRing checks the bitset across a ring that has
// wrapped, with the commit point in the middle of a word.
func TestAppendDoneBitsWrappedRing(t *testing.T) {
	var w window.Window
	for off := range int64(256) {
		if err := w.Add(off); err != nil {
			t.Fatal(err)
		}
	}
	for off := range int64(130) {
		if _, err := w.Done(off); err != nil {
			t.Fatal(err)
		}
	}
	for off := int64(256); off < 1000; off++ {
		if err := w.Add(off); err != nil {
			t.Fatal(err)
		}
	}
	for off := int64(131); off < 1000; off += 3 {
		if _, err := w.Done(off); err != nil {
			t.Fatal(err)
		}
	}
	got, n := w.AppendDoneBits(nil)
	if n != 870 {
		t.Fatalf("n = %d, want 870", n)
	}
	ones := 0
	for _, v := range got {
		ones += bits.OnesCount64(v)
	}
	if want := (999-131)/3 + 1; ones != want {
		t.Fatalf("%d done bits, want %d", ones, want)
	}
	for i := range n {
		off := 130 + i
		want := off > 130 && (off-131)%3 == 0
		if got := got[i/64]>>(i%64)&1 == 1; got != want {
			t.Fatalf("bit %d (offset %d) = %v, want %v", i, off, got, want)
		}
	}
}

func BenchmarkAppendDoneBits(b *testing.B) {
	var w window.Window
	for off := range int64(outstanding) {
		if err := w.Add(off); err != nil {
			b.Fatal(err)
		}
	}
	for off := int64(1); off < outstanding; off += 2 {
		if _, err := w.Done(off); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	buf := make([]uint64, 0, outstanding/64+1)
	for b.Loop() {
		buf, _ = w.AppendDoneBits(buf[:0])
	}
}
