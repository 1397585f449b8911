package window_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

// fuzzStarts are the first offsets a fuzzed window starts from.
var fuzzStarts = []int64{0, 1, 63, 64, 1000, 1<<40 + 7, math.MaxInt64 - 1<<20}

// maxFuzzOps bounds the work per input, so the fuzzer keeps its pace.
const maxFuzzOps = 2048

// opReader decodes fuzz bytes; past the end it yields zeros.
type opReader []byte

func (r *opReader) byte() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

func (r *opReader) uint16() uint16 { return uint16(r.byte())<<8 | uint16(r.byte()) }

func (r *opReader) uint32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = r.byte()
	}
	return binary.BigEndian.Uint32(b[:])
}

// FuzzWindow decodes the input into a sequence of operations, valid and not,
// and compares the window with the model after every one. The first byte
// picks the starting offset; then each operation is one byte (its low three
// bits pick the kind) followed by its arguments.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 2, 4, 0, 0, 4, 0, 0, 4, 0, 0})
	f.Add([]byte{5, 1, 10, 1, 70, 3, 0, 0, 1, 0, 4, 0, 1, 4, 0, 0, 6, 3, 7, 0})
	f.Add([]byte{2, 0, 0, 1, 200, 2, 200, 3, 1, 255, 5, 0, 2, 7, 3, 0, 0, 3, 0, 0, 255, 255})
	f.Add([]byte{0, 1, 255, 1, 255, 1, 255, 1, 255, 1, 255, 13, 0, 0, 13, 0, 0, 1, 255, 1, 255, 1, 255, 12, 0, 0})
	f.Add([]byte{6, 0, 0, 15, 7, 23, 31, 6, 130, 14, 0, 0, 0, 7, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := opReader(data)
		var w window.Window
		var m model
		start := fuzzStarts[int(r.byte())%len(fuzzStarts)]
		for n := 0; len(r) > 0 && n < maxFuzzOps; n++ {
			probe := fuzzStep(t, &w, &m, &r, start)
			m.check(t, &w, probe)
		}
	})
}

// fuzzStep decodes and performs one operation, checking its result against
// the model; it returns an offset worth probing with IsPending.
func fuzzStep(t *testing.T, w *window.Window, m *model, r *opReader, start int64) (probe int64) {
	t.Helper()
	base := start
	if m.started {
		base = m.next
	}
	lo, hi := m.committable(), m.nextOff()
	op := r.byte()
	switch op & 7 {
	case 0, 1, 2: // Add after a short gap.
		off := satAdd(base, int64(r.byte()))
		applyAdd(t, w, m, off)
		return off - 1
	case 3: // Add after a long gap; a huge one only when nothing is pending.
		g := int64(r.uint16())
		if len(m.pending) == 0 {
			g = int64(r.uint32()) << 10
		}
		off := satAdd(base, g)
		applyAdd(t, w, m, off)
		return off - 1
	case 4, 5: // Done of a pending offset.
		i := int(r.uint16())
		if len(m.pending) == 0 {
			return lo
		}
		off := m.pending[i%len(m.pending)]
		applyDone(t, w, m, off)
		return off
	case 6: // Done of any offset near either edge: often not pending.
		d := int64(int8(r.byte()))
		off := lo + d
		if op&8 != 0 {
			off = hi + d
		}
		applyDone(t, w, m, off)
		return off
	default: // Invalid Adds, and Reset.
		b := int64(r.byte())
		switch op >> 3 & 3 {
		case 0:
			applyAdd(t, w, m, base-1-b) // rewound or duplicate (or negative)
		case 1:
			applyAdd(t, w, m, -1-b<<40) // negative
		case 2:
			applyAdd(t, w, m, math.MaxInt64)
		default:
			w.Reset()
			m.reset()
		}
		return lo + b
	}
}
