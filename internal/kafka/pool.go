package kafka

import (
	"math/bits"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordPool recycles the slices franz-go decodes fetched records into
// (kgo.PoolRecords). The consumer copies what it needs out of each
// kgo.Record as soon as it is polled (the Record slab of the root package),
// so the kgo.Records can go back at once: without the pool, franz-go
// allocates a fresh slice of them for every record batch, about 200 bytes a
// record, all of which the garbage collector then scans and frees.
//
// Slices are kept by power-of-two capacity; it is safe for concurrent use.
type recordPool struct {
	classes [maxClass + 1]sync.Pool
}

const maxClass = 17 // 131,072 records: larger batches are not pooled

func class(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// GetRecords implements kgo.PoolRecords.
func (p *recordPool) GetRecords(n int) []kgo.Record {
	c := class(n)
	if c > maxClass {
		return make([]kgo.Record, 0, n)
	}
	if v, ok := p.classes[c].Get().(*[]kgo.Record); ok {
		return (*v)[:0]
	}
	return make([]kgo.Record, 0, 1<<c)
}

// PutRecords implements kgo.PoolRecords. franz-go zeroes the records
// before putting them back.
func (p *recordPool) PutRecords(rs []kgo.Record) {
	c := class(cap(rs))
	if c > maxClass || cap(rs) != 1<<c {
		return // not one of ours
	}
	rs = rs[:0]
	p.classes[c].Put(&rs)
}
