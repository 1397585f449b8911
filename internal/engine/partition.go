package engine

import (
	"context"

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

	// Pausing: want is what the window asks for, paused what the Source
	// was last told. They differ only until applyPauses runs.
	want, paused bool
	dirty        bool  // queued in the engine's pause list
	lastLow      int64 // Committable at the last intake: see updatePause
}

// chainFor returns the chain a record with key must run in, creating it, or
// nil when the record is not ordered behind anything.
func (e *Engine[R]) chainFor(p *partition[R], key []byte) *chain[R] {
	switch e.cfg.Ordering {
	case ByPartition:
		if p.serial == nil {
			p.serial = e.pool.chain(0)
		}
		return p.serial
	case ByKey:
		if key == nil {
			return nil
		}
		h := e.hashKey(key)
		if ch, ok := p.keys[h]; ok {
			return ch
		}
		ch := e.pool.chain(h)
		p.keys[h] = ch
		return ch
	}
	return nil
}

// release hands its chain to the next waiting record, which it returns
// (the caller runs it or queues it), or retires the chain.
func (e *Engine[R]) release(it *item[R]) *item[R] {
	ch := it.ch
	if ch == nil {
		return nil
	}
	it.ch = nil
	if next := ch.waiting.popFront(); next != nil {
		return next
	}
	ch.busy = false
	if e.cfg.Ordering == ByKey {
		delete(it.p.keys, ch.key)
		e.pool.freeChain(ch)
	}
	return nil
}

// updatePause re-evaluates whether p should be paused. Called with mu held
// at intake (stuck is meaningful there) and when a record of a paused
// partition finishes.
//
// A partition is paused when its window span reaches the limit and it is
// stuck: its commit point has not moved since the last poll that brought it
// records. A busy partition is not paused, even past its window: every
// pause drops what the client prefetched for the partition, which is then
// fetched and decoded again, and a poll often brings more than a window of
// one partition at once (the broker returns whole producer batches). Past
// four windows it is paused in any case, so a slowly moving head still
// bounds its partition. It is resumed when the span falls to half a window.
// A partition is only ever paused for its own window, so a stuck record
// holds back its own partition alone.
func (e *Engine[R]) updatePause(p *partition[R], atIntake bool) {
	if p.state != active {
		return
	}
	span := p.win.Span()
	want := p.want
	switch {
	case !want && atIntake && span >= e.window:
		want = true
	case want && span <= e.window/2:
		want = false
	}
	if want != p.want {
		p.want = want
		e.markPauseDirty(p)
	}
}

func (e *Engine[R]) markPauseDirty(p *partition[R]) {
	if !p.dirty {
		p.dirty = true
		e.pauseDirty = append(e.pauseDirty, p)
	}
}
