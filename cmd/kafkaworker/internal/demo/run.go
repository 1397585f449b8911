package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
)

const (
	topic = "kafkaworker-demo"
	group = "kafkaworker-demo"
	// stallLimit ends a run in which nothing was processed or committed
	// for this long: something is wrong, and the report says what is
	// missing instead of hanging.
	stallLimit = 30 * time.Second
	// pollEvery is how often completion is checked.
	pollEvery = 25 * time.Millisecond
)

// run does the demo and returns its report. An error means the demo could
// not run at all (the cluster or the producer failed); a run that lost
// records returns a report that says so.
func run(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) (*report, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(o.partitions), topic))
	if err != nil {
		return nil, fmt.Errorf("start in-process cluster: %w", err)
	}
	defer cluster.Close()
	seeds := cluster.ListenAddrs()

	// One client both produces and, through kadm, reads end offsets and
	// the group's committed offsets.
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ProducerBatchCompression(kgo.NoCompression()), // nothing to gain in-process
		kgo.MaxBufferedRecords(50_000),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	rep := &report{o: o}
	log.Info("producing", "records", o.records, "keys", o.keys, "partitions", o.partitions, "topic", topic)
	start := time.Now()
	if err := produce(ctx, cl, topic, o); err != nil {
		return nil, err
	}
	rep.produceTime = time.Since(start)
	ends, err := endOffsets(ctx, adm)
	if err != nil {
		return nil, err
	}
	for _, end := range ends {
		rep.produced += end
	}

	h := newSimHandler(o)
	groupType := kafkaworker.ConsumerGroup
	if o.share {
		groupType = kafkaworker.ShareGroup
	}
	c, err := kafkaworker.New(kafkaworker.Config{
		GroupType:        groupType,
		BootstrapServers: strings.Join(seeds, ","),
		GroupID:          group,
		Topic:            topic,
		MaxProcCount:     o.maxProcCount,
		Ordering:         o.ordering,
		// The last records of a run are committed by the interval, not
		// the count: keep the wait for them short.
		CommitIntervalSeconds: 1,
		// Injected failures are transient: retry them quickly.
		RetryBackoffMin: 10 * time.Millisecond,
		RetryBackoffMax: 100 * time.Millisecond,
	}, h,
		// The engine's Info logs would interleave with the progress line.
		kafkaworker.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		kafkaworker.WithStartupTimeout(10*time.Second),
		// A partition resumed after its window filled waits for the
		// fetch in flight, which the broker holds up to FetchMaxWait
		// when the other partitions have nothing new. The library's
		// 500ms showed here as idle gaps: 33k records/s, against 40k
		// with 50ms, on 2 cores.
		kafkaworker.WithClientOptions(kgo.FetchMaxWait(50*time.Millisecond)),
	)
	if err != nil {
		return nil, err
	}

	log.Info("consuming", "max_proc_count", o.maxProcCount, "ordering", o.ordering,
		"latency", "0-"+o.latency.String(), "fail_rate", o.failRate)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	start = time.Now()
	go func() { runDone <- c.Run(runCtx) }()

	w := watcher{c: c, h: h, ends: ends, produced: rep.produced, share: o.share,
		progress: newProgress(stdout, log, o.records)}
	rep.outcome, rep.runErr = w.wait(ctx, runDone)
	rep.elapsed = time.Since(start)
	rep.processTime = rep.elapsed
	if !w.allProcessed.IsZero() {
		rep.processTime = w.allProcessed.Sub(start)
	}
	if rep.runErr == nil {
		stop()
		rep.runErr = <-runDone
	}

	rep.stats = c.Stats()
	rep.processed, rep.twice, rep.injected = h.unique.Load(), h.twice.Load(), h.injected.Load()
	rep.sequential = h.sequentialTime()
	if h.order != nil {
		rep.violations = h.order.violations.Load()
	}
	// The group's offsets as the broker holds them, after the final
	// commit: what a restarted consumer would resume from.
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if o.share {
		rep.uncommitted, err = unacknowledged(vctx, adm, ends)
	} else {
		rep.uncommitted, err = uncommitted(vctx, adm, ends)
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// endOffsets returns each partition's end offset: how many records it holds.
func endOffsets(ctx context.Context, adm *kadm.Client) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	ends := make(map[int32]int64)
	listed.Each(func(l kadm.ListedOffset) { ends[l.Partition] = l.Offset })
	return ends, nil
}

// uncommitted fetches the group's committed offsets and returns how many
// records lie between them and the end offsets, over all partitions.
func uncommitted(ctx context.Context, adm *kadm.Client, ends map[int32]int64) (int64, error) {
	offs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("fetch committed offsets: %w", err)
	}
	var n int64
	for p, end := range ends {
		at := int64(0)
		if o, ok := offs.Lookup(topic, p); ok && o.At >= 0 {
			at = o.At
		}
		n += max(end-at, 0)
	}
	return n, nil
}

// unacknowledged fetches the share group's start offsets (below which every
// record is acknowledged) and returns how many records lie between them and
// the end offsets, over all partitions. A partition whose lag the broker
// reports as 0 counts as fully acknowledged: Kafka persists the start offset
// lazily, a batch or two behind the acknowledgements.
func unacknowledged(ctx context.Context, adm *kadm.Client, ends map[int32]int64) (int64, error) {
	described, err := adm.DescribeShareGroupOffsets(ctx, group)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("describe share group offsets: %w", err)
	}
	offs := described[group].Offsets
	var n int64
	for p, end := range ends {
		at := int64(0)
		if o, ok := offs.Lookup(topic, p); ok && o.Err == nil && o.StartOffset >= 0 {
			at = o.StartOffset
			if o.Lag == 0 {
				at = end
			}
		}
		n += max(end-at, 0)
	}
	return n, nil
}
