// Package window tracks, for one Kafka partition, which fetched offsets are
// still being processed and how far the commit point may move.
//
// The seed design keeps a linked list of in-flight offsets (about 30 bytes per
// offset). A Window instead keeps one bit per offset of span in a ring of
// 64-bit words, so 100,000 outstanding offsets cost about 12.5 KB, and both
// Done and Committable are O(1) amortized: the low edge only ever moves
// forward, one word at a time.
//
// Invariants (checked by the property tests against a trivial model):
//   - Committable() is the lowest offset that was added and is not yet done,
//     or Next() when every added offset is done;
//   - offsets never added (gaps left by compaction or transaction markers)
//     count as done;
//   - completing a later offset first never moves Committable().
//
// A Window is not safe for concurrent use: its owner serialises access.
package window

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrOutOfOrder is returned by Add when an offset is not above every offset
// added before it: Kafka hands a partition's records out in offset order, so
// this means a duplicate or a rewound fetch that the caller must not track.
// Add also returns it for offsets no partition can hold: negative ones and
// math.MaxInt64 (whose successor, Next, would overflow).
var ErrOutOfOrder = errors.New("window: offset not above the last one added")

// ErrNotPending is returned by Done for an offset that is not in flight:
// below the window, above it, or already done.
var ErrNotPending = errors.New("window: offset is not pending")

// Window is the set of pending offsets of one partition.
//
// Bit i of the ring stands for offset base+i (counted across words); a set bit
// means "pending". Everything below low is done.
type Window struct {
	words   []uint64 // ring; len is a power of two (or zero)
	base    int64    // offset of bit 0 of words[head]; a multiple of 64 relative to origin
	head    int      // ring index of the word holding base
	low     int64    // lowest offset that may still be pending; low >= base
	next    int64    // 1 + highest offset added; next >= low
	pending int      // number of set bits
	started bool
}

// Reset empties the window so that the next Add may start anywhere.
func (w *Window) Reset() {
	clear(w.words)
	w.head, w.pending, w.started = 0, 0, false
	w.base, w.low, w.next = 0, 0, 0
}

// Add records offset off as pending. Offsets between the previous Add and off
// are gaps and count as done.
func (w *Window) Add(off int64) error {
	if err := w.admit(off); err != nil {
		return err
	}
	if w.pending == 0 {
		// Nothing pending: jump the whole window forward instead of
		// growing it across the gap.
		w.rebase(off)
	}
	w.grow(off)
	i := off - w.base
	w.words[(w.head+int(i>>6))&(len(w.words)-1)] |= 1 << (uint(i) & 63)
	w.pending++
	w.next = off + 1
	return nil
}

// admit checks that off may come next, starting the window at the first
// offset: every offset must be above the last one admitted.
func (w *Window) admit(off int64) error {
	if off < 0 || off == math.MaxInt64 {
		// Next() is off+1, which must not overflow.
		return fmt.Errorf("%w: offset %d out of range", ErrOutOfOrder, off)
	}
	if !w.started {
		w.started = true
		w.base = off &^ 63
		w.low, w.next = off, off
	} else if off < w.next {
		return fmt.Errorf("%w: %d after %d", ErrOutOfOrder, off, w.next-1)
	}
	return nil
}

// rebase moves an empty window so that off is in its first word.
func (w *Window) rebase(off int64) {
	w.base = off &^ 63
	w.head = 0
	w.low = off
}

// grow makes room for offset off, doubling the ring as needed.
func (w *Window) grow(off int64) {
	need := int((off-w.base)>>6) + 1
	if need <= len(w.words) {
		return
	}
	n := max(len(w.words), 1)
	for n < need {
		n *= 2
	}
	words := make([]uint64, n)
	// Unroll the ring so that base sits in words[0].
	for i := range len(w.words) {
		words[i] = w.words[(w.head+i)&(len(w.words)-1)]
	}
	w.words, w.head = words, 0
}

// Done marks offset off as finished and reports whether Committable moved.
func (w *Window) Done(off int64) (moved bool, err error) {
	if off < w.low || off >= w.next {
		return false, fmt.Errorf("%w: %d outside [%d, %d)", ErrNotPending, off, w.low, w.next)
	}
	i := off - w.base
	wi := (w.head + int(i>>6)) & (len(w.words) - 1)
	bit := uint64(1) << (uint(i) & 63)
	if w.words[wi]&bit == 0 {
		return false, fmt.Errorf("%w: %d already done", ErrNotPending, off)
	}
	w.words[wi] &^= bit
	w.pending--
	if off != w.low {
		return false, nil
	}
	w.advance()
	return true, nil
}

// advance moves low past done offsets, releasing whole words as it goes.
func (w *Window) advance() {
	if w.pending == 0 {
		w.low = w.next
		w.rebase(w.next)
		clear(w.words)
		return
	}
	for {
		word := w.words[w.head]
		// Ignore bits below low within the first word (they are zero anyway).
		if word != 0 {
			w.low = w.base + int64(bits.TrailingZeros64(word))
			return
		}
		w.head = (w.head + 1) & (len(w.words) - 1)
		w.base += 64
	}
}

// Committable is the offset to commit: every offset below it is done.
// Before the first Add it returns -1.
func (w *Window) Committable() int64 {
	if !w.started {
		return -1
	}
	return w.low
}

// Next is 1 + the highest offset added, or -1 before the first Add.
func (w *Window) Next() int64 {
	if !w.started {
		return -1
	}
	return w.next
}

// Span is the number of offsets between the commit point and the newest added
// offset: the amount of the partition the window must remember.
func (w *Window) Span() int64 { return w.next - w.low }

// Pending is the number of offsets added and not yet done.
func (w *Window) Pending() int { return w.pending }

// IsPending reports whether off was added and is not yet done.
func (w *Window) IsPending(off int64) bool {
	if off < w.low || off >= w.next {
		return false
	}
	i := off - w.base
	return w.words[(w.head+int(i>>6))&(len(w.words)-1)]&(1<<(uint(i)&63)) != 0
}

// MemBytes is the memory held by the ring, for the bytes-per-offset benchmark.
func (w *Window) MemBytes() int { return 8 * cap(w.words) }
