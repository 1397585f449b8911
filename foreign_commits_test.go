// Offsets another client committed, with metadata kafkaworker did not
// write: kafkaworker resumes from them and commits over them.

package kafkaworker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// Offsets committed by another client, with metadata kafkaworker did not
// write (garbage of the "Unexpected magic" kind): kafkaworker starts from
// those offsets and commits over them.
func TestBadInputForeignCommitMetadata(t *testing.T) {
	cl := testkafka.Start(t)
	const partitions = 3
	topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
	cl.Produce(t, topic, 600, nil)
	ends := cl.EndOffsets(t, topic)
	garbage := []string{
		"Unexpected magic \x00\x01\x02\x7f",
		strings.Repeat("\x00", 64),
		`{"consumer":"other","v":` + strings.Repeat("9", 200),
	}
	start := map[int32]int64{}
	var offs kadm.Offsets
	for p := range int32(partitions) {
		start[p] = ends[p] / (int64(p) + 2)
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: start[p], LeaderEpoch: -1, Metadata: garbage[p]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Admin().CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	fetched, err := cl.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup(topic, 0); o.Metadata != garbage[0] {
		t.Fatalf("the broker kept metadata %q, want %q", o.Metadata, garbage[0])
	}

	var mu sync.Mutex
	below := 0 // records before the committed offsets: must not be seen
	tr := newTracker()
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset < start[r.Partition] {
			mu.Lock()
			below++
			mu.Unlock()
		}
		tr.mark(r)
		return nil
	}))
	poll.Until(t, 30*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var want int64
	for p, end := range ends {
		want += end - start[p]
	}
	if below != 0 || int64(tr.count()) != want {
		t.Fatalf("processed %d records (%d before the foreign offsets), want %d", tr.count(), below, want)
	}
}
