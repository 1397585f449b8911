package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// recorder is the HTTP endpoint the built binary posts records to: it
// counts successful deliveries per partition and offset.
type recorder struct {
	mu   sync.Mutex
	seen map[int32]map[int64]int
	n    int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err1 := strconv.Atoi(r.Header.Get("X-Kafka-Partition"))
	o, err2 := strconv.ParseInt(r.Header.Get("X-Kafka-Offset"), 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "missing X-Kafka headers", http.StatusBadRequest)
		return
	}
	time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond) // the endpoint's work
	rc.mu.Lock()
	if rc.seen[int32(p)] == nil {
		rc.seen[int32(p)] = map[int64]int{}
	}
	rc.seen[int32(p)][o]++
	rc.n++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// TestBinarySIGTERMMidStreamCommitsExactlyWhatWasDone builds the binary, runs
// it on the seed's appsettings.json with the http handler pointed at a test
// server, sends SIGTERM mid-stream, and checks the final commit: for each
// partition the committed offset is exactly the end of the prefix the server
// acknowledged, with nothing acknowledged beyond it (in-flight records were
// drained, queued ones left for later). A second run finishes the topic: no
// record delivered twice, none lost.
func TestBinarySIGTERMMidStreamCommitsExactlyWhatWasDone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kafkaworker")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cluster := testkafka.Start(t)
	topic, group := cluster.Topic(t, 6), cluster.Name(t, "g")
	const n = 20000
	cluster.Produce(t, topic, n, func(i int) []byte { return []byte(fmt.Sprint("k", i%100)) })
	ends := cluster.EndOffsets(t, topic)
	rc := &recorder{seen: map[int32]map[int64]int{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	start := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(bin, "run", "--config", seedConfig, "--admin-addr", "off")
		cmd.Env = append(os.Environ(),
			"Kafka__BootstrapServers="+cluster.Seeds, "Kafka__GroupId="+group, "Kafka__Topic="+topic,
			"Kafka__MaxProcCount=64", "KafkaWorker__Handler=http", "KafkaWorker__HttpUrl="+srv.URL,
			"KafkaWorker__LogLevel=warn", "Kafka__CommitIntervalSeconds=1")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, done
	}
	wait := func(done chan error, what string) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: still running after 60s", what)
		}
	}
	cmd, done := start()
	poll.Until(t, 60*time.Second, "a third delivered", func() bool { return rc.count() >= n/3 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait(done, "first run after SIGTERM")

	committed := cluster.Committed(t, group, topic)
	rc.mu.Lock()
	for p, end := range ends {
		c := committed[p]
		for o := int64(0); o < end; o++ {
			got := rc.seen[p][o]
			switch {
			case o < c && got != 1:
				t.Errorf("partition %d offset %d: committed but delivered %d times", p, o, got)
			case o >= c && got != 0:
				t.Errorf("partition %d offset %d: delivered but not committed (committed %d): the final commit missed it", p, o, c)
			}
		}
	}
	delivered := rc.n
	rc.mu.Unlock()
	if delivered >= n {
		t.Fatalf("all %d delivered before SIGTERM took effect: the test did not stop mid-stream", n)
	}
	if t.Failed() {
		return
	}

	cmd, done = start()
	poll.Until(t, 60*time.Second, "all delivered", func() bool { return rc.count() >= n })
	poll.Until(t, 60*time.Second, "all committed", func() bool {
		got := cluster.Committed(t, group, topic)
		for p, end := range ends {
			if got[p] != end {
				return false
			}
		}
		return true
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait(done, "second run after SIGTERM")
	t.Logf("tier %s: first run delivered %d of %d before SIGTERM", cluster.Tier(), delivered, n)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			if got := rc.seen[p][o]; got != 1 {
				t.Fatalf("partition %d offset %d delivered %d times over two runs", p, o, got)
			}
		}
	}
}
