package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cluster drives the project's 3-node Kafka (scripts/kafka/kafka.sh) in its
// own state directory and port range, so that it never touches the brokers
// other people run on the default ports. The brokers are detached JVMs
// (kafka.sh starts them with setsid), so nothing but an explicit stop ends
// them: main defers stop on every exit path. Methods are safe for
// concurrent use.
type cluster struct {
	script   string // path of kafka.sh
	stateDir string // KAFKA_STATE_DIR
	port     int    // client port of node 1; nodes 2 and 3 follow
	log      io.Writer
	share    bool // the members form a share group: committed reads its start offsets

	mu        sync.Mutex
	bootstrap string
	started   bool // by us: stop must run
	adm       *kadm.Client
	cl        *kgo.Client
}

// Bounds on kafka.sh: start waits up to KAFKA_READY_TIMEOUT (90 s) for
// metadata after formatting; stop-node waits KAFKA_STOP_TIMEOUT (30 s) for a
// clean shutdown before KILL.
const (
	clusterStartTimeout = 4 * time.Minute
	clusterStopTimeout  = 90 * time.Second
	nodeStopTimeout     = 75 * time.Second
	nodeStartTimeout    = 3 * time.Minute
	adminCallTimeout    = 10 * time.Second
)

// script runs kafka.sh with our state directory and returns its stdout.
func (c *cluster) run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.script, args...)
	cmd.Env = append(os.Environ(), "KAFKA_STATE_DIR="+c.stateDir)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = c.log
	// kafka.sh may leave a JVM holding its stderr: do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		return "", fmt.Errorf("kafka.sh %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out.String()), nil
}

// start starts the cluster and connects an admin client. A cluster already
// running in our state directory is refused, unless reuse is set (for
// iterating on the harness): then it is used and left running.
func (c *cluster) start(ctx context.Context, reuse bool) error {
	if _, err := c.run(ctx, 30*time.Second, "status"); err == nil {
		if !reuse {
			return fmt.Errorf("a chaos cluster already runs in %s: stop it (KAFKA_STATE_DIR=%s %s stop) or pass -reuse-cluster", c.stateDir, c.stateDir, c.script)
		}
		b, err := c.run(ctx, 30*time.Second, "bootstrap")
		if err != nil {
			return err
		}
		return c.connect(b)
	}
	c.mu.Lock()
	c.started = true // a failed start may have left JVMs: stop must run
	c.mu.Unlock()
	b, err := c.run(ctx, clusterStartTimeout, "start", "--nodes", "3", "--port", strconv.Itoa(c.port))
	if err != nil {
		return err
	}
	return c.connect(b)
}

func (c *cluster) connect(bootstrap string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...))
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bootstrap, c.cl, c.adm = bootstrap, cl, kadm.NewClient(cl)
	return nil
}

// stop closes the admin client and, if we started the cluster, stops it and
// deletes its data. It is idempotent and ignores the caller's context: it
// runs on the way out, after Ctrl-C.
func (c *cluster) stop() error {
	c.mu.Lock()
	cl, started := c.cl, c.started
	c.cl, c.adm, c.started = nil, nil, false
	c.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
	if !started {
		return nil
	}
	_, err := c.run(context.Background(), clusterStopTimeout, "stop")
	return err
}

// stopNode stops node n (1..3) cleanly, keeping its data.
func (c *cluster) stopNode(ctx context.Context, n int) error {
	_, err := c.run(ctx, nodeStopTimeout, "stop-node", strconv.Itoa(n))
	return err
}

// startNode restarts node n; kafka.sh returns once metadata lists it again.
func (c *cluster) startNode(ctx context.Context, n int) error {
	_, err := c.run(ctx, nodeStartTimeout, "start-node", strconv.Itoa(n))
	return err
}

func (c *cluster) admin() *kadm.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adm
}

// createTopic creates the topic with replication factor 3 and
// min.insync.replicas 2, so that acks=all survives one broker down.
func (c *cluster) createTopic(ctx context.Context, topic string, partitions int32) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	minISR := "2"
	r, err := c.admin().CreateTopic(ctx, partitions, 3, map[string]*string{"min.insync.replicas": &minISR}, topic)
	if err != nil {
		return err
	}
	return r.Err
}

// committed returns the group's committed offsets for topic.
func (c *cluster) committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	if c.share {
		return c.shareStart(ctx, group, topic)
	}
	r, err := c.admin().FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := r.Error(); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range r[topic] {
		out[p] = o.At
	}
	return out, nil
}

// endOffsets returns the topic's high watermarks.
func (c *cluster) endOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	r, err := c.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var errs []error
	r.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, o.Err)
			return
		}
		out[o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}

// shareStart returns a share group's start offsets: every record below one
// is acknowledged (accepted, or archived by the broker). A partition whose
// lag the broker reports as 0 is acknowledged to its end (Kafka persists the
// start offset lazily, a batch or two behind); its offset is then reported
// as MaxInt64, which compares as drained with any end offset.
func (c *cluster) shareStart(ctx context.Context, group, topic string) (map[int32]int64, error) {
	r, err := c.admin().DescribeShareGroupOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := r.Error(); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range r[group].Offsets[topic] {
		switch {
		case o.Err != nil || o.StartOffset < 0:
		case o.Lag == 0:
			out[p] = math.MaxInt64
		default:
			out[p] = o.StartOffset
		}
	}
	return out, nil
}
