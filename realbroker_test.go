package kafkaworker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// kafkaScript runs scripts/kafka/kafka.sh with extra environment.
func kafkaScript(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("scripts/kafka/kafka.sh", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kafka.sh %v: %v", args, err)
	}
	return out
}

// An independent producer (Kafka's own VerifiableProducer, not franz-go)
// writes the records; kafkaworker must see exactly the values it reported
// acknowledged.
func TestIndependentProducerRecordsAllConsumed(t *testing.T) {
	cl := testkafka.Start(t)
	if !cl.Real {
		t.Skip("needs the real broker: Kafka's VerifiableProducer runs on the JVM")
	}
	topic, group := cl.Topic(t, 6), cl.Name(t, "g")
	const n = 5000
	out := kafkaScript(t, nil, "tool", "org.apache.kafka.tools.VerifiableProducer",
		"--bootstrap-server", cl.Seeds, "--topic", topic, "--max-messages", strconv.Itoa(n), "--acks", "-1")
	acked := map[string]bool{}
	sc := bufio.NewScanner(bytesReader(out))
	for sc.Scan() {
		var ev struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Name == "producer_send_success" {
			acked[ev.Value] = true
		}
	}
	if len(acked) != n {
		t.Fatalf("VerifiableProducer acknowledged %d of %d", len(acked), n)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var count atomic.Int64
	_, stop := startConsumer(t, baseConfig(cl, group, topic), kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		seen[string(r.Value)]++
		mu.Unlock()
		count.Add(1)
		return nil
	}))
	poll.Until(t, 60*time.Second, "all consumed", func() bool { return count.Load() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for v := range acked {
		if seen[v] != 1 {
			t.Fatalf("value %q seen %d times", v, seen[v])
		}
	}
	if len(seen) != n {
		t.Fatalf("consumed %d distinct values, produced %d", len(seen), n)
	}
}

// On a 3-node cluster with replication factor 3, one broker is stopped and
// restarted mid-stream: nothing is lost and the group ends fully committed.
func TestBrokerFailoverLosesNothing(t *testing.T) {
	cl := testkafka.StartCluster3(t)
	minISR := "2"
	topic := cl.TopicRF(t, 12, 3, map[string]*string{"min.insync.replicas": &minISR})
	group := cl.Name(t, "g")
	const n = 60000
	cl.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%1000)) })
	ends := cl.EndOffsets(t, topic)
	tr := newTracker()
	cfg := baseConfig(cl, group, topic)
	// Slow enough (about 2,000 records/s) that the stream outlasts the
	// broker's stop and restart.
	cfg.MaxProcCount = 4
	c, stop := startConsumer(t, cfg, kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		time.Sleep(2 * time.Millisecond) // simulated work
		tr.mark(r)
		return nil
	}))
	env := []string{"KAFKA_STATE_DIR=" + os.Getenv(testkafka.EnvCluster3State)}
	poll.Until(t, 60*time.Second, "a fifth processed", func() bool { return tr.count() >= n/5 })
	kafkaScript(t, env, "stop-node", "2")
	at := tr.count()
	if at >= n-n/10 {
		t.Fatalf("%d of %d records processed while node 2 stopped: the test no longer exercises the failover", at, n)
	}
	poll.Until(t, 90*time.Second, "progress without node 2", func() bool { return tr.count() >= at+n/10 })
	kafkaScript(t, env, "start-node", "2")
	poll.Until(t, 120*time.Second, "all processed", func() bool {
		lost, _, _ := tr.check(ends)
		return lost == 0
	})
	poll.Until(t, 60*time.Second, "all committed", func() bool { return committedAll(cl, group, topic, ends) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lost, dup, first := tr.check(ends)
	t.Logf("3-node failover: %d records, lost %d, duplicates %d, commit errors %d", n, lost, dup, c.Stats().CommitErrors)
	if lost != 0 {
		t.Fatalf("lost %d (first %s)", lost, first)
	}
}
