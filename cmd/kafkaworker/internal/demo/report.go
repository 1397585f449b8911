package demo

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// report is what a run proved. Its lines are "name: value", so that scripts
// and tests can grep them ("lost: 0").
type report struct {
	o           options
	outcome     string // why the run ended early; "" when complete
	runErr      error  // what Run returned
	produced    int64
	produceTime time.Duration
	processed   int64 // distinct records processed
	twice       int64 // records processed again
	injected    int64 // first attempts failed on purpose
	violations  int64 // ordering violations; always 0 in unordered mode
	uncommitted int64 // records beyond the group's committed offsets, after Run returned
	stats       kafkaworker.Stats
	elapsed     time.Duration // from Run's start to complete
	processTime time.Duration // from Run's start to the last record processed
	sequential  time.Duration // busiest partition's simulated time
}

func (r *report) lost() int64 { return r.produced - r.processed }

// ok reports whether the run proved what the demo promises.
func (r *report) ok() bool {
	return r.outcome == "" && r.runErr == nil && r.lost() == 0 && r.violations == 0 && r.uncommitted == 0
}

func (r *report) write(w io.Writer) {
	o := r.o
	mode := "consumer group"
	if o.share {
		mode = "share group"
	}
	fmt.Fprintf(w, "\nkafkaworker demo: %s, %s records, %d partitions, %s keys, ordering %s, max-proc-count %d, latency 0-%v, fail-rate %g%%\n",
		mode, count(int64(o.records)), o.partitions, count(int64(o.keys)), o.ordering, o.maxProcCount, o.latency, 100*o.failRate)
	if r.outcome != "" {
		fmt.Fprintf(w, "ended early: %s\n", r.outcome)
	}
	if r.runErr != nil {
		fmt.Fprintf(w, "consumer error: %v\n", r.runErr)
	}
	fmt.Fprintf(w, "produced: %s in %v\n", count(r.produced), r.produceTime.Round(time.Millisecond))
	fmt.Fprintf(w, "processed: %s\n", count(r.processed))
	fmt.Fprintf(w, "lost: %d\n", r.lost())
	fmt.Fprintf(w, "processed twice: %d\n", r.twice)
	switch o.ordering {
	case kafkaworker.KeyOrdered, kafkaworker.PartitionOrdered:
		fmt.Fprintf(w, "order violations: %d (%s order checked)\n", r.violations, o.ordering)
	default:
		fmt.Fprintln(w, "order violations: not checked (unordered)")
	}
	if o.share {
		s := r.stats
		fmt.Fprintf(w, "share group: acquired %s, accepted %s, released %s, rejected %s, lock renewals %s, deliveries by count %v; unacknowledged after shutdown: %d\n",
			count(int64(s.Acquired)), count(int64(s.Accepted)), count(int64(s.Released)), count(int64(s.Rejected)), count(int64(s.Renewed)), s.Deliveries, r.uncommitted)
	} else {
		fmt.Fprintf(w, "commits: %s (failed %d); uncommitted after shutdown: %d\n",
			count(int64(r.stats.Commits)), r.stats.CommitErrors, r.uncommitted)
	}
	fmt.Fprintf(w, "retries: %s (injected failures %s)\n", count(int64(r.stats.Retried)), count(r.injected))
	fmt.Fprintf(w, "peak concurrency: %d of max-proc-count %d\n", r.stats.PeakInFlight, o.maxProcCount)
	then := "then committed within CommitIntervalSeconds"
	if o.share {
		then = "then acknowledged"
	}
	fmt.Fprintf(w, "elapsed: %v (all processed after %v, %s)\n",
		r.elapsed.Round(time.Millisecond), r.processTime.Round(time.Millisecond), then)
	rate := float64(r.processed) / r.processTime.Seconds()
	fmt.Fprintf(w, "throughput: %s records/s\n", count(int64(rate)))
	fmt.Fprintf(w, "a one-record-at-a-time-per-partition consumer would have needed %v at the same latency (%.1fx as long)\n",
		r.sequential.Round(time.Millisecond), r.sequential.Seconds()/r.processTime.Seconds())
	if r.ok() {
		fmt.Fprintln(w, "result: OK")
	} else {
		fmt.Fprintln(w, "result: FAILED")
	}
}

// count formats n with thousands separators: 200000 -> 200,000.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
