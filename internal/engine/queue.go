package engine

// queue is a FIFO ring of items. Its size is a power of two, so indexes wrap
// with a mask rather than a division. It grows by doubling and never shrinks: its
// size follows the number of runnable records, which the buffer bound caps.
// Not safe for concurrent use; the engine's mutex guards it.
type queue[R any] struct {
	buf        []*item[R]
	head, size int
}

func (q *queue[R]) len() int { return q.size }

func (q *queue[R]) push(it *item[R]) {
	if q.size == len(q.buf) {
		n := max(2*len(q.buf), 64)
		buf := make([]*item[R], n)
		for i := range q.size {
			buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.size)&(len(q.buf)-1)] = it
	q.size++
}

func (q *queue[R]) peek() *item[R] {
	if q.size == 0 {
		return nil
	}
	return q.buf[q.head]
}

func (q *queue[R]) pop() *item[R] {
	if q.size == 0 {
		return nil
	}
	it := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.size--
	return it
}
