package window_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// op is one call on a Window in a table test.
type op struct {
	kind  string // "add", "done" or "reset"
	off   int64
	err   error // wanted error (by errors.Is); nil means success
	moved bool  // wanted result of Done
}

func add(off int64) op                { return op{kind: "add", off: off} }
func addErr(off int64, err error) op  { return op{kind: "add", off: off, err: err} }
func done(off int64, moved bool) op   { return op{kind: "done", off: off, moved: moved} }
func doneErr(off int64, err error) op { return op{kind: "done", off: off, err: err} }
func reset() op                       { return op{kind: "reset"} }
func addRange(from, to int64) []op    { return rangeOps(from, to, add) }
func doneInOrder(from, to int64) []op {
	return rangeOps(from, to, func(o int64) op { return done(o, true) })
}
func doneNotMoving(from, to int64) []op {
	return rangeOps(from, to, func(o int64) op { return done(o, false) })
}

// rangeOps applies f to every offset in [from, to).
func rangeOps(from, to int64, f func(int64) op) []op {
	ops := make([]op, 0, to-from)
	for off := from; off < to; off++ {
		ops = append(ops, f(off))
	}
	return ops
}

// state is what a Window reports after a sequence of ops.
type state struct {
	committable, next, span int64
	pending                 int
}

func TestWindow(t *testing.T) {
	const big = int64(1)<<40 + 7
	tests := []struct {
		name       string
		ops        []op
		want       state
		pending    []int64 // offsets IsPending must report
		notPending []int64 // offsets IsPending must deny
		maxMem     int     // if non-zero, the most MemBytes may report
	}{
		{
			name:       "zero value",
			want:       state{committable: -1, next: -1},
			notPending: []int64{-1, 0, 1, 64},
		},
		{
			name:       "single add",
			ops:        []op{add(5)},
			want:       state{committable: 5, next: 6, span: 1, pending: 1},
			pending:    []int64{5},
			notPending: []int64{0, 4, 6},
		},
		{
			name:       "first offset may be zero",
			ops:        []op{add(0), add(1)},
			want:       state{committable: 0, next: 2, span: 2, pending: 2},
			pending:    []int64{0, 1},
			notPending: []int64{-1, 2},
		},
		{
			name:       "in-order completion moves the commit point",
			ops:        []op{add(0), add(1), add(2), done(0, true), done(1, true)},
			want:       state{committable: 2, next: 3, span: 1, pending: 1},
			pending:    []int64{2},
			notPending: []int64{0, 1, 3},
		},
		{
			name:       "all done commits next",
			ops:        []op{add(7), add(8), done(7, true), done(8, true)},
			want:       state{committable: 9, next: 9},
			notPending: []int64{7, 8, 9},
		},
		{
			name:       "gaps count as done",
			ops:        []op{add(10), add(15), add(20), done(10, true)},
			want:       state{committable: 15, next: 21, span: 6, pending: 2},
			pending:    []int64{15, 20},
			notPending: []int64{10, 11, 14, 16, 19},
		},
		{
			name: "done across a gap skips it",
			ops:  []op{add(10), add(15), add(200), done(15, false), done(10, true)},
			want: state{committable: 200, next: 201, span: 1, pending: 1},
		},
		{
			name:       "later offset done first never moves committable",
			ops:        []op{add(0), add(1), add(2), done(2, false), done(1, false)},
			want:       state{committable: 0, next: 3, span: 3, pending: 1},
			pending:    []int64{0},
			notPending: []int64{1, 2},
		},
		{
			name: "lowest done after later ones jumps past them",
			ops:  []op{add(0), add(1), add(2), add(3), done(2, false), done(1, false), done(0, true)},
			want: state{committable: 3, next: 4, span: 1, pending: 1},
		},
		{
			name:    "gap within the first add is done",
			ops:     []op{add(100)},
			want:    state{committable: 100, next: 101, span: 1, pending: 1},
			pending: []int64{100},
			// 64..99 share a word with 100 but were never added.
			notPending: []int64{64, 99},
		},
		{
			name:       "reset forgets everything",
			ops:        []op{add(5), add(6), done(5, true), reset()},
			want:       state{committable: -1, next: -1},
			notPending: []int64{5, 6, 7},
		},
		{
			name:       "reset lets the next add start lower",
			ops:        []op{add(500), add(600), reset(), add(3)},
			want:       state{committable: 3, next: 4, span: 1, pending: 1},
			pending:    []int64{3},
			notPending: []int64{500, 600},
		},
		{
			name:    "reset of zero value",
			ops:     []op{reset(), add(1)},
			want:    state{committable: 1, next: 2, span: 1, pending: 1},
			pending: []int64{1},
		},
		{
			name:       "large starting offset",
			ops:        []op{add(big), add(big + 1), add(big + 100), done(big+1, false), done(big, true)},
			want:       state{committable: big + 100, next: big + 101, span: 1, pending: 1},
			pending:    []int64{big + 100},
			notPending: []int64{big - 1, big, big + 1, big + 99, big + 101, 0},
		},
		{
			name:       "near the top of the offset range",
			ops:        []op{add(math.MaxInt64 - 2), add(math.MaxInt64 - 1), done(math.MaxInt64-2, true)},
			want:       state{committable: math.MaxInt64 - 1, next: math.MaxInt64, span: 1, pending: 1},
			pending:    []int64{math.MaxInt64 - 1},
			notPending: []int64{math.MaxInt64 - 2, math.MaxInt64},
		},
		{
			name: "growth across many words",
			ops: slices.Concat(
				addRange(3, 10_000),
				doneNotMoving(4, 10_000),
				[]op{done(3, true)},
			),
			want: state{committable: 10_000, next: 10_000},
		},
		{
			name: "growth across many words, lowest still pending",
			ops: slices.Concat(
				addRange(0, 10_000),
				doneNotMoving(1, 9_999),
			),
			want:       state{committable: 0, next: 10_000, span: 10_000, pending: 2},
			pending:    []int64{0, 9_999},
			notPending: []int64{1, 64, 5_000, 9_998, 10_000},
		},
		{
			name: "ring wraps around while growing",
			ops: slices.Concat(
				addRange(0, 256),     // 4 words
				doneInOrder(0, 130),  // head moves to word 2
				addRange(256, 384),   // fills words 0 and 1 of the ring: wrapped
				addRange(384, 1_000), // grows the wrapped ring
				doneNotMoving(131, 1_000),
			),
			want:       state{committable: 130, next: 1_000, span: 870, pending: 1},
			pending:    []int64{130},
			notPending: []int64{129, 131, 255, 256, 383, 384, 999},
		},
		{
			name: "ring wraps around while growing, then drains",
			ops: slices.Concat(
				addRange(0, 256),
				doneInOrder(0, 192),
				addRange(256, 5_000),
				doneInOrder(192, 4_999),
			),
			want:       state{committable: 4_999, next: 5_000, span: 1, pending: 1},
			pending:    []int64{4_999},
			notPending: []int64{4_998, 5_000},
		},
		{
			name: "empties then jumps far ahead without growing",
			ops: slices.Concat(
				addRange(0, 10),
				doneInOrder(0, 10),
				[]op{add(big), add(big + 3), done(big, true)},
			),
			want:       state{committable: big + 3, next: big + 4, span: 1, pending: 1},
			pending:    []int64{big + 3},
			notPending: []int64{9, 10, big, big + 2, big + 4},
			maxMem:     8,
		},
		{
			name: "gap on an empty window commits up to the new offset",
			ops:  []op{add(1), done(1, true), add(1_000_000)},
			want: state{committable: 1_000_000, next: 1_000_001, span: 1, pending: 1},
		},

		// ErrOutOfOrder: state unchanged.
		{
			name:    "duplicate add",
			ops:     []op{add(5), addErr(5, window.ErrOutOfOrder)},
			want:    state{committable: 5, next: 6, span: 1, pending: 1},
			pending: []int64{5},
		},
		{
			name:       "rewound add",
			ops:        []op{add(5), add(9), addErr(7, window.ErrOutOfOrder), addErr(0, window.ErrOutOfOrder)},
			want:       state{committable: 5, next: 10, span: 5, pending: 2},
			notPending: []int64{7, 0},
		},
		{
			name: "add below a drained window",
			ops:  []op{add(5), done(5, true), addErr(5, window.ErrOutOfOrder), addErr(4, window.ErrOutOfOrder)},
			want: state{committable: 6, next: 6},
		},
		{
			name: "negative first add",
			ops:  []op{addErr(-1, window.ErrOutOfOrder)},
			want: state{committable: -1, next: -1},
		},
		{
			name: "negative add after start",
			ops:  []op{add(3), addErr(math.MinInt64, window.ErrOutOfOrder)},
			want: state{committable: 3, next: 4, span: 1, pending: 1},
		},
		{
			name: "max offset cannot be tracked",
			ops:  []op{addErr(math.MaxInt64, window.ErrOutOfOrder), add(0), addErr(math.MaxInt64, window.ErrOutOfOrder)},
			want: state{committable: 0, next: 1, span: 1, pending: 1},
		},

		// ErrNotPending: state unchanged.
		{
			name: "done before any add",
			ops:  []op{doneErr(0, window.ErrNotPending), doneErr(-1, window.ErrNotPending)},
			want: state{committable: -1, next: -1},
		},
		{
			name: "done below the window",
			ops:  []op{add(1), add(2), done(1, true), doneErr(1, window.ErrNotPending), doneErr(0, window.ErrNotPending)},
			want: state{committable: 2, next: 3, span: 1, pending: 1},
		},
		{
			name: "done above the window",
			ops:  []op{add(1), doneErr(2, window.ErrNotPending), doneErr(1_000, window.ErrNotPending)},
			want: state{committable: 1, next: 2, span: 1, pending: 1},
		},
		{
			name: "done twice",
			ops:  []op{add(1), add(2), done(2, false), doneErr(2, window.ErrNotPending)},
			want: state{committable: 1, next: 3, span: 2, pending: 1},
		},
		{
			name: "done on a gap",
			ops:  []op{add(1), add(5), doneErr(3, window.ErrNotPending)},
			want: state{committable: 1, next: 6, span: 5, pending: 2},
		},
		{
			name: "done after reset",
			ops:  []op{add(1), reset(), doneErr(1, window.ErrNotPending)},
			want: state{committable: -1, next: -1},
		},
		{
			name: "done far below a window at a large offset",
			ops:  []op{add(big), doneErr(7, window.ErrNotPending), doneErr(math.MinInt64, window.ErrNotPending)},
			want: state{committable: big, next: big + 1, span: 1, pending: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window.Window
			for i, o := range tt.ops {
				run(t, &w, i, o)
			}
			got := state{w.Committable(), w.Next(), w.Span(), w.Pending()}
			if got != tt.want {
				t.Errorf("state = %+v, want %+v", got, tt.want)
			}
			for _, off := range tt.pending {
				if !w.IsPending(off) {
					t.Errorf("IsPending(%d) = false, want true", off)
				}
			}
			for _, off := range tt.notPending {
				if w.IsPending(off) {
					t.Errorf("IsPending(%d) = true, want false", off)
				}
			}
			if tt.maxMem != 0 && w.MemBytes() > tt.maxMem {
				t.Errorf("MemBytes() = %d, want at most %d", w.MemBytes(), tt.maxMem)
			}
		})
	}
}

// run performs op o (the i-th of its test) on w and checks its result.
func run(t *testing.T, w *window.Window, i int, o op) {
	t.Helper()
	switch o.kind {
	case "add":
		if err := w.Add(o.off); !sameErr(err, o.err) {
			t.Fatalf("op %d: Add(%d) = %v, want %v", i, o.off, err, o.err)
		}
	case "done":
		moved, err := w.Done(o.off)
		if !sameErr(err, o.err) {
			t.Fatalf("op %d: Done(%d) error = %v, want %v", i, o.off, err, o.err)
		}
		if moved != o.moved {
			t.Fatalf("op %d: Done(%d) moved = %v, want %v", i, o.off, moved, o.moved)
		}
	case "reset":
		w.Reset()
	default:
		t.Fatalf("op %d: unknown kind %q", i, o.kind)
	}
}

// TestErrorsWrapSentinels checks that errors carry detail but still match
// their sentinel, and never the other one.
func TestErrorsWrapSentinels(t *testing.T) {
	var w window.Window
	if err := w.Add(10); err != nil {
		t.Fatal(err)
	}
	addErr := w.Add(10)
	if !errors.Is(addErr, window.ErrOutOfOrder) || errors.Is(addErr, window.ErrNotPending) {
		t.Errorf("Add(10) twice: %v, want only ErrOutOfOrder", addErr)
	}
	if addErr == window.ErrOutOfOrder {
		t.Errorf("Add error %q carries no detail", addErr)
	}
	_, doneErr := w.Done(11)
	if !errors.Is(doneErr, window.ErrNotPending) || errors.Is(doneErr, window.ErrOutOfOrder) {
		t.Errorf("Done(11): %v, want only ErrNotPending", doneErr)
	}
	if doneErr == window.ErrNotPending {
		t.Errorf("Done error %q carries no detail", doneErr)
	}
}

// TestMemBytesPerOffset checks the requirement: 100,000 outstanding
// offsets cost well under 2 bytes each.
func TestMemBytesPerOffset(t *testing.T) {
	const n = 100_000
	var w window.Window
	for off := range int64(n) {
		if err := w.Add(off); err != nil {
			t.Fatal(err)
		}
	}
	if perOffset := float64(w.MemBytes()) / n; perOffset > 0.25 {
		t.Errorf("MemBytes() = %d for %d offsets: %.3f bytes/offset, want at most 0.25", w.MemBytes(), n, perOffset)
	}
}

// TestResetKeepsMemory checks that Reset reuses the ring instead of
// dropping it, and that the reused ring holds no stale bits.
func TestResetKeepsMemory(t *testing.T) {
	var w window.Window
	for off := range int64(1_000) {
		if err := w.Add(off); err != nil {
			t.Fatal(err)
		}
	}
	mem := w.MemBytes()
	w.Reset()
	if w.MemBytes() != mem {
		t.Errorf("MemBytes() after Reset = %d, want %d", w.MemBytes(), mem)
	}
	if err := w.Add(2_000); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 64, 999, 1_999, 2_001} {
		if w.IsPending(off) {
			t.Errorf("IsPending(%d) = true after Reset", off)
		}
	}
	if moved, err := w.Done(2_000); err != nil || !moved {
		t.Errorf("Done(2000) = %v, %v; want true, nil", moved, err)
	}
	if got := w.Committable(); got != 2_001 {
		t.Errorf("Committable() = %d, want 2001", got)
	}
}
