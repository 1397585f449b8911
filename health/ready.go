// Package health answers whether a kafkaworker consumer is ready: in its
// group, with no partition stalled. It is the check behind the kafkaworker
// binary's /readyz, for programs that embed the library and serve their own
// probes.
//
// A Checker is an http.Handler (200 when ready, 503 otherwise, a JSON Report
// as the body), and its Check method returns the same Report for other
// uses. It reads Consumer.Stats and needs nothing but the standard library:
//
//	c, err := kafkaworker.New(cfg, h)
//	...
//	http.Handle("GET /readyz", health.NewChecker(c, time.Minute))
//
// Liveness is another question: a consumer whose brokers are down is not
// ready, but restarting it does not help, so a liveness probe should not
// use this check.
package health

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// Status is a Report's verdict.
type Status string

const (
	// Ready: the consumer is in its group and no partition is stalled. A
	// member that owns no partition (more members than partitions) is
	// ready: it is a standby.
	Ready Status = "ready"
	// NotInGroup: Run has not joined the group yet, or has stopped.
	// Before the first join the consumer has done nothing, and a rollout
	// must not move on to a member that is still joining.
	NotInGroup Status = "not_in_group"
	// Stalled: at least one partition is not making progress; Report.Stalled
	// names them.
	Stalled Status = "stalled"
)

// Report is the result of one check, and the JSON body Checker.ServeHTTP
// writes.
type Report struct {
	Status     Status  `json:"status"`
	Partitions int     `json:"partitions"` // partitions owned
	Stalled    []Stall `json:"stalled,omitempty"`
	// Blocked lists the records the block policy holds, with their
	// coordinates, so that /readyz says what a stalled partition waits
	// for. They do not change Status by themselves: a blocked record holds
	// its partition's commit point, which the stall rule reports.
	Blocked []Blocked `json:"blocked,omitempty"`
}

// Checker checks one consumer. A partition is stalled when its oldest
// running handler call is older than the stall timeout, or when it has
// pending records and its commit point has not moved for longer than the
// timeout. Stats carries no history, so the Checker remembers each
// partition's commit point between checks: the second rule can only fire
// once a partition has been seen twice, timeout apart. Check it
// periodically (a probe every few seconds does).
//
// A Checker is safe for concurrent use.
type Checker struct {
	stats   func() kafkaworker.Stats
	now     func() time.Time // time.Now; tests set their own
	timeout time.Duration

	mu    sync.Mutex
	parts map[tp]seen
}

// NewChecker returns a Checker of c. stallTimeout is how long a handler
// call may run, or a partition with pending records may keep its commit
// point, before the partition counts as stalled. It should exceed the
// slowest legitimate handler call and Config.RetryBackoffMax, or a busy
// consumer reads as stalled.
func NewChecker(c *kafkaworker.Consumer, stallTimeout time.Duration) *Checker {
	return newChecker(c.Stats, time.Now, stallTimeout)
}

func newChecker(stats func() kafkaworker.Stats, now func() time.Time, stallTimeout time.Duration) *Checker {
	return &Checker{stats: stats, now: now, timeout: stallTimeout, parts: make(map[tp]seen)}
}

// Check reads the consumer's Stats once and returns its verdict.
func (c *Checker) Check() Report {
	s := c.stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{Status: Ready, Partitions: len(s.Partitions)}
	// Stalls are checked on every call, even when not in the group, so
	// that the memory of commit points stays current.
	r.Stalled = c.stalls(&s, c.now())
	r.Blocked = blocked(&s)
	switch {
	case !s.Running || s.Joins == 0:
		r.Status = NotInGroup
	case len(r.Stalled) > 0:
		r.Status = Stalled
	}
	return r
}

// ServeHTTP answers 200 when the consumer is Ready and 503 otherwise, with
// the Report as a JSON body.
func (c *Checker) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r := c.Check()
	code := http.StatusOK
	if r.Status != Ready {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	// A write error means the prober went away: nobody to tell.
	_ = json.NewEncoder(w).Encode(r)
}
