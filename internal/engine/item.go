package engine

import "time"

// item is one fetched record on its way through the engine. Items are
// recycled through the engine's free list, so nothing may keep a pointer to
// one after it is freed.
type item[R any] struct {
	rec       R
	p         *partition[R] // the assignment the record was fetched in
	off       int64
	size      int64
	ch        *chain[R] // the ordering chain it runs in; nil when unordered
	attempt   int       // 1 on first delivery
	throttled int       // attempts that ended in a RetryAfter error: they use up no retry
	started   time.Duration
	timer     *time.Timer

	// Block policy: blocked is set once its retries are used up (cause is
	// then its last error, since when it blocked). release is the action
	// Release asked for, read by the worker that runs it next; releaseReq
	// holds one asked for while it ran, until it is settled.
	blocked             bool
	release, releaseReq Policy
	since               time.Time
	cause               error

	// Set by the worker that ran it, read when it is settled.
	out outcome
	err error

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

// pool recycles items and chains, so that the steady state allocates
// nothing per record. Guarded by the engine's mutex.
type pool[R any] struct {
	items  []*item[R]
	chains []*chain[R]
	max    int // most items or chains kept: the buffer's bound
}

func (p *pool[R]) item() *item[R] {
	if n := len(p.items); n > 0 {
		it := p.items[n-1]
		p.items = p.items[:n-1]
		return it
	}
	return new(item[R])
}

// freeItem recycles it once nothing refers to it.
func (p *pool[R]) freeItem(it *item[R]) {
	*it = item[R]{}
	if len(p.items) < p.max {
		p.items = append(p.items, it)
	}
}

func (p *pool[R]) chain(key uint64) *chain[R] {
	if n := len(p.chains); n > 0 {
		ch := p.chains[n-1]
		p.chains = p.chains[:n-1]
		ch.key = key
		return ch
	}
	return &chain[R]{key: key}
}

func (p *pool[R]) freeChain(ch *chain[R]) {
	*ch = chain[R]{}
	if len(p.chains) < p.max {
		p.chains = append(p.chains, ch)
	}
}
