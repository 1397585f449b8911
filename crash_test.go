package kafkaworker_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// The crash test runs a consumer in a child process (this test binary, run
// again with KW_CRASH_CHILD set), which prints "s partition offset" when
// it starts a record and "d partition offset" when it finished one; the parent kills it with SIGKILL mid-stream, so no
// final commit happens, then finishes the topic with a consumer of its own.
// Nothing may be lost; duplicates are what the child finished after its last
// commit, counted and bounded by what was finished or in flight at the kill.
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv("KW_CRASH_CHILD") == "" {
		t.Skip("helper process for TestKilledConsumerLosesNothing")
	}
	cfg := kafkaworker.Config{
		BootstrapServers: os.Getenv("KW_CRASH_SEEDS"), GroupID: os.Getenv("KW_CRASH_GROUP"),
		Topic: os.Getenv("KW_CRASH_TOPIC"), MaxProcCount: 32, MaxMsgCountBeforeCommit: 500,
		CommitIntervalSeconds: 1,
		// Short, so that the survivor gets the partitions soon after the kill:
		// a join waits up to the dead member's rebalance timeout for it.
		SessionTimeout: 6 * time.Second, RevokeTimeout: 5 * time.Second, RebalanceTimeout: 10 * time.Second,
		GroupProtocol: kafkaworker.GroupProtocol(os.Getenv("KW_CRASH_PROTOCOL")),
	}
	// Each line reaches the pipe before the handler returns, so before the
	// record can be committed: a record the child committed is a record the
	// parent hears of, even if the kill comes right after.
	var mu sync.Mutex
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		_, err := fmt.Fprintf(os.Stdout, "s %d %d\n", r.Partition, r.Offset)
		mu.Unlock()
		if err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond) // simulated work
		mu.Lock()
		defer mu.Unlock()
		_, err = fmt.Fprintf(os.Stdout, "d %d %d\n", r.Partition, r.Offset)
		return err
	})
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Run(context.Background()) // runs until killed
}

func TestKilledConsumerLosesNothing(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 6), cl.Name(t, "g")
	const n = 40000
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	tr := newTracker()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KW_CRASH_CHILD=1", "KW_CRASH_SEEDS="+cl.Seeds,
		"KW_CRASH_GROUP="+group, "KW_CRASH_TOPIC="+topic, "KW_CRASH_PROTOCOL="+cl.GroupProtocol())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childDone := 0
	type po struct {
		p int32
		o int64
	}
	inFlight := map[po]bool{} // started, not finished
	sc := bufio.NewScanner(stdout)
	read := func() bool {
		if !sc.Scan() {
			return false
		}
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			p, _ := strconv.Atoi(f[1])
			o, _ := strconv.ParseInt(f[2], 10, 64)
			switch f[0] {
			case "s":
				inFlight[po{int32(p), o}] = true
			case "d":
				delete(inFlight, po{int32(p), o})
				tr.mark(&kafkaworker.Record{Partition: int32(p), Offset: o})
				childDone++
			}
		}
		return true
	}
	for childDone < n/3 && read() {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// What the child wrote before it died is still in the pipe.
	for read() {
	}
	_ = cmd.Wait()
	if childDone < n/3 {
		t.Fatalf("child processed only %d records before exiting", childDone)
	}
	committedAtKill := cl.Committed(t, group, topic)
	var committed int64
	for _, o := range committedAtKill {
		committed += o
	}
	// Records the child started and did not finish: the kill interrupted
	// them. They are not duplicates (the survivor handles them once), but
	// the target counts them in its bound.
	killedInFlight := len(inFlight)
	// What the child finished that the last commit's offsets do not cover
	// (its metadata may cover some: those the survivor skips).
	var finishedAbove int64
	for p, recs := range tr.byPartition() {
		for _, o := range recs {
			if o >= committedAtKill[p] {
				finishedAbove++
			}
		}
	}

	// A new member finishes the topic from the committed offsets.
	cfg := baseConfig(cl, group, topic)
	c, stop := startConsumer(t, cfg, kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		tr.mark(r)
		return nil
	}))
	if !poll.For(90*time.Second, func() bool { lost, _, _ := tr.check(ends); return lost == 0 }) {
		lost, _, first := tr.check(ends)
		t.Fatalf("after 90s still %d lost (first %s); survivor stats %+v", lost, first, c.Stats())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost, dup, first := tr.check(ends)
	// Every duplicate is a record the child reported done beyond the
	// committed offsets: at most what it finished after its last commit.
	maxDup := int64(childDone) - committed
	t.Logf("tier %s: child finished %d, committed %d at the kill; finished above the committed offsets %d, in flight at the kill %d, skipped as done by the commit metadata %d; duplicates %d (bound %d = finished since the last commit + in flight)",
		cl.Tier(), childDone, committed, finishedAbove, killedInFlight, c.Stats().Restored, dup, finishedAbove+int64(killedInFlight))
	if int64(dup) > finishedAbove+int64(killedInFlight) {
		t.Fatalf("%d duplicates, more than the %d finished since the last commit plus %d in flight at the kill", dup, finishedAbove, killedInFlight)
	}
	if lost != 0 {
		t.Fatalf("lost %d (first %s)", lost, first)
	}
	if int64(dup) > maxDup {
		t.Fatalf("%d duplicates, more than the %d finished but uncommitted at the kill", dup, maxDup)
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
}
