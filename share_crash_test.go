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
	"github.com/kafkaworker/kafkaworker/internal/kafka"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// shareLock is the share group's acquisition lock in the kill test: the
// broker's lowest allowed (group.share.min.record.lock.duration.ms).
const shareLock = 15 * time.Second

// stuckOffset is where, in each partition, the child's handler never
// returns, so that it holds records when it is killed.
const stuckOffset = 1000

// The share kill test runs a share-group consumer in a child process (this
// test binary again, with KW_SHARE_CHILD set), which prints "S p o" when a
// handler starts and "D p o" just before it returns nil; its handler never
// returns for the records at stuckOffset. The parent kills it with SIGKILL
// once one of those runs, then finishes the topic with a consumer of
// its own in the same share group. Kafka 4.4 releases what a member held
// when its connection closes (before the locks expire), and the records the
// child had acquired come back when a live member fetches their partition,
// which, when the group has no more members than partitions, may be only
// after the dead members' share session has expired
// (group.share.session.timeout.ms, 45 s by default). Nothing may be lost;
// the test reports how long after the kill the child's running records, and
// every record it had acquired (the survivor's deliveries with a delivery
// count of 2 or more), came back.
func TestShareCrashHelperProcess(t *testing.T) {
	if os.Getenv("KW_SHARE_CHILD") == "" {
		t.Skip("helper process for TestShareKilledMemberLosesNothing")
	}
	cfg := kafkaworker.Config{
		BootstrapServers: os.Getenv("KW_SHARE_SEEDS"), GroupID: os.Getenv("KW_SHARE_GROUP"),
		Topic: os.Getenv("KW_SHARE_TOPIC"), GroupType: kafkaworker.ShareGroup, MaxProcCount: 32,
		ShareMembers: 2, SessionTimeout: 6 * time.Second,
	}
	var mu sync.Mutex
	say := func(what string, r *kafkaworker.Record) error {
		mu.Lock()
		defer mu.Unlock()
		_, err := fmt.Fprintf(os.Stdout, "%s %d %d\n", what, r.Partition, r.Offset)
		return err
	}
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if err := say("S", r); err != nil {
			return err
		}
		if r.Offset == stuckOffset {
			<-ctx.Done() // held until the kill: the parent waits for one of these
			return ctx.Err()
		}
		time.Sleep(time.Millisecond) // simulated work
		return say("D", r)
	})
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Run(context.Background()) // runs until killed
}

func TestShareKilledMemberLosesNothing(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 6), cl.Name(t, "sg")
	const n = 20000
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kafka.SetGroupConfig(ctx, cl.Client(), group, "share.record.lock.duration.ms",
		strconv.FormatInt(shareLock.Milliseconds(), 10)); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()

	cmd := exec.Command(os.Args[0], "-test.run=^TestShareCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KW_SHARE_CHILD=1", "KW_SHARE_SEEDS="+cl.Seeds,
		"KW_SHARE_GROUP="+group, "KW_SHARE_TOPIC="+topic)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childDone := 0
	running := map[[2]int64]bool{} // started in the child, not done
	sc := bufio.NewScanner(stdout)
	read := func() bool {
		if !sc.Scan() {
			return false
		}
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			p, _ := strconv.Atoi(f[1])
			o, _ := strconv.ParseInt(f[2], 10, 64)
			k := [2]int64{int64(p), o}
			switch f[0] {
			case "S":
				running[k] = true
			case "D":
				delete(running, k)
				tr.mark(&kafkaworker.Record{Partition: int32(p), Offset: o})
				childDone++
			}
		}
		return true
	}
	// Kill once a handler is stuck: the child then holds records.
	stuck := func() bool {
		for k := range running {
			if k[1] == stuckOffset {
				return true
			}
		}
		return false
	}
	for !stuck() && read() {
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for read() {
	}
	_ = cmd.Wait()
	if !stuck() {
		t.Fatalf("the child exited after %d records without holding any", childDone)
	}

	// A new member finishes the topic; the child's records come back when
	// their locks expire.
	var mu sync.Mutex
	var back time.Duration // when the last of the child's running records came back
	// When the first and the last record delivered before came back: the
	// child had acquired them (the survivor's first delivery of the
	// others is their first).
	var again [2]time.Duration
	c, stop := startConsumer(t, shareConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		if k := [2]int64{int64(r.Partition), r.Offset}; running[k] {
			delete(running, k)
			back = time.Since(killed)
		}
		if r.Attempt >= 2 {
			if again[0] == 0 {
				again[0] = time.Since(killed)
			}
			again[1] = time.Since(killed)
		}
		mu.Unlock()
		tr.mark(r)
		return nil
	}))
	if !poll.For(120*time.Second, func() bool { lost, _, _ := tr.check(ends); return lost == 0 }) {
		lost, _, first := tr.check(ends)
		t.Fatalf("after 120s still %d lost (first %s); survivor stats %+v", lost, first, c.Stats())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost, dup, first := tr.check(ends)
	s := c.Stats()
	mu.Lock()
	t.Logf("tier %s: child finished %d before SIGKILL; lost=%d duplicates=%d; its running records came back %v after the kill, every record it had acquired %v-%v after (lock %v, share session timeout 45 s); survivor deliveries by count %v",
		cl.Tier(), childDone, lost, dup, back.Round(100*time.Millisecond), again[0].Round(100*time.Millisecond),
		again[1].Round(100*time.Millisecond), shareLock, s.Deliveries)
	mu.Unlock()
	if lost != 0 {
		t.Fatalf("lost %d (first %s)", lost, first)
	}
	if s.Deliveries[1] == 0 {
		t.Fatalf("no record came back with delivery count 2: %v", s.Deliveries)
	}
}
