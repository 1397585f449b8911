package engine

// flow is the buffer bound: records fetched and not finished, in number and
// in bytes, and the fetch loop's wait for room. Guarded by the engine's
// mutex; not safe for concurrent use on its own.
type flow struct {
	maxRecords int
	maxBytes   int64
	records    int           // the windows' Pending, over all partitions
	bytes      int64         // their Size
	wait       chan struct{} // closed when the buffer falls to 7/8 of its bounds; nil: nobody waits
}

// full reports whether either bound is reached.
func (f *flow) full() bool { return f.records >= f.maxRecords || f.bytes >= f.maxBytes }

// room is how many records the next poll may bring: the records left, and
// the bytes left at the average record size so far; at least one, so that a
// record larger than the whole bound is still consumed, alone.
func (f *flow) room() int {
	room := f.maxRecords - f.records
	if f.records > 0 && f.bytes > 0 {
		avg := max(f.bytes/int64(f.records), 1)
		room = min(room, int(max((f.maxBytes-f.bytes)/avg, 1)))
	}
	return max(room, 1)
}

func (f *flow) add(size int64) {
	f.records++
	f.bytes += size
}

// remove takes n records of size bytes in all out of the buffer and wakes
// the fetch loop if it waits and there is room enough.
func (f *flow) remove(n int, size int64) {
	f.records -= n
	f.bytes -= size
	if f.wait == nil {
		return
	}
	if f.records <= f.maxRecords-max(1, f.maxRecords/8) && f.bytes <= f.maxBytes-max(1, f.maxBytes/8) {
		f.release()
	}
}

// waiter returns the channel the fetch loop waits on.
func (f *flow) waiter() <-chan struct{} {
	if f.wait == nil {
		f.wait = make(chan struct{})
	}
	return f.wait
}

// release wakes the fetch loop, if it waits.
func (f *flow) release() {
	if f.wait != nil {
		close(f.wait)
		f.wait = nil
	}
}

// commitTrigger counts records finished since the last commit and wakes the
// committer when they reach the count. The channel has capacity one, so
// triggers that come while a commit is in flight coalesce into the next.
// Guarded by the engine's mutex.
type commitTrigger struct {
	count int
	since int
	C     chan struct{} // cap 1
}

func (c *commitTrigger) done() {
	c.since++
	if c.since == c.count {
		select {
		case c.C <- struct{}{}:
		default:
		}
	}
}

func (c *commitTrigger) reset() { c.since = 0 }
