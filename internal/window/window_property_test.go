package window_test

import (
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

// startOffset draws where a partition's first Add lands: near zero, at a
// large offset, or near the top of the offset range.
var startOffset = rapid.OneOf(
	rapid.Int64Range(0, 200),
	rapid.Int64Range(1<<40, 1<<40+200),
	rapid.Int64Range(math.MaxInt64-100_000, math.MaxInt64-1),
)

// gap draws the distance from Next to the next Add: usually 0..200; rarely
// huge, which is only drawn while the window is empty, because a huge gap
// behind a pending offset costs one bit per skipped offset (by design).
func gap(t *rapid.T, empty bool) int64 {
	switch {
	case rapid.IntRange(0, 19).Draw(t, "rareGap") > 0:
		return rapid.Int64Range(0, 200).Draw(t, "gap")
	case empty:
		return rapid.Int64Range(0, 1<<42).Draw(t, "hugeGap")
	default:
		return rapid.Int64Range(0, 1<<14).Draw(t, "longGap")
	}
}

// step performs one random operation on w and m, valid or not (and, if
// withReset, sometimes Reset), and checks its result against the model.
func step(t *rapid.T, w *window.Window, m *model, start int64, withReset bool) {
	ops := 97
	if withReset {
		ops = 100
	}
	switch op := rapid.IntRange(0, ops-1).Draw(t, "op"); {
	case op < 40: // Add after a gap.
		base := start
		if m.started {
			base = m.next
		}
		applyAdd(t, w, m, satAdd(base, gap(t, len(m.pending) == 0)))
	case op < 70: // Done of a random pending offset.
		if len(m.pending) == 0 {
			return
		}
		i := rapid.IntRange(0, len(m.pending)-1).Draw(t, "pendingIndex")
		applyDone(t, w, m, m.pending[i])
	case op < 80: // Done of the lowest pending offset: drains the window.
		if len(m.pending) == 0 {
			return
		}
		applyDone(t, w, m, m.pending[0])
	case op < 90: // Done of any offset near the window: often not pending.
		lo, hi := m.committable(), m.nextOff()
		applyDone(t, w, m, rapid.Int64Range(lo-70, satAdd(max(lo, hi), 70)).Draw(t, "anyDone"))
	case op < 97: // Add of an offset that is not above the last one.
		var off int64
		if m.started && rapid.Bool().Draw(t, "rewind") {
			off = rapid.Int64Range(max(m.next-200, 0), m.next-1).Draw(t, "rewound")
		} else {
			off = rapid.OneOf(rapid.Int64Range(math.MinInt64, -1), rapid.Just(int64(math.MaxInt64))).Draw(t, "bad")
		}
		applyAdd(t, w, m, off)
	default:
		w.Reset()
		m.reset()
	}
}

// TestWindowMatchesModel runs random operation sequences, valid and invalid,
// and compares the window with the model after every step.
func TestWindowMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var w window.Window
		var m model
		start := startOffset.Draw(t, "start")
		m.check(t, &w)
		for range rapid.IntRange(1, 400).Draw(t, "steps") {
			step(t, &w, &m, start, true)
			lo, hi := m.committable(), m.nextOff()
			probe := rapid.Int64Range(lo-130, satAdd(max(lo, hi), 130))
			m.check(t, &w, probe.Draw(t, "probe"), probe.Draw(t, "probe"))
		}
	})
}

// TestCommittableNeverDecreases checks that, short of Reset, no sequence of
// calls, valid or not, moves the commit point backwards.
func TestCommittableNeverDecreases(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var w window.Window
		var m model
		start := startOffset.Draw(t, "start")
		prev := w.Committable()
		for range rapid.IntRange(1, 400).Draw(t, "steps") {
			step(t, &w, &m, start, false)
			got := w.Committable()
			if got < prev {
				t.Fatalf("Committable() went back from %d to %d", prev, got)
			}
			prev = got
		}
	})
}
