package contenders

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Commits is what a contender saw of its own offset commits over the run.
// kafkaworker reports N and Time through its commit observer (one call per
// commit request the engine sends); Requests and Bytes come from a franz-go
// hook on the wire (OffsetCommit requests written, whoever sent them), so
// the two count the same thing by two routes.
type Commits struct {
	N        int64         // successful commits, the whole run
	Time     time.Duration // their summed latency (request to response)
	Steady   int64         // OffsetCommit requests written inside the steady-state window
	Requests int64         // OffsetCommit requests written to the broker
	Bytes    int64         // their bytes on the wire
}

// fields formats c for the result line; nothing when nothing was seen.
func (c Commits) fields() string {
	if c == (Commits{}) {
		return ""
	}
	return fmt.Sprintf(" commits=%d commit_s=%.6f steady_commits=%d commit_reqs=%d commit_bytes=%d",
		c.N, c.Time.Seconds(), c.Steady, c.Requests, c.Bytes)
}

// parse sets the field of c that the result line's key k names.
func (c *Commits) parse(k, v string) error {
	if k == "commit_s" {
		sec, err := strconv.ParseFloat(v, 64)
		c.Time = time.Duration(sec * float64(time.Second))
		return err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch k {
	case "commits":
		c.N = n
	case "steady_commits":
		c.Steady = n
	case "commit_reqs":
		c.Requests = n
	case "commit_bytes":
		c.Bytes = n
	}
	return err
}

// commitTally counts commits for a Tally; safe for concurrent use.
type commitTally struct {
	n, ns, reqs, bytes atomic.Int64
}

// Commit is kafkaworker's commit observer (WithCommitObserver): one call
// per commit request, with its latency.
func (t *Tally) Commit(d time.Duration, _ int, err error) {
	if err == nil {
		t.commits.n.Add(1)
		t.commits.ns.Add(int64(d))
	}
}

// CommitHook returns a franz-go hook that counts the OffsetCommit requests
// the client writes and their bytes.
func (t *Tally) CommitHook() kgo.Hook { return commitHook{t} }

type commitHook struct{ t *Tally }

var _ kgo.HookBrokerWrite = commitHook{}

// offsetCommitKey is the Kafka API key of OffsetCommit.
const offsetCommitKey = 8

func (h commitHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, bytes int, _, _ time.Duration, err error) {
	if key == offsetCommitKey && err == nil {
		h.t.commits.reqs.Add(1)
		h.t.commits.bytes.Add(int64(bytes))
	}
}

// commitResult is the Commits part of the result; steady is the count of
// commits in the window, from the marks.
func (t *Tally) commitResult(steady int64) Commits {
	return Commits{N: t.commits.n.Load(), Time: time.Duration(t.commits.ns.Load()), Steady: steady,
		Requests: t.commits.reqs.Load(), Bytes: t.commits.bytes.Load()}
}
