package window_test

import (
	"errors"
	"math"
	"slices"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

// model is the trivial reference implementation the property and fuzz tests
// compare a window.Window against: a sorted slice of pending offsets plus the
// next offset.
type model struct {
	started bool
	next    int64
	pending []int64 // sorted ascending; offsets are added in increasing order
}

// add mirrors Window.Add.
func (m *model) add(off int64) error {
	if off < 0 || off == math.MaxInt64 || (m.started && off < m.next) {
		return window.ErrOutOfOrder
	}
	m.started = true
	m.pending = append(m.pending, off)
	m.next = off + 1
	return nil
}

// done mirrors Window.Done.
func (m *model) done(off int64) (moved bool, err error) {
	i, ok := slices.BinarySearch(m.pending, off)
	if !ok {
		return false, window.ErrNotPending
	}
	before := m.committable()
	m.pending = slices.Delete(m.pending, i, i+1)
	return m.committable() != before, nil
}

func (m *model) reset() { *m = model{pending: m.pending[:0]} }

func (m *model) committable() int64 {
	switch {
	case !m.started:
		return -1
	case len(m.pending) > 0:
		return m.pending[0]
	default:
		return m.next
	}
}

func (m *model) nextOff() int64 {
	if !m.started {
		return -1
	}
	return m.next
}

func (m *model) span() int64 {
	if !m.started {
		return 0
	}
	return m.next - m.committable()
}

func (m *model) isPending(off int64) bool {
	_, ok := slices.BinarySearch(m.pending, off)
	return ok
}

// fatalfer is the part of *testing.T and *rapid.T that check needs.
type fatalfer interface {
	Fatalf(format string, args ...any)
}

// check compares every observable of w with m: Committable, Next, Span,
// Pending, and IsPending for every pending offset, the offsets around both
// edges of the window, and the extra probes.
func (m *model) check(t fatalfer, w *window.Window, probes ...int64) {
	if got, want := w.Committable(), m.committable(); got != want {
		t.Fatalf("Committable() = %d, want %d", got, want)
	}
	if got, want := w.Next(), m.nextOff(); got != want {
		t.Fatalf("Next() = %d, want %d", got, want)
	}
	if got, want := w.Span(), m.span(); got != want {
		t.Fatalf("Span() = %d, want %d", got, want)
	}
	if got, want := w.Pending(), len(m.pending); got != want {
		t.Fatalf("Pending() = %d, want %d", got, want)
	}
	for _, off := range m.pending {
		if !w.IsPending(off) {
			t.Fatalf("IsPending(%d) = false, want true", off)
		}
	}
	lo, hi := m.committable(), m.nextOff()
	edges := []int64{lo - 1, lo, satAdd(lo, 1), satAdd(lo, 64), hi - 1, hi, satAdd(hi, 1), satAdd(hi, 64), 0, -1}
	for _, off := range slices.Concat(edges, probes) {
		if got, want := w.IsPending(off), m.isPending(off); got != want {
			t.Fatalf("IsPending(%d) = %v, want %v", off, got, want)
		}
	}
}

// applyAdd runs Add(off) on both w and m and fails unless they agree on the
// result; errors must match by errors.Is.
func applyAdd(t fatalfer, w *window.Window, m *model, off int64) {
	wantErr := m.add(off)
	if err := w.Add(off); !sameErr(err, wantErr) {
		t.Fatalf("Add(%d) = %v, want %v", off, err, wantErr)
	}
}

// applyDone runs Done(off) on both w and m and fails unless they agree on
// the error (by errors.Is) and on whether the commit point moved.
func applyDone(t fatalfer, w *window.Window, m *model, off int64) {
	wantMoved, wantErr := m.done(off)
	moved, err := w.Done(off)
	if !sameErr(err, wantErr) {
		t.Fatalf("Done(%d) error = %v, want %v", off, err, wantErr)
	}
	if moved != wantMoved {
		t.Fatalf("Done(%d) moved = %v, want %v", off, moved, wantMoved)
	}
}

func sameErr(got, want error) bool {
	if want == nil {
		return got == nil
	}
	return errors.Is(got, want)
}

// satAdd is a+b for b >= 0, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
