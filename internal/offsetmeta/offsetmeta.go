// Package offsetmeta encodes, in a Kafka offset commit's metadata string,
// which offsets above the committed one are already done, so that the next
// owner of the partition does not hand them to the handler again.
//
// # Format, version 1
//
// A metadata string is
//
//	"kw1:" FORM BASE64
//
// where FORM is one ASCII byte and BASE64 is the body in unpadded base64url
// (RFC 4648 §5, no "=", canonical trailing bits): the whole string is
// printable ASCII, so its length in bytes is its length in characters.
//
//	FORM 'R'  body in run-length form
//	FORM 'B'  body in bitset form
//	FORM 'r'  zstd frame (RFC 8878) whose content is a body in run-length form
//	FORM 'b'  zstd frame whose content is a body in bitset form
//
// A body (after decompression, for 'r' and 'b') is
//
//	uvarint C    the committed offset the metadata was written with
//	uvarint N    offsets covered: [C, C+N); 1 <= N <= MaxRange
//	payload      see below
//	uint32 CRC   CRC-32C (Castagnoli), little-endian, of the FORM byte
//	             followed by every body byte before the CRC
//
// uvarint is encoding/binary's (LEB128, at most 10 bytes, minimal length).
//
// Run-length payload: uvarint lengths P0 D0 P1 D1 ... Pk Dk, each >= 1,
// summing to N: P0 offsets from C on are not done, the next D0 are done, and
// so on; it always ends with a done run.
//
// Bitset payload: ceil(N/8) bytes; bit i%8 (least significant first) of byte
// i/8 is set when offset C+i is done. Bit 0 is clear (C is the commit point,
// so it is not done), bit N-1 is set, bits N and above are clear.
//
// Meaning: every offset in [C, C+N) that the payload marks done is done; an
// offset it does not mark, and every offset at or above C+N, is not claimed
// and is processed again. The encoder writes the smallest of the four forms
// (compression is tried for payloads of at least 64 bytes). When the smallest
// does not fit the budget (Kafka's offset.metadata.max.bytes, 4096 by
// default) it writes the longest prefix that fits: the lowest offsets, with N
// cut at the end of a done run. It never fails and never exceeds the budget;
// with nothing done above C, or a budget too small for any body, it returns
// the empty string.
//
// A decoder ignores (ok=false) anything else: a string without the prefix
// (franz-go writes the member id by default; other tools write their own), an
// unknown FORM, bad base64, a zstd frame that is corrupt or inflates past
// MaxBody bytes, a CRC mismatch, a C other than the committed offset read
// back with the metadata, N out of range, a non-canonical or inconsistent
// payload, or trailing bytes. Ignoring metadata only ever replays records;
// it never skips one. A future format takes a new prefix ("kw2:").
package offsetmeta

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"math"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
)

const (
	// Magic starts every metadata string this package writes.
	Magic = "kw1:"
	// MaxRange is the most offsets above the committed one a metadata
	// string may cover; the encoder cuts longer ranges to this prefix.
	MaxRange = 1 << 24
	// MaxBody is the largest body, in bytes after decompression, the
	// decoder accepts; the encoder never writes a larger one.
	MaxBody = 1 << 20
	// DefaultBudget is Kafka's default offset.metadata.max.bytes.
	DefaultBudget = 4096
)

const (
	formRuns  = 'R'
	formBits  = 'B'
	formRunsZ = 'r'
	formBitsZ = 'b'

	headerLen = len(Magic) + 1 // Magic and the FORM byte
	crcLen    = 4
	// zstdMin is the smallest payload worth trying to compress: below it
	// the zstd frame header eats the gain.
	zstdMin = 64
	// zstdTries bounds the compressions one Encode runs when even the
	// compressed encoding is over budget and a prefix is searched for.
	zstdTries = 6
)

var (
	b64       = base64.RawURLEncoding.Strict()
	castagnol = crc32.MakeTable(crc32.Castagnoli)
)

// zstd's encoder and decoder are safe for concurrent EncodeAll and
// DecodeAll; neither starts a goroutine for those.
var (
	zenc = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false),
			zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(MaxBody), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic("offsetmeta: zstd encoder: " + err.Error())
		}
		return e
	})
	zdec = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(MaxBody), zstd.WithDecoderMaxWindow(MaxBody))
		if err != nil {
			panic("offsetmeta: zstd decoder: " + err.Error())
		}
		return d
	})
)

// Encoder encodes metadata with scratch buffers it keeps between calls, so
// that an Encode allocates only the returned string. Its zero value is ready
// to use; it is not safe for concurrent use (one per committer).
type Encoder struct {
	runs []byte // run-length payload
	bits []byte // bitset payload
	body []byte // body being built
	z    []byte // compressed body
	best []byte // best body found so far
	out  []byte // the metadata string
	form [1]byte
}

var encoders = sync.Pool{New: func() any { return new(Encoder) }}

// Encode is Encoder.Encode with an Encoder from a pool.
func Encode(committed int64, done []uint64, n int64, budget int) string {
	e := encoders.Get().(*Encoder)
	s := e.Encode(committed, done, n, budget)
	encoders.Put(e)
	return s
}

// Encode returns the metadata to commit with offset committed: the offsets
// of [committed, committed+n) whose bit is set in done (bit i%64 of done[i/64]
// stands for offset committed+i, as window.Window.AppendDoneBits writes it)
// are done. Bit 0 is ignored (the commit point is not done), as are bits at
// n and above; n is cut to MaxRange and to 64*len(done). The result is at
// most budget bytes: the whole set, or the longest prefix that fits, or ""
// when nothing is done or nothing fits. See the package comment.
func (e *Encoder) Encode(committed int64, done []uint64, n int64, budget int) string {
	n = min(n, MaxRange, int64(len(done))*64)
	if committed < 0 || n <= 1 || budget <= headerLen {
		return ""
	}
	end := lastDone(done, n) + 1
	if end <= 0 {
		return ""
	}
	// The body bytes the budget leaves, and the payload bytes within it.
	maxBody := min(b64.DecodedLen(budget-headerLen), MaxBody)
	fixed := uvarintLen(uint64(committed)) + uvarintLen(uint64(end)) + crcLen
	limit := maxBody - fixed
	if limit < 1 {
		return ""
	}

	e.bits = appendBitset(e.bits[:0], done, end)
	// The run-length form matters only while it is smaller than the bitset
	// and, for a prefix, up to the limit: stop building it past both.
	var whole bool
	e.runs, whole = appendRuns(e.runs[:0], done, end, min(len(e.bits), limit))

	// Smallest uncompressed form, whole.
	form, payload := byte(formRuns), e.runs
	if !whole || len(e.bits) < len(e.runs) {
		form, payload = formBits, e.bits
	}
	bestForm, bestEnd := byte(0), int64(0)
	if len(payload) <= limit {
		e.best = e.appendBody(e.best[:0], form, committed, end, payload)
		bestForm, bestEnd = form, end
	} else {
		// Longest uncompressed prefix: whichever form covers more.
		rl, re := runsPrefix(e.runs, limit)
		bl, be := bitsPrefix(e.bits, limit)
		if re >= be && re > 0 {
			e.best = e.appendBody(e.best[:0], formRuns, committed, re, e.runs[:rl])
			bestForm, bestEnd = formRuns, re
		} else if be > 0 {
			e.best = e.appendBody(e.best[:0], formBits, committed, be, e.bits[:bl])
			bestForm, bestEnd = formBits, be
		}
	}
	if len(payload) >= zstdMin {
		bestForm, _ = e.tryZstd(form, payload, committed, end, maxBody, bestForm, bestEnd)
	}
	if bestForm == 0 {
		return ""
	}
	e.out = append(e.out[:0], Magic...)
	e.out = append(e.out, bestForm)
	e.out = b64.AppendEncode(e.out, e.best)
	return string(e.out)
}

// tryZstd compresses the smallest form and keeps it in e.best when it covers
// more than (bestForm, bestEnd), or as much in fewer bytes. If the whole
// range does not fit compressed, it searches, in at most zstdTries
// compressions, for the longest prefix that does.
func (e *Encoder) tryZstd(form byte, payload []byte, committed, end int64, maxBody int, bestForm byte, bestEnd int64) (byte, int64) {
	zform := byte(formRunsZ)
	prefix := runsPrefix
	if form == formBits {
		zform, prefix = formBitsZ, bitsPrefix
	}
	// compress builds the body for the prefix of at most p payload bytes
	// and compresses it into e.z; it returns the prefix's end and whether
	// the result fits.
	fixed := uvarintLen(uint64(committed)) + uvarintLen(uint64(end)) + crcLen
	compress := func(p int) (int64, bool) {
		p = min(p, MaxBody-fixed) // the decoder's limit on the inflated body
		cut, pend := len(payload), end
		if p < len(payload) {
			cut, pend = prefix(payload, p)
		}
		if pend <= 0 {
			return 0, false
		}
		e.body = e.appendBody(e.body[:0], zform, committed, pend, payload[:cut])
		e.z = zenc().EncodeAll(e.body, e.z[:0])
		return pend, len(e.z) <= maxBody
	}
	keep := func(pend int64) {
		if pend > bestEnd || (pend == bestEnd && len(e.z) < len(e.best)) {
			e.best = append(e.best[:0], e.z...)
			bestForm, bestEnd = zform, pend
		}
	}
	pend, fits := compress(len(payload))
	if fits {
		keep(pend)
		return bestForm, bestEnd
	}
	if len(e.z) > len(e.body)*7/8 {
		// Incompressible (random done bits): no prefix of it will do
		// much better than the uncompressed one already found.
		return bestForm, bestEnd
	}
	// Over budget even compressed: bisect on the payload bytes, starting
	// from the size the whole range's ratio predicts.
	lo, hi := 0, len(payload) // a prefix of lo bytes fits; hi does not
	guess := int(float64(len(payload)) * float64(maxBody) / float64(len(e.z)) * 0.95)
	for range zstdTries {
		p := guess
		if p <= lo || p >= hi {
			p = lo + (hi-lo)/2
		}
		if hi-lo <= max(hi/64, 8) {
			break
		}
		pend, fits := compress(p)
		if fits {
			keep(pend)
			lo = p
		} else {
			hi = p
		}
		guess = lo + (hi-lo)/2
	}
	return bestForm, bestEnd
}

// appendBody appends a body with its CRC (computed with form) to dst.
func (e *Encoder) appendBody(dst []byte, form byte, committed, n int64, payload []byte) []byte {
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(committed))
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = append(dst, payload...)
	e.form[0] = form // a field, not a literal: it would escape each call
	crc := crc32.Update(crc32.Update(0, castagnol, e.form[:]), castagnol, dst[start:])
	return binary.LittleEndian.AppendUint32(dst, crc)
}

// lastDone is the index of the highest set bit of done below n, ignoring
// bit 0, or -1.
func lastDone(done []uint64, n int64) int64 {
	for k := (n - 1) >> 6; k >= 0; k-- {
		w := done[k]
		if k == (n-1)>>6 && n&63 != 0 {
			w &= 1<<uint(n&63) - 1
		}
		if k == 0 {
			w &^= 1
		}
		if w != 0 {
			return k<<6 + 63 - int64(bits.LeadingZeros64(w))
		}
	}
	return -1
}

// findBit is the first index in [i, n) whose bit in done equals set, or n.
func findBit(done []uint64, i, n int64, set bool) int64 {
	for i < n {
		k := i >> 6
		w := done[k]
		if !set {
			w = ^w
		}
		if w >>= uint(i & 63); w != 0 {
			return min(i+int64(bits.TrailingZeros64(w)), n)
		}
		i = (k + 1) << 6
	}
	return n
}

// appendRuns appends the run-length payload of [0, end) to dst; bit end-1 is
// set and bit 0 is taken as clear. It stops, with whole false, once it has
// appended more than stop bytes.
func appendRuns(dst []byte, done []uint64, end int64, stop int) (_ []byte, whole bool) {
	pos, start := int64(0), len(dst)
	for pos < end {
		if len(dst)-start > stop {
			return dst, false
		}
		d := findBit(done, max(pos, 1), end, true)
		e := findBit(done, d, end, false)
		dst = binary.AppendUvarint(dst, uint64(d-pos))
		dst = binary.AppendUvarint(dst, uint64(e-d))
		pos = e
	}
	return dst, true
}

// appendBitset appends the bitset payload of [0, end) to dst, bit 0 clear.
func appendBitset(dst []byte, done []uint64, end int64) []byte {
	start := len(dst)
	nb := int((end + 7) >> 3)
	for k := range (end + 63) >> 6 {
		dst = binary.LittleEndian.AppendUint64(dst, done[k])
	}
	dst = dst[:start+nb]
	dst[start] &^= 1
	if r := uint(end & 7); r != 0 {
		dst[len(dst)-1] &= 1<<r - 1
	}
	return dst
}

// runsPrefix returns the length of the longest prefix of a run-length
// payload that is at most limit bytes and ends after a done run, and the
// number of offsets it covers (0 if none fits).
func runsPrefix(runs []byte, limit int) (cut int, end int64) {
	i, pos := 0, int64(0)
	for i < len(runs) {
		p, n1 := binary.Uvarint(runs[i:])
		d, n2 := binary.Uvarint(runs[i+n1:])
		if i+n1+n2 > limit {
			break
		}
		i += n1 + n2
		pos += int64(p + d)
		cut, end = i, pos
	}
	return cut, end
}

// bitsPrefix returns the length of the longest prefix of a bitset payload
// that is at most limit bytes, cut after its last set bit, and the number of
// offsets it covers (0 if none).
func bitsPrefix(bs []byte, limit int) (cut int, end int64) {
	cut = min(len(bs), limit)
	for cut > 0 && bs[cut-1] == 0 {
		cut--
	}
	if cut == 0 {
		return 0, 0
	}
	return cut, int64(cut-1)*8 + int64(bits.Len8(bs[cut-1]))
}

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// Run is a range of done offsets, [From, To).
type Run struct{ From, To int64 }

// Done is the set of offsets a metadata string marks done, as sorted,
// disjoint, non-adjacent runs, all above the committed offset. Its zero
// value is the empty set.
type Done struct {
	committed int64
	runs      []Run
	cur       int // Skip's cursor: runs before it end at or below the last offset asked
}

// Committed is the committed offset the set was decoded for.
func (d *Done) Committed() int64 { return d.committed }

// Runs returns the runs of done offsets, in increasing order.
func (d *Done) Runs() []Run { return d.runs }

// Count is the number of done offsets.
func (d *Done) Count() int64 {
	var c int64
	for _, r := range d.runs {
		c += r.To - r.From
	}
	return c
}

// End is 1 + the highest done offset, or 0 for the empty set: the set claims
// nothing at or above it.
func (d *Done) End() int64 {
	if len(d.runs) == 0 {
		return 0
	}
	return d.runs[len(d.runs)-1].To
}

// Contains reports whether off is done.
func (d *Done) Contains(off int64) bool {
	lo, hi := 0, len(d.runs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.runs[m].To <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(d.runs) && d.runs[lo].From <= off
}

// Skip reports whether the record at off is done and must not be handed to
// the handler. It is Contains in amortized O(1) when asked in increasing
// offset order, as a fetch delivers records; asking lower falls back to a
// search.
func (d *Done) Skip(off int64) bool {
	if d.cur > 0 && d.cur <= len(d.runs) && d.runs[d.cur-1].To > off {
		d.cur = 0 // asked lower than before: start over
	}
	for d.cur < len(d.runs) && d.runs[d.cur].To <= off {
		d.cur++
	}
	return d.cur < len(d.runs) && d.runs[d.cur].From <= off
}

// AppendBits extends a bitset that covers [from, from+n) (bit i for offset
// from+i, bits n and above clear, as window.Window.AppendDoneBits returns it)
// up to End(), setting the bits of this set's offsets at or above from+n, and
// returns it with its new length. The engine uses it to carry the done
// offsets it restored but has not fetched yet into its next commit's
// metadata; offsets below from+n are the bitset's business and left alone.
func (d *Done) AppendBits(bits []uint64, from, n int64) ([]uint64, int64) {
	lo, end := from+n, d.End()
	if end <= lo {
		return bits, n
	}
	nn := max(n, min(end-from, MaxRange))
	for int64(len(bits)) < (nn+63)>>6 {
		bits = append(bits, 0)
	}
	for _, r := range d.runs {
		a, b := max(r.From, lo)-from, min(r.To-from, nn)
		for i := a; i < b; {
			// Set bits [i, min(b, next word boundary)).
			k := i >> 6
			hi := min(b, (k+1)<<6)
			w := uint(hi - i)
			var m uint64 = math.MaxUint64
			if w < 64 {
				m = 1<<w - 1
			}
			bits[k] |= m << uint(i&63)
			i = hi
		}
	}
	return bits, nn
}

// Decode returns the offsets that meta, read back with committed offset
// committed, marks done. ok is false, and the set empty, when meta is not
// this package's, is corrupt, or was written for another committed offset:
// then nothing is skipped. It never panics and allocates in proportion to
// len(meta) (at most MaxBody for a compressed body).
func Decode(meta string, committed int64) (d Done, ok bool) {
	d.committed = committed
	if committed < 0 || len(meta) <= headerLen || meta[:len(Magic)] != Magic ||
		len(meta)-headerLen > b64.EncodedLen(MaxBody) {
		return d, false
	}
	form := meta[len(Magic)]
	switch form {
	case formRuns, formBits, formRunsZ, formBitsZ:
	default:
		return d, false
	}
	body, err := b64.AppendDecode(nil, []byte(meta[headerLen:]))
	if err != nil {
		return d, false
	}
	if form == formRunsZ || form == formBitsZ {
		if body, err = zdec().DecodeAll(body, nil); err != nil || len(body) > MaxBody {
			return d, false
		}
	}
	if len(body) < crcLen {
		return d, false
	}
	sum := binary.LittleEndian.Uint32(body[len(body)-crcLen:])
	body = body[:len(body)-crcLen]
	if crc32.Update(crc32.Update(0, castagnol, []byte{form}), castagnol, body) != sum {
		return d, false
	}
	c, k := canonicalUvarint(body)
	if k <= 0 || c != uint64(committed) {
		return d, false
	}
	body = body[k:]
	n, k := canonicalUvarint(body)
	if k <= 0 || n < 2 || n > MaxRange {
		return d, false
	}
	body = body[k:]
	if committed > math.MaxInt64-int64(n) {
		return d, false
	}
	var runs []Run
	if form == formRuns || form == formRunsZ {
		runs, ok = decodeRuns(body, committed, int64(n))
	} else {
		runs, ok = decodeBits(body, committed, int64(n))
	}
	if !ok {
		return Done{committed: committed}, false
	}
	d.runs = runs
	return d, true
}

// canonicalUvarint is binary.Uvarint, refusing non-minimal encodings.
func canonicalUvarint(b []byte) (uint64, int) {
	v, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(v) {
		return 0, -1
	}
	return v, k
}

func decodeRuns(b []byte, committed, n int64) ([]Run, bool) {
	runs := make([]Run, 0, min(len(b)/2, 1024))
	pos := int64(0)
	for len(b) > 0 {
		p, k1 := canonicalUvarint(b)
		if k1 <= 0 {
			return nil, false
		}
		d, k2 := canonicalUvarint(b[k1:])
		if k2 <= 0 || p == 0 || d == 0 || p > uint64(n-pos) || d > uint64(n-pos)-p {
			return nil, false
		}
		b = b[k1+k2:]
		from := pos + int64(p)
		pos = from + int64(d)
		runs = append(runs, Run{committed + from, committed + pos})
	}
	return runs, pos == n
}

func decodeBits(b []byte, committed, n int64) ([]Run, bool) {
	if int64(len(b)) != (n+7)>>3 || b[0]&1 != 0 {
		return nil, false
	}
	last := b[len(b)-1]
	if r := uint(n & 7); r != 0 && last>>r != 0 {
		return nil, false // bits above N
	}
	if (b[(n-1)>>3]>>uint((n-1)&7))&1 == 0 {
		return nil, false // N does not end on a done offset
	}
	// As 64-bit words, to scan with findBit; count the runs (0->1
	// transitions) first to allocate them once.
	words := make([]uint64, (len(b)+7)/8)
	for k := range words {
		var w [8]byte
		copy(w[:], b[k*8:])
		words[k] = binary.LittleEndian.Uint64(w[:])
	}
	count, carry := 0, uint64(0)
	for _, w := range words {
		count += bits.OnesCount64(w &^ (w<<1 | carry))
		carry = w >> 63
	}
	runs := make([]Run, 0, count)
	for pos := int64(1); pos < n; {
		from := findBit(words, pos, n, true)
		if from == n {
			break
		}
		to := findBit(words, from, n, false)
		runs = append(runs, Run{committed + from, committed + to})
		pos = to
	}
	return runs, true
}
