package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// TestRunConsumesAndStopsOnSIGTERM drives the run command as a deployment
// does: configuration from the seed file, broker and topic from the
// environment, an admin port; it consumes every record to stdout, serves
// /healthz and /metrics, and on a real SIGTERM shuts down cleanly (status 0)
// with every offset committed. It uses kfake, or the broker named by
// KAFKA_BOOTSTRAP_SERVERS.
func TestRunConsumesAndStopsOnSIGTERM(t *testing.T) {
	const n = 300
	cluster := testkafka.Start(t)
	topic := cluster.Topic(t, 3)
	group := cluster.Name(t, "g")
	cluster.Produce(t, topic, n, func(i int) []byte { return []byte{byte(i % 7)} })

	t.Setenv("Kafka__BootstrapServers", cluster.Seeds)
	t.Setenv("Kafka__GroupId", group)
	t.Setenv("KafkaWorker__AdminToken", "t0ken-value")
	stdout := &syncBuffer{lines: make(chan struct{}, n)}
	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"run", "--config", seedConfig, "--topic", topic,
			"--admin-addr", "127.0.0.1:0", "--set", "Kafka:CommitIntervalSeconds=1"}, stdout, stderr)
	}()
	for range n {
		select {
		case <-stdout.lines:
		case c := <-code:
			t.Fatalf("run ended with %d before consuming:\n%s", c, stderr.String())
		}
	}

	addr := regexp.MustCompile(`msg="admin server listening" addr=(\S+)`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatalf("no admin address logged:\n%s", stderr.String())
	}
	if body := get(t, "http://"+addr[1]+"/healthz"); !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %q", body)
	}
	metrics := get(t, "http://"+addr[1]+"/metrics")
	for _, want := range []string{"kafkaworker_", "go_goroutines", "process_"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The status page's data carries the effective configuration, secrets
	// hidden: an unset one shown empty, a set one as [redacted].
	status := get(t, "http://"+addr[1]+"/api/status")
	for _, want := range []string{`"GroupId":"` + group + `"`, `"SaslPassword":""`, `"AdminToken":"[redacted]"`} {
		if !strings.Contains(status, want) {
			t.Errorf("/api/status lacks %s", want)
		}
	}
	if strings.Contains(status, "t0ken-value") {
		t.Error("/api/status shows the admin token")
	}

	// The watcher is registered: the signal reaches it, not the default
	// handler that would kill the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down gracefully") {
		t.Error("no shutdown message")
	}
	checkLines(t, stdout.String(), topic, n)
	if got, want := cluster.Committed(t, group, topic), cluster.EndOffsets(t, topic); !maps.Equal(got, want) {
		t.Errorf("committed %v, want the end offsets %v", got, want)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// checkLines checks stdout holds n JSON records of topic, each offset once.
func checkLines(t *testing.T, out, topic string, n int) {
	t.Helper()
	type rec struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	seen := map[rec]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Topic != topic {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		seen[r] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct records on stdout, want %d", len(seen), n)
	}
}
