package kafka

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// Source is the engine's Source on a franz-go group client. R is the
// caller's record type: Convert builds R values from a partition's fetched
// records, Unconvert gives a record back for the dead-letter topic.
type Source[R any] struct {
	cl        *kgo.Client
	convert   func([]*kgo.Record, []engine.Fetched[R]) []engine.Fetched[R]
	unconvert func(R) *kgo.Record
	dead      DeadLetter
	log       *slog.Logger
	seeds     string
	sizes     fetchSizes
	cancel    context.CancelFunc // the client's context: see Close
	leave     time.Duration
	// serverSide: KIP-848 was asked for (StillMember describes the
	// group that way first).
	serverSide bool
}

// SourceOptions are what a Source needs beyond the client's Options.
type SourceOptions[R any] struct {
	Convert         func([]*kgo.Record, []engine.Fetched[R]) []engine.Fetched[R]
	Unconvert       func(R) *kgo.Record
	DeadLetterTopic string
	Seeds           string // for error messages
	// LeaveTimeout bounds Close (default 3s).
	LeaveTimeout time.Duration
}

// NewSource creates the client; it joins the group at once, telling
// o.Group of its assignments.
func NewSource[R any](o Options, so SourceOptions[R]) (*Source[R], error) {
	s := &Source[R]{convert: so.Convert, unconvert: so.Unconvert, log: o.Logger, seeds: so.Seeds,
		leave: cmp.Or(so.LeaveTimeout, 3*time.Second), serverSide: o.ServerSideBalancing}
	s.sizes.prefetch, s.sizes.partRecords = o.PrefetchBytes, max(o.PartitionRecords, 1)
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	o.Context = ctx
	o.Extra = append(o.Extra[:len(o.Extra):len(o.Extra)], kgo.WithPools(&recordPool{}))
	if o.InstanceID != "" && o.ServerSideBalancing {
		releaseOwnInstance(o, 3*time.Second)
	}
	cl, err := NewClient(o, &s.sizes)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.cl = cl
	s.dead = DeadLetter{Client: cl, Topic: so.DeadLetterTopic}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Client is the underlying client, for the start-up check.
func (s *Source[R]) Client() *kgo.Client { return s.cl }

// Poll implements engine.Source.
func (s *Source[R]) Poll(ctx context.Context, max int, b *engine.Batch[R]) error {
	fetches := s.cl.PollRecords(ctx, max)
	if fetches.IsClientClosed() {
		return engine.ErrSourceClosed
	}
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("fetch error", "topic", t, "partition", p, "err", Explain(err, s.seeds))
		}
	})
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		b.Records = s.convert(p.Records, b.Records)
		b.Marks = append(b.Marks, engine.Watermark{TP: engine.TP{Topic: p.Topic, Partition: p.Partition}, High: p.HighWatermark})
		// convert copied what the consumer keeps: the kgo.Records
		// themselves go back to the pool.
		for _, r := range p.Records {
			r.Recycle()
		}
	})
	s.sizes.resize(s.cl)
	return ctx.Err()
}

// AllowRebalance implements engine.Source.
func (s *Source[R]) AllowRebalance() { s.cl.AllowRebalance() }

// Pause implements engine.Source.
func (s *Source[R]) Pause(tps []engine.TP) { s.cl.PauseFetchPartitions(Map(tps)) }

// Resume implements engine.Source.
func (s *Source[R]) Resume(tps []engine.TP) { s.cl.ResumeFetchPartitions(Map(tps)) }

// Commit implements engine.Source.
func (s *Source[R]) Commit(ctx context.Context, offs []engine.Offset) error {
	return Committer{Client: s.cl}.Commit(ctx, offs)
}

// DeadLetter implements engine.Source.
func (s *Source[R]) DeadLetter(ctx context.Context, r R, attempts int, cause error) error {
	return s.dead.Produce(ctx, s.unconvert(r), attempts, cause)
}

// Close leaves the group and closes the client, within LeaveTimeout: a
// leave waits for a join in flight, which the broker may hold until dead
// members' sessions expire (a minute and more); past the timeout the
// client's context is cancelled, which fails that join, and the close
// completes at once. The group then sees this member leave when its
// session times out.
func (s *Source[R]) Close() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.cl.CloseAllowingRebalance()
	}()
	t := time.NewTimer(s.leave)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("leaving the group is taking too long; closing without waiting", "waited", s.leave)
		s.cancel()
		<-done
	}
	s.cancel()
}

// MetadataBudget is the brokers' offset.metadata.max.bytes.
func (s *Source[R]) MetadataBudget(ctx context.Context) int { return MetadataBudget(ctx, s.cl) }

// fetchSizes keeps the client's prefetch within its byte budget. Fetch sizes
// count compressed bytes while what the client holds is decompressed: the
// ratio is measured from the batches read (a kgo hook) and the fetch size
// applied with UpdateFetchMaxBytes. franz-go holds one buffered fetch per
// broker and fetches again only once it is drained. A fetch should also
// bring no more than half a window of any one partition, so that a busy
// partition is not paused (which drops what was prefetched for it, to be
// fetched and decoded again); the broker still returns at least one whole
// producer batch.
type fetchSizes struct {
	prefetch    int64 // budget, decompressed bytes; 0: leave the client's defaults
	partRecords int64 // records of one partition a fetch should bring, at most
	records     atomic.Int64
	compressed  atomic.Int64
	raw         atomic.Int64
	applied     [2]int32
}

// OnFetchBatchRead implements kgo.HookFetchBatchRead.
func (f *fetchSizes) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	f.records.Add(int64(m.NumRecords))
	f.compressed.Add(int64(m.CompressedBytes))
	f.raw.Add(int64(m.UncompressedBytes))
}

// resize applies new fetch sizes when they moved by more than a quarter.
// Called by the polling goroutine only.
func (f *fetchSizes) resize(cl *kgo.Client) {
	n, c, u := f.records.Load(), f.compressed.Load(), f.raw.Load()
	if f.prefetch <= 0 || n < 1000 || c <= 0 {
		return
	}
	ratio := max(float64(u)/float64(c), 1)
	maxBytes := clamp(int64(float64(f.prefetch)/ratio), 64<<10, 50<<20)
	part := clamp(f.partRecords*c/n, 16<<10, min(maxBytes, 1<<20))
	if near(int32(maxBytes), f.applied[0]) && near(int32(part), f.applied[1]) {
		return
	}
	f.applied = [2]int32{int32(maxBytes), int32(part)}
	cl.UpdateFetchMaxBytes(int32(maxBytes), int32(part))
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

func near(a, b int32) bool {
	d := int64(a) - int64(b)
	return d*4 < int64(b) && -d*4 < int64(b)
}
