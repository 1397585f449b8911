package kafkaworker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// Memory stays flat when the backlog is many times the configured buffers
// and one partition is stuck: the consumer holds at most MaxBufferedRecords
// records (checked on every sample of Stats) plus what franz-go has fetched
// ahead, whatever the size of the topic. On kfake the whole topic also lives
// in this process's heap, so the bound is on the growth above the heap
// measured right after producing.
//
// Memory is sampled as HeapInuse after a forced GC: without it the figure is
// dominated by garbage awaiting collection, which with GOGC=100 may reach the
// size of the live heap (here, the topic kfake holds) and says nothing about
// what the consumer retains.
func TestMemoryFlatUnderStuckHandlerAndBacklog(t *testing.T) {
	const (
		partitions = 6
		size       = 1024
		maxBuf     = 2000
		stuckAt    = 10 // the offset of partition 0 whose handler blocks
		// The growth allowed above the heap after producing. Measured
		// with 200,000 records under -race: 8 to 23 MB on kfake over ten
		// runs (56 MB once, on an earlier engine), 17 MB on a real
		// broker; 10 to 31 MB with the -short backlog of 30,000, so it
		// does not follow the backlog. A consumer that buffered the
		// backlog would pass it with 200,000 records of 1 KB (~200 MB).
		maxGrowth = 100 << 20
	)
	n := 200_000
	if testing.Short() {
		n = 30_000
	}
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, partitions), cl.Name(t, "g")
	t0 := time.Now()
	produceFiller(t, cl, topic, n, partitions, size)
	produced := time.Since(t0)
	ends := cl.EndOffsets(t, topic)

	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)

	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(open)
	var perPartition [partitions]atomic.Int64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Partition == 0 && r.Offset == stuckAt {
			<-release // stuck until the end of the test
		}
		if len(r.Value) != size {
			return kafkaworker.Permanent(errShortValue)
		}
		perPartition[r.Partition].Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxBufferedRecords = maxBuf
	cfg.PartitionWindow = 1024
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}

	// The sampler: Stats().Buffered often, the heap every 100ms.
	var peakHeap atomic.Uint64
	var peakBuffered atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		var last time.Time
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			if b := int64(c.Stats().Buffered); b > peakBuffered.Load() {
				peakBuffered.Store(b)
			}
			if time.Since(last) >= 100*time.Millisecond {
				last = time.Now()
				runtime.GC()
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peakHeap.Load() {
					peakHeap.Store(m.HeapInuse)
				}
			}
		}
	}()
	defer func() {
		select {
		case <-stopSampling:
		default:
			close(stopSampling)
		}
		<-sampled
	}()

	t0 = time.Now()
	stop := runConsumer(t, c)
	poll.Until(t, 120*time.Second, "every partition but the stuck one consumed", func() bool {
		for p := int32(1); p < partitions; p++ {
			if perPartition[p].Load() != ends[p] {
				return false
			}
		}
		return true
	})
	consumed := time.Since(t0)
	// Partition 0 runs on until its window is full, then is paused: the
	// other partitions may finish first on a busy machine.
	var stuck kafkaworker.PartitionStats
	poll.Until(t, 60*time.Second, "the stuck partition paused", func() bool {
		for _, p := range c.Stats().Partitions {
			if p.Partition == 0 {
				stuck = p
			}
		}
		return stuck.Paused || perPartition[0].Load() >= ends[0]
	})
	if got := perPartition[0].Load(); got >= ends[0] || !stuck.Paused {
		t.Fatalf("partition 0 processed %d of %d records, paused %t: the stuck handler did not hold it back", got, ends[0], stuck.Paused)
	}
	close(stopSampling)
	<-sampled

	// Released, the stuck record finishes and the commit point passes it.
	// (Not waiting for the rest of partition 0: its resume can be lost,
	// see TestMemoryPausedPartitionAlwaysResumes.)
	open()
	poll.Until(t, 30*time.Second, "the stuck record committed", func() bool {
		o, ok := committedOffset(cl, group, topic, 0)
		return ok && o > stuckAt
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	growth := int64(peakHeap.Load()) - int64(base.HeapInuse)
	t.Logf("tier %s: %d records of %d B (%d MB backlog), MaxBufferedRecords %d; heap in use after producing %d MB, peak while consuming %d MB: growth %d MB; peak Buffered %d; stuck partition span %d, pending %d; produced in %s, other partitions consumed in %s",
		cl.Tier(), n, size, n*size>>20, maxBuf, base.HeapInuse>>20, peakHeap.Load()>>20, growth>>20,
		peakBuffered.Load(), stuck.Span, stuck.Pending, produced.Round(time.Millisecond), consumed.Round(time.Millisecond))
	if b := peakBuffered.Load(); b > maxBuf {
		t.Fatalf("Stats().Buffered reached %d, above MaxBufferedRecords %d", b, maxBuf)
	}
	if growth > maxGrowth {
		t.Fatalf("the heap grew by %d MB while consuming, above %d MB", growth>>20, maxGrowth>>20)
	}
}

var errShortValue = errors.New("record value shorter than produced")

// produceFiller writes n records of size bytes, round robin over the
// partitions, each value starting with its 8-byte sequence number. They are
// not compressed, so that the topic really is n×size bytes.
func produceFiller(t *testing.T, cl *testkafka.Cluster, topic string, n, partitions, size int) {
	t.Helper()
	pr, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(20_000), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chunk = 10_000
	for start := 0; start < n; start += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			v := make([]byte, size)
			binary.BigEndian.PutUint64(v, uint64(i))
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: v})
		}
		if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("producing to %s: %v", topic, err)
		}
	}
}

// A paused partition is resumed once its records finish, even when they
// finish just after the fetch loop decided to pause it and before its next
// poll starts. Every handler here waits until the partition is paused and
// then returns at once, so that each window's records finish in a burst right
// after FetchPlan; with one partition, no other partition's data can end a
// poll that missed the wake-up.
func TestMemoryPausedPartitionAlwaysResumes(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	const n, runFor = 20_000, 5 * time.Second
	cl.Produce(t, topic, n, nil)
	var processed atomic.Int64
	var c *kafkaworker.Consumer
	paused := func() bool {
		ps := c.Stats().Partitions
		return len(ps) == 1 && ps[0].Paused
	}
	cfg := baseConfig(cl, group, topic)
	cfg.MaxProcCount, cfg.PartitionWindow, cfg.MaxBufferedRecords = 32, 16, 64
	c, err := kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		// Bounded: the topic's last records may never fill a window.
		for deadline := time.Now().Add(20 * time.Millisecond); time.Now().Before(deadline) && !paused(); {
			runtime.Gosched()
		}
		processed.Add(1)
		return nil
	}), kafkaworker.WithLogger(testLogger()),
		// A resumed partition's refetch waits behind a fetch the broker
		// holds for up to FetchMaxWait: shorten it for more cycles.
		kafkaworker.WithClientOptions(kgo.FetchMaxWait(10*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	stop := runConsumer(t, c)
	poll.Until(t, 30*time.Second, "assigned", func() bool { return c.Stats().Assigned == 1 })
	t0 := time.Now()
	last, lastAt := int64(-1), t0
	for processed.Load() < int64(n) && time.Since(t0) < runFor {
		if p := processed.Load(); p != last {
			last, lastAt = p, time.Now()
		}
		if time.Since(lastAt) > 2*time.Second {
			s := c.Stats()
			if len(s.Partitions) == 1 && s.Partitions[0].Paused && s.Partitions[0].Pending == 0 {
				t.Fatalf("partition paused with nothing pending and never resumed (a lost wake-up between FetchPlan and SetWaker) after %d of %d records: %+v",
					last, n, s.Partitions[0])
			}
			t.Fatalf("no progress for 2s at %d of %d records: %+v", last, n, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("tier %s: %d records through a window of %d in %s without a lost resume", cl.Tier(), processed.Load(), cfg.PartitionWindow, time.Since(t0).Round(time.Millisecond))
}

// committedOffset reads one partition's committed offset independently; ok
// is false before the group has committed it.
func committedOffset(cl *testkafka.Cluster, group, topic string, p int32) (int64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := cl.Admin().FetchOffsets(ctx, group)
	if err != nil {
		return 0, false
	}
	o, ok := offs.Lookup(topic, p)
	return o.At, ok && o.Err == nil
}
