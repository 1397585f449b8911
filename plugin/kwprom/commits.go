package kwprom

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CommitObserver registers kafkaworker_commit_duration_seconds, a histogram
// of offset commit requests labelled by result (ok or error), in reg and
// returns the function to pass to kafkaworker.WithCommitObserver.
func CommitObserver(reg prometheus.Registerer) func(d time.Duration, partitions int, err error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kafkaworker_commit_duration_seconds",
		Help: "Duration of offset commit requests, by result.",
		// Commits are one round trip to the group coordinator: from
		// sub-millisecond on loopback to seconds when it is moving.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
	}, []string{"result"})
	reg.MustRegister(h)
	ok, failed := h.WithLabelValues("ok"), h.WithLabelValues("error")
	return func(d time.Duration, _ int, err error) {
		if err != nil {
			failed.Observe(d.Seconds())
			return
		}
		ok.Observe(d.Seconds())
	}
}
