package engine

import (
	"context"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
	"github.com/kafkaworker/kafkaworker/internal/window"
)

// partState is where a partition's assignment is in its life.
type partState uint8

const (
	active   partState = iota // records are dispatched
	revoking                  // no new dispatch; waiting for running records
	dropped                   // gone; late completions are ignored
)

// partition is the engine's state for one assignment of a partition. A new
// assignment of the same partition gets a new partition value with a new
// epoch, so a completion that arrives from an old assignment finds its own,
// dropped, partition and never touches the new one. Guarded by the engine's
// mutex.
type partition[R any] struct {
	tp        TP
	epoch     uint64
	state     partState
	ctx       context.Context // handlers' context; cancelled when dropped
	cancel    context.CancelFunc
	win       window.Window
	committed int64 // last offset committed; -1 before the first commit
	start     int64 // the first offset fetched; -1 before
	bytes     int64 // Size of its pending records
	running   list[R]
	keys      map[uint64]*chain[R] // ByKey
	serial    *chain[R]            // ByPartition
	hwm       int64                // the log's high watermark at the last fetch; -1 unknown
	drained   chan struct{}        // closed when revoking and nothing runs
	held      int                  // share mode: records taken in and not acknowledged
	acked     int64                // share mode: records acknowledged, the progress count
	blocked   map[int64]*item[R]   // Block policy: its blocked records by offset; nil when none

	// Pausing: want is what the window asks for, paused what the Source
	// was last told. They differ only until applyPauses runs.
	want, paused bool
	dirty        bool // queued in the engine's pause list

	// Commit metadata: restored is what the previous owner's last commit
	// said was done above it (nil once fetching has passed it); meta is
	// the metadata of our last successful commit; bits is scratch space.
	restored *offsetmeta.Done
	meta     string
	bits     []uint64
}

// chainFor returns the chain a record with key must run in, creating it, or
// nil when the record is not ordered behind anything.
func (p *partition[R]) chainFor(o Ordering, key []byte, hash func([]byte) uint64, pool *pool[R]) *chain[R] {
	switch o {
	case ByPartition:
		if p.serial == nil {
			p.serial = pool.chain(0)
		}
		return p.serial
	case ByKey:
		if key == nil {
			return nil
		}
		h := hash(key)
		if ch, ok := p.keys[h]; ok {
			return ch
		}
		ch := pool.chain(h)
		p.keys[h] = ch
		return ch
	}
	return nil
}

// release hands its chain to the next waiting record, which it returns
// (the caller runs it or queues it), or retires the chain.
func (p *partition[R]) release(it *item[R], pool *pool[R]) *item[R] {
	ch := it.ch
	if ch == nil {
		return nil
	}
	it.ch = nil
	if next := ch.waiting.popFront(); next != nil {
		return next
	}
	ch.busy = false
	if ch != p.serial {
		delete(p.keys, ch.key)
		pool.freeChain(ch)
	}
	return nil
}

// add tracks a fetched record as pending.
func (p *partition[R]) add(off, size int64) error {
	if p.win.Next() < 0 {
		// Where the group's committed offset (or the reset policy)
		// placed us: nothing to commit until a record finishes.
		p.start = off
	}
	if err := p.win.Add(off); err != nil {
		return err
	}
	p.bytes += size
	return nil
}

// finish marks a record done; the commit point may move.
func (p *partition[R]) finish(off, size int64) error {
	p.bytes -= size
	_, err := p.win.Done(off)
	return err
}

// toCommit returns the offset and metadata a commit should carry, and
// whether either changed since the last commit. budget is the most bytes
// of metadata the broker accepts (0: none).
func (p *partition[R]) toCommit(enc *offsetmeta.Encoder, budget int) (int64, string, bool) {
	if p.state == dropped || p.win.Next() < 0 {
		return 0, "", false
	}
	c := p.win.Committable()
	meta := ""
	if budget > 0 {
		var n int64
		p.bits, n = p.win.AppendDoneBits(p.bits[:0])
		if p.restored != nil {
			// Offsets the previous owner finished that are not
			// fetched yet: carried on, or a second stop would lose them.
			p.bits, n = p.restored.AppendBits(p.bits, c, n)
		}
		meta = enc.Encode(c, p.bits, n, budget)
	}
	moved := c > p.committed && c > p.start
	return c, meta, moved || meta != p.meta
}

// skipRestored reports whether the record at off was done by the previous
// owner, and if so takes it into the window as done.
func (p *partition[R]) skipRestored(off int64) bool {
	if p.restored == nil {
		return false
	}
	if off >= p.restored.End() {
		p.restored = nil
		return false
	}
	if !p.restored.Skip(off) {
		return false
	}
	return p.win.AddDone(off) == nil
}

// updatePause re-evaluates whether p should be paused and reports whether
// that changed. A partition is paused when, after a poll brought it
// records, its window span has reached the limit, and resumed when the span
// falls to half. A partition is only ever paused for its own window, so a
// stuck record holds back its own partition alone.
func (p *partition[R]) updatePause(window int64, atIntake bool) bool {
	if p.state != active {
		return false
	}
	span := p.win.Span()
	want := p.want
	switch {
	case !want && atIntake && span >= window:
		want = true
	case want && span <= window/2:
		want = false
	}
	if want == p.want {
		return false
	}
	p.want = want
	return true
}

// updatePause queues p for applyPauses when its pause state changed, or
// when an operator's hold (hold.go) is not applied yet. Called with mu held.
func (e *Engine[R]) updatePause(p *partition[R], atIntake bool) {
	if (p.updatePause(e.window, atIntake) || e.pauseWanted(p) != p.paused) && !p.dirty {
		p.dirty = true
		e.pauseDirty = append(e.pauseDirty, p)
	}
}
