package window

// This file holds what commit metadata needs from a Window (see package
// internal/offsetmeta): reading the done offsets above the commit point, and
// taking in offsets that are done before they are fetched.

// AddDone records offset off as fetched and already done: a record whose
// offset the commit metadata of a previous owner marks done, which the
// engine must not hand to the handler again. It is exactly Add(off) followed
// by Done(off), without touching a bit: the window treats off like a gap,
// so the commit point moves over it, and Next() moves past it. Like a gap, it
// grows the ring only while an offset below it is pending. Errors are those
// of Add.
func (w *Window) AddDone(off int64) error {
	if err := w.admit(off); err != nil {
		return err
	}
	if w.pending == 0 {
		// Every word is zero: move the empty window past off.
		w.next = off + 1
		w.rebase(w.next)
		return nil
	}
	// The ring must cover [base, next) for IsPending, Done and Add.
	w.grow(off)
	w.next = off + 1
	return nil
}

// AppendDoneBits appends to dst the state of the offsets from Committable()
// up to Next() as a bitset and returns it with the number of offsets it
// covers (Span()): bit i%64 of word i/64 of the appended part is set when
// offset Committable()+i is done (finished, or a gap). Bit 0 is never set:
// Committable() is pending. Bits at n and above in the last word are zero.
// It costs one pass over the Span()/64 words of the ring and allocates only
// when dst has no room.
func (w *Window) AppendDoneBits(dst []uint64) (bits []uint64, n int64) {
	n = w.Span()
	if n <= 0 {
		return dst, 0
	}
	rel := w.low - w.base                 // bit of low in the window, counted from base
	used := int((w.next-1-w.base)>>6) + 1 // words of the ring holding [base, next)
	mask := len(w.words) - 1
	word := func(k int) uint64 {
		if k >= used {
			return 0
		}
		return w.words[(w.head+k)&mask]
	}
	k0, shift := int(rel>>6), uint(rel&63)
	nw := int((n + 63) >> 6)
	for j := range nw {
		v := word(k0+j) >> shift
		if shift != 0 {
			v |= word(k0+j+1) << (64 - shift)
		}
		dst = append(dst, ^v)
	}
	if r := uint(n & 63); r != 0 {
		dst[len(dst)-1] &= 1<<r - 1
	}
	return dst, n
}
