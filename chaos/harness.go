package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Member settings: short group timeouts so that a SIGKILL or a SIGSTOP is
// noticed in seconds, frequent commits so that a crash replays little.
const (
	sessionTimeout   = 6 * time.Second
	rebalanceTimeout = 15 * time.Second
	revokeTimeout    = 5 * time.Second
	shutdownTimeout  = 10 * time.Second
	// termWait: ShutdownTimeout, then a final commit (30 s at most in the
	// library) and leaving the group; SIGKILL after.
	termWait = shutdownTimeout + 30*time.Second
)

// harness owns one run's resources; cleanup releases them all, in any
// state, and is idempotent.
type harness struct {
	o       options
	workDir string

	once sync.Once
	rec  *recorder
	cl   *cluster
	fl   *fleet
	prod *producer
}

// run executes the phases: build, cluster, topic, members, produce under
// faults, drain, readiness, graceful stop, check. An error means the run
// could not be carried out (not that a guarantee failed: that is in the
// returned runInfo).
func (h *harness) run(ctx context.Context) (*runInfo, error) {
	o := h.o
	info := &runInfo{seed: o.seed, started: time.Now()}
	var err error
	if h.workDir, err = os.MkdirTemp("", "kw-chaos-*"); err != nil {
		return nil, err
	}
	info.workDir = h.workDir
	bin := filepath.Join(h.workDir, "kafkaworker")
	if err := build(ctx, o.repo, bin); err != nil {
		return nil, err
	}
	if h.rec, err = newRecorder(o.errRate); err != nil {
		return nil, err
	}
	goSafe("recorder", h.rec.serve)

	clusterLog, err := os.Create(filepath.Join(h.workDir, "cluster.log"))
	if err != nil {
		return nil, err
	}
	h.cl = &cluster{script: filepath.Join(o.repo, "scripts/kafka/kafka.sh"), stateDir: o.stateDir, port: o.port, log: clusterLog, share: o.share}
	fmt.Println("chaos: starting the 3-node cluster (about a minute)")
	if err := h.cl.start(ctx, o.reuse); err != nil {
		return nil, err
	}
	topic := fmt.Sprintf("chaos-%d-%d", o.seed, info.started.Unix())
	group := topic + "-group"
	if err := h.cl.createTopic(ctx, topic, int32(o.partitions)); err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	config := filepath.Join(h.workDir, "appsettings.json")
	if err := writeConfig(config, h.cl.bootstrap, group, topic, o, h.rec.url()); err != nil {
		return nil, err
	}
	info.params = []string{
		fmt.Sprintf("cluster: 3 nodes %s (KAFKA_STATE_DIR=%s); topic %s: %d partitions, replication factor 3, min.insync.replicas 2", h.cl.bootstrap, o.stateDir, topic, o.partitions),
		fmt.Sprintf("producer: %d records over %d keys at %d/s, acks=all, idempotent", o.records, o.keys, o.rate),
		fmt.Sprintf("members: %d at start, 1 to %d, MaxProcCount %d, %s, GroupProtocol %s, static membership %v, CommitIntervalSeconds %d, MaxMsgCountBeforeCommit %d, SessionTimeout %v, RebalanceTimeout %v, RevokeTimeout %v, ShutdownTimeout %v, MaxRetries 20", o.members, o.maxMembers, o.procs, mode(o.share), o.groupProtocol, o.static, o.commitInterval, o.commitRecords, sessionTimeout, rebalanceTimeout, revokeTimeout, shutdownTimeout),
		fmt.Sprintf("recorder: 0-5 ms latency, %.1f%% answered 503", 100*o.errRate),
		fmt.Sprintf("faults drawn from %s", faultList(o.faultKinds)),
		fmt.Sprintf("faults every %v-%v: kill+restart, term+restart, add, remove, broker stop/start (one node at a time), SIGSTOP past the session timeout", o.minGap, o.maxGap),
	}

	h.fl = newFleet(bin, config, h.workDir, h.rec.url(), termWait)
	h.fl.static = o.static
	for slot := 1; slot <= o.members; slot++ {
		if _, err := h.fl.start(slot); err != nil {
			return nil, err
		}
	}
	if h.prod, err = newProducer(h.cl.bootstrap, topic, o.keys, o.seed); err != nil {
		return nil, err
	}

	// Produce under faults.
	fmt.Printf("chaos: producing %d records at %d/s under faults\n", o.records, o.rate)
	sched := &scheduler{
		rng: newRand(o.seed), fl: h.fl, cl: h.cl, group: group, topic: topic,
		maxMembers: o.maxMembers, minGap: o.minGap, maxGap: o.maxGap, session: sessionTimeout, start: time.Now(),
		kinds: o.faultKinds,
	}
	stopFaults, endFaults := context.WithCancel(ctx)
	defer endFaults()
	schedDone := make(chan struct{})
	goSafe("scheduler", func() { defer close(schedDone); sched.run(stopFaults, ctx) })
	prodErr := make(chan error, 1)
	t0 := time.Now()
	info.t0 = t0
	goSafe("producer", func() { prodErr <- h.prod.run(ctx, o.records, o.rate) })
	go h.progress(stopFaults, t0)
	select {
	case err = <-prodErr:
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	endFaults()
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	info.produceFor = time.Since(t0)
	fmt.Printf("chaos: produced in %v (%d acked, %d failed); stopping faults\n", info.produceFor.Round(time.Second), h.prod.acked.Load(), h.prod.failed.Load())
	select {
	case <-schedDone:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	info.faults = sched.snapshot()

	// Drain.
	t1 := time.Now()
	if len(h.fl.running()) == 0 {
		if _, err := h.fl.start(sched.freeSlot()); err != nil {
			return nil, err
		}
	}
	info.drained, info.drainNote = h.drain(ctx, group, topic)
	info.drainFor = time.Since(t1)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	info.notReady = h.readiness(ctx)
	for _, o := range h.fl.ownersSnapshot() {
		o.mu.Lock()
		if o.exitHow == "crashed" {
			info.crashed = append(info.crashed, fmt.Sprintf("o%d (slot %d) exited on its own with code %d: see %s", o.id, o.slot, o.exitCode, o.log))
		}
		o.mu.Unlock()
	}
	info.badExits = h.fl.stopAll()

	info.events = h.rec.snapshot()
	info.producedPerSec = h.prod.ackedPerSecond()
	info.verdict = check(h.prod.recs, info.events, h.fl.ownersSnapshot(), info.faults, !h.o.share)
	info.elapsed = time.Since(info.started)
	return info, nil
}

// drain waits until the group's committed offsets equal the end offsets of
// every partition, for at most -drain-timeout.
func (h *harness) drain(ctx context.Context, group, topic string) (bool, string) {
	deadline := time.Now().Add(h.o.drainFor)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		end, err1 := h.cl.endOffsets(ctx, topic)
		com, err2 := h.cl.committed(ctx, group, topic)
		if err1 == nil && err2 == nil && len(end) == h.o.partitions {
			behind := int64(0)
			for p, e := range end {
				behind += max(e-com[p], 0)
				if _, ok := com[p]; !ok {
					behind += e
				}
			}
			if behind == 0 {
				return true, ""
			}
			last = fmt.Sprintf("%d records not committed", behind)
		} else {
			last = fmt.Sprintf("offsets: %v %v", err1, err2)
		}
		time.Sleep(time.Second)
	}
	return false, "after " + h.o.drainFor.String() + ": " + last
}

// readiness polls every live member's /readyz for up to 30 s and returns
// those never ready. Ready means in the group with no stalled partition; a
// member that owns nothing is ready too (admin/ready.go).
func (h *harness) readiness(ctx context.Context) []string {
	var bad []string
	for _, slot := range h.fl.running() {
		var code int
		var body string
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			code, body, err = h.fl.readyz(ctx, slot)
			if code == 200 {
				break
			}
		}
		if code != 200 {
			bad = append(bad, fmt.Sprintf("slot %d not ready: %d %s %v", slot, code, body, err))
		}
	}
	return bad
}

// progress prints a line every 10 s while producing.
func (h *harness) progress(ctx context.Context, t0 time.Time) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Printf("chaos: +%5.1fs produced %d, acked %d, members running %v\n",
				time.Since(t0).Seconds(), h.prod.sent.Load(), h.prod.acked.Load(), h.fl.running())
		}
	}
}

// cleanup kills the members, closes the producer and the recorder and stops
// the cluster. Safe to call more than once and from a deferred recover.
func (h *harness) cleanup() {
	h.once.Do(func() {
		if h.fl != nil {
			h.fl.killAll()
		}
		if h.prod != nil {
			h.prod.close()
		}
		if h.rec != nil {
			h.rec.close()
		}
		if h.cl != nil {
			if err := h.cl.stop(); err != nil {
				fmt.Fprintln(os.Stderr, "chaos: stopping the cluster:", err)
			}
		}
	})
}

// build compiles the kafkaworker binary once; every member runs it.
func build(ctx context.Context, repo, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/kafkaworker")
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/kafkaworker: %w", err)
	}
	return nil
}

// faultList names the faults drawn from.
func faultList(kinds []string) string {
	if len(kinds) == 0 {
		kinds = defaultKinds
	}
	return strings.Join(kinds, ", ")
}

// writeConfig writes the members' appsettings.json. HttpUrl is a
// placeholder: each member gets its own path through
// KafkaWorker__HttpUrl.
func writeConfig(path, bootstrap, group, topic string, o options, url string) error {
	cfg := map[string]any{
		"Kafka": map[string]any{
			"BootstrapServers":        bootstrap,
			"GroupId":                 group,
			"Topic":                   topic,
			"MaxProcCount":            o.procs,
			"Ordering":                "key",
			"CommitIntervalSeconds":   o.commitInterval,
			"MaxMsgCountBeforeCommit": o.commitRecords,
			"GroupProtocol":           o.groupProtocol,
			"SessionTimeout":          sessionTimeout.String(),
			"RebalanceTimeout":        rebalanceTimeout.String(),
			"RevokeTimeout":           revokeTimeout.String(),
			"ShutdownTimeout":         shutdownTimeout.String(),
			// 2% of attempts fail: 20 retries make a record failing
			// for good (and FailurePolicy stop ending the member)
			// practically impossible.
			"MaxRetries":      20,
			"RetryBackoffMax": "1s",
			"FailurePolicy":   "stop",
		},
		"KafkaWorker": map[string]any{
			"Handler":      "http",
			"HttpUrl":      url + "/o0",
			"HttpTimeout":  "10s",
			"AdminAddr":    "127.0.0.1:0",
			"StallTimeout": "60s",
			"LogFormat":    "json",
			// debug: franz-go's group messages (its info level)
			// mark ownership changes for the order check.
			"LogLevel": "debug",
		},
	}
	if o.share {
		kafka := cfg["Kafka"].(map[string]any)
		kafka["GroupType"], kafka["Ordering"] = "share", "unordered"
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// mode describes the members' group for the report.
func mode(share bool) string {
	if share {
		return "GroupType share (unordered; order not checked)"
	}
	return "Ordering key"
}
