// Package kwprom exports a kafkaworker consumer's statistics to Prometheus,
// as franz-go's plugin/kprom exports the client's. It is a module of its
// own so that the kafkaworker library does not depend on Prometheus.
//
// Register a Collector in the registry your /metrics serves, and pass
// CommitObserver's function to kafkaworker.WithCommitObserver for a
// histogram of commit latencies:
//
//	reg := prometheus.NewRegistry()
//	c, err := kafkaworker.New(cfg, h, kafkaworker.WithCommitObserver(kwprom.CommitObserver(reg)))
//	...
//	reg.MustRegister(kwprom.NewCollector(c))
//	http.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Series are named kafkaworker_*; per-partition series carry topic and
// partition labels. To export several consumers from one registry, label
// each one's series with prometheus.WrapRegistererWith.
package kwprom

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkaworker/kafkaworker"
)

const namespace = "kafkaworker"

// metric is one consumer-wide series and how to read it from a snapshot.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*kafkaworker.Stats) float64
}

// partitionMetric is one per-partition series. ok is false when the value
// is not known yet (an offset before the first record): the series is then
// left out rather than exported as -1, which would break rate() and deltas.
type partitionMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*kafkaworker.PartitionStats) (v float64, ok bool)
}

// Collector is a prometheus.Collector of one Consumer's Stats. It reads one
// snapshot per scrape, so all series of a scrape agree with each other, and
// costs nothing between scrapes. It is safe for concurrent use.
type Collector struct {
	c          *kafkaworker.Consumer
	metrics    []metric
	partitions []partitionMetric
	deliveries *prometheus.Desc
}

// NewCollector returns a Collector of c, to register in a
// prometheus.Registerer. It may be registered before c runs: the counters
// are then zero and there are no per-partition series.
func NewCollector(c *kafkaworker.Consumer) *Collector {
	cfg := c.Config()
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	counter := func(name, help string, v func(*kafkaworker.Stats) uint64) metric {
		return metric{desc(name, help), prometheus.CounterValue, func(s *kafkaworker.Stats) float64 { return float64(v(s)) }}
	}
	gauge := func(name, help string, v func(*kafkaworker.Stats) int) metric {
		return metric{desc(name, help), prometheus.GaugeValue, func(s *kafkaworker.Stats) float64 { return float64(v(s)) }}
	}
	part := func(name, help string, v func(*kafkaworker.PartitionStats) (float64, bool)) partitionMetric {
		return partitionMetric{desc("partition_"+name, help, "topic", "partition"), prometheus.GaugeValue, v}
	}
	offset := func(o int64) (float64, bool) { return float64(o), o >= 0 }
	always := func(v float64) (float64, bool) { return v, true }

	return &Collector{
		c: c,
		metrics: []metric{
			counter("records_processed_total", "Records whose handler returned nil.", func(s *kafkaworker.Stats) uint64 { return s.Processed }),
			counter("records_failed_total", "Records whose retries were used up; FailurePolicy then applied.", func(s *kafkaworker.Stats) uint64 { return s.Failed }),
			counter("retries_total", "Retries scheduled after a handler error.", func(s *kafkaworker.Stats) uint64 { return s.Retried }),
			counter("records_skipped_total", "Failed records let go by the skip policy.", func(s *kafkaworker.Stats) uint64 { return s.Skipped }),
			counter("records_dead_lettered_total", "Failed records produced to the dead-letter topic.", func(s *kafkaworker.Stats) uint64 { return s.DeadLettered }),
			counter("commits_total", "Successful offset commit requests.", func(s *kafkaworker.Stats) uint64 { return s.Commits }),
			counter("commit_errors_total", "Failed offset commit requests; they are retried.", func(s *kafkaworker.Stats) uint64 { return s.CommitErrors }),
			counter("partitions_assigned_total", "Partitions assigned to this consumer, over all rebalances.", func(s *kafkaworker.Stats) uint64 { return s.Assigned }),
			counter("partitions_revoked_total", "Partitions revoked from this consumer.", func(s *kafkaworker.Stats) uint64 { return s.Revoked }),
			counter("partitions_lost_total", "Partitions lost without a revoke (session expired); their uncommitted work is redone elsewhere.", func(s *kafkaworker.Stats) uint64 { return s.Lost }),
			counter("joins_total", "Times this member joined or rejoined its group (rebalances it took part in).", func(s *kafkaworker.Stats) uint64 { return s.Joins }),
			counter("records_blocked_total", "Records whose retries were used up under the block policy; they are retried without end (partition_blocked_records lists those held now).", func(s *kafkaworker.Stats) uint64 { return s.Blocked }),
			counter("records_released_total", "Blocked records let go by Consumer.Release (skipped or dead-lettered by an operator).", func(s *kafkaworker.Stats) uint64 { return s.Unblocked }),
			counter("dispatch_holds_total", "Times a handler's RetryAfter error held all dispatch (extensions not counted): the downstream asked to be left alone.", func(s *kafkaworker.Stats) uint64 { return s.Holds }),
			counter("freezes_total", "Times the process did not run for SessionTimeout or more (SIGSTOP, a paused VM) and asked the group whether it was still a member.", func(s *kafkaworker.Stats) uint64 { return s.Freezes }),
			counter("commit_stalls_total", "Times a commit was stuck (ten times its typical time, 250 ms to 1 s: a rebalance or a coordinator change holds it) and no new records started until it completed.", func(s *kafkaworker.Stats) uint64 { return s.CommitStalls }),
			counter("revoke_timeouts_total", "Revoked partitions given up with handlers still running after RevokeTimeout.", func(s *kafkaworker.Stats) uint64 { return s.RevokeTimeouts }),
			gauge("in_flight", "Handler calls running now; at most max_proc_count.", func(s *kafkaworker.Stats) int { return s.InFlight }),
			gauge("concurrency_limit", "Handler calls allowed at once now: max_proc_count, or the adaptive limit (AdaptiveConcurrency).", func(s *kafkaworker.Stats) int { return s.ConcurrencyLimit }),
			gauge("peak_in_flight", "Most handler calls ever running at once.", func(s *kafkaworker.Stats) int { return s.PeakInFlight }),
			gauge("buffered_records", "Records fetched and not finished; at most max_buffered_records.", func(s *kafkaworker.Stats) int { return s.Buffered }),
			gauge("partitions_owned", "Partitions this consumer owns now.", func(s *kafkaworker.Stats) int { return len(s.Partitions) }),
			// The limits, so that dashboards can show saturation as a
			// ratio without knowing the configuration.
			gauge("max_proc_count", "Configured MaxProcCount: the bound on in_flight.", func(*kafkaworker.Stats) int { return cfg.MaxProcCount }),
			gauge("max_buffered_records", "Configured MaxBufferedRecords: the bound on buffered_records.", func(*kafkaworker.Stats) int { return cfg.MaxBufferedRecords }),
			// Share mode (GroupType share); zero in consumer-group mode.
			counter("share_records_acquired_total", "Share mode: records the broker handed to this consumer, redeliveries included.", func(s *kafkaworker.Stats) uint64 { return s.Acquired }),
			counter("share_records_accepted_total", "Share mode: records acknowledged as accepted (handled or dead-lettered).", func(s *kafkaworker.Stats) uint64 { return s.Accepted }),
			counter("share_records_rejected_total", "Share mode: records acknowledged as rejected: failed for good and let go by the skip policy (or a Release); the broker archives them, or moves them to its own dead-letter queue where one is configured.", func(s *kafkaworker.Stats) uint64 { return s.Rejected }),
			counter("share_records_released_total", "Share mode: records released for redelivery (a retry without lock renewal, the stop policy, a shutdown).", func(s *kafkaworker.Stats) uint64 { return s.Released }),
			counter("share_lock_renewals_total", "Share mode: acquisition lock renewals sent for records still running or waiting to be retried.", func(s *kafkaworker.Stats) uint64 { return s.Renewed }),
		},
		deliveries: desc("share_delivery_count", "Share mode: acquired records by the broker's delivery count (1: first delivery); the last bucket counts 5 and more, and the sum counts those as 5."),
		partitions: []partitionMetric{
			part("committed_offset", "Last offset committed: where a new owner would resume.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return offset(p.Committed) }),
			part("committable_offset", "Offset the next commit would carry: every record below it is done.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return offset(p.Committable) }),
			part("highest_fetched_offset", "Newest offset fetched.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return offset(p.HighestFetched) }),
			part("lag_records", "Log end offset at the last fetch minus the committed offset: what is left to process, or to redo after a crash.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return offset(p.Lag) }),
			part("log_end_offset", "The partition's high watermark at the last fetch.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return offset(p.HighWatermark) }),
			part("window_lag_records", "Offsets from the commit point to the newest fetched record: lag inside the consumer, not against the log end.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return always(float64(p.Span)) }),
			part("pending_records", "Fetched records not finished.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return always(float64(p.Pending)) }),
			part("in_flight", "Handler calls running for this partition.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return always(float64(p.InFlight)) }),
			part("oldest_in_flight_seconds", "Age of the longest-running handler call; 0 when none runs.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return always(p.OldestInFlight.Seconds()) }),
			part("blocked_records", "Records the block policy holds now: each holds back its key, its partition or the commit point, by ordering. Alert on > 0.",
				func(p *kafkaworker.PartitionStats) (float64, bool) { return always(float64(len(p.Blocked))) }),
			part("oldest_blocked_seconds", "How long the oldest blocked record has been blocked; 0 when none is.",
				func(p *kafkaworker.PartitionStats) (float64, bool) {
					if len(p.Blocked) == 0 {
						return 0, true
					}
					oldest := p.Blocked[0].Since
					for _, b := range p.Blocked[1:] {
						if b.Since.Before(oldest) {
							oldest = b.Since
						}
					}
					return always(time.Since(oldest).Seconds())
				}),
			part("paused", "1 while fetching is paused because the partition's window is full.",
				func(p *kafkaworker.PartitionStats) (float64, bool) {
					if p.Paused {
						return 1, true
					}
					return 0, true
				}),
		},
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
	for _, m := range c.partitions {
		ch <- m.desc
	}
	ch <- c.deliveries
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.c.Stats()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s))
	}
	ch <- deliveryHistogram(c.deliveries, s.Deliveries)
	for i := range s.Partitions {
		p := &s.Partitions[i]
		part := strconv.FormatInt(int64(p.Partition), 10)
		for _, m := range c.partitions {
			if v, ok := m.value(p); ok {
				ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v, p.Topic, part)
			}
		}
	}
}

// deliveryHistogram turns Stats.Deliveries (records by delivery count 1, 2,
// ... 5 and more) into a cumulative histogram with buckets 1 to 4 and +Inf.
func deliveryHistogram(d *prometheus.Desc, counts [5]uint64) prometheus.Metric {
	buckets := make(map[float64]uint64, len(counts)-1)
	var n uint64
	var sum float64
	for i, c := range counts {
		n += c
		sum += float64(i+1) * float64(c)
		if i < len(counts)-1 {
			buckets[float64(i+1)] = n
		}
	}
	return prometheus.MustNewConstHistogram(d, n, sum, buckets)
}
