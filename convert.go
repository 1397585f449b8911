package kafkaworker

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// slabSize is how many Records one allocation holds. A Record the handler
// keeps keeps its slab alive, so slabs stay small: 1,000 records kept by
// slow handlers pin at most 1,000 slabs of about 16 KB.
const slabSize = 128

// convert turns a partition's fetched records into Records, allocated in
// slabs rather than one by one: per-record allocation was a large share of
// the consumer's CPU (allocation and the garbage collector's scanning).
func convert(krs []*kgo.Record, out []engine.Fetched[*Record]) []engine.Fetched[*Record] {
	var slab []Record
	for _, kr := range krs {
		if len(slab) == 0 {
			slab = make([]Record, min(len(krs), slabSize))
		}
		r := &slab[0]
		slab = slab[1:]
		*r = Record{
			Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
			Key: kr.Key, Value: kr.Value, Timestamp: kr.Timestamp, Attempt: 1,
			ctx: kr.Context,
		}
		size := len(kr.Key) + len(kr.Value)
		if len(kr.Headers) > 0 {
			r.Headers = make([]Header, len(kr.Headers))
			for i, h := range kr.Headers {
				r.Headers[i] = Header{Key: h.Key, Value: h.Value}
				size += len(h.Key) + len(h.Value)
			}
		}
		out = append(out, engine.Fetched[*Record]{
			Rec: r, TP: engine.TP{Topic: kr.Topic, Partition: kr.Partition},
			Offset: kr.Offset, Key: kr.Key, Size: size,
		})
	}
	return out
}

// unconvert gives a Record back as a kgo.Record, for the dead-letter topic,
// with the context it was fetched with (see Record.Context).
func unconvert(r *Record) *kgo.Record {
	kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value,
		Timestamp: r.Timestamp, Context: r.ctx}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr
}
