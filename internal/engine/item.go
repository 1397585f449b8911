package engine

import (
	"context"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/window"
)

// item is one fetched record on its way through the engine. Items are
// recycled through the engine's free list, so nothing may keep a pointer to
// one after it is freed.
type item[R any] struct {
	rec     R
	p       *partition[R] // the assignment the record was fetched in
	off     int64
	ch      *chain[R] // the ordering chain it runs in; nil when unordered
	attempt int       // 1 on first delivery
	started time.Time // start of the current attempt, while running
	timer   *time.Timer

	// prev and next link the item into exactly one list at a time: its
	// partition's running list, its chain's waiting list, or the engine's
	// backoff list.
	prev, next *item[R]
}

// list is an intrusive doubly linked list of items with O(1) removal.
type list[R any] struct {
	head, tail *item[R]
	n          int
}

func (l *list[R]) pushBack(it *item[R]) {
	it.prev, it.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = it
	} else {
		l.head = it
	}
	l.tail = it
	l.n++
}

func (l *list[R]) remove(it *item[R]) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		l.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		l.tail = it.prev
	}
	it.prev, it.next = nil, nil
	l.n--
}

func (l *list[R]) popFront() *item[R] {
	it := l.head
	if it != nil {
		l.remove(it)
	}
	return it
}

// chain serialises the records that must run one at a time: those of one key
// (ByKey) or of one partition (ByPartition). While a chain exists one of its
// records is runnable, running or waiting out a retry backoff; the others wait
// in offset order.
type chain[R any] struct {
	key     string
	busy    bool // one of its records is runnable, running or in backoff
	waiting list[R]
}

// partState is where a partition's assignment is in its life.
type partState uint8

const (
	active   partState = iota // records are dispatched
	revoking                  // no new dispatch; waiting for in-flight records
	dropped                   // gone; late completions are ignored
)

// partition is the engine's state for one assignment of a partition. A new
// assignment of the same partition gets a new partition value with a new
// epoch, so a completion that arrives from an old assignment finds its own,
// dropped, partition and never touches the new one.
type partition[R any] struct {
	tp        TP
	epoch     uint64
	state     partState
	ctx       context.Context // handlers' context; cancelled when dropped
	cancel    context.CancelFunc
	win       window.Window
	committed int64 // last offset committed, or where consumption started; -1 before any record
	running   list[R]
	keys      map[string]*chain[R] // ByKey
	serial    *chain[R]            // ByPartition
	paused    bool                 // as last applied to the client
	hwm       int64                // the log's high watermark at the last fetch; -1 unknown
	drained   chan struct{}        // closed when revoking and nothing runs
}
