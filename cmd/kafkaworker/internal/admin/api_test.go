package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
)

// post sends a JSON mutation with an optional bearer token and extra
// headers, and returns the status and body.
func post(t *testing.T, client *http.Client, url, token, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// produceTo writes n records to one partition of the test topic.
func produceTo(t *testing.T, seeds string, partition int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(seeds, ",")...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range n {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Partition: partition, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// counter counts handled records per partition.
type counter struct {
	mu sync.Mutex
	n  map[int32]int
}

func (c *counter) Handle(_ context.Context, r *kafkaworker.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int32]int{}
	}
	c.n[r.Partition]++
	return nil
}

func (c *counter) get(p int32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[p]
}

// anyAddr listens on every interface: not loopback, as ":8080" in a
// container. The tests reach it through 127.0.0.1.
const anyAddr = "0.0.0.0:0"

func loopbackURL(t *testing.T, base string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return "http://127.0.0.1:" + port
}

func TestStartRefusesMutationsOffLoopbackWithoutAToken(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop)
	s := New(c, Options{Addr: anyAddr, Log: quietLogger()})
	if err := s.Start(); !errors.Is(err, ErrUnsafeAdmin) {
		t.Fatalf("Start = %v, want ErrUnsafeAdmin", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// Off loopback, a mutation without the token, or with a wrong one, is
// refused and changes nothing; with it, a pause stops the partition's
// fetching at once: records produced after it are not handled while the
// other partition's, fetched by later polls, are.
func TestMutationsOffLoopbackNeedTheToken(t *testing.T) {
	const token = "s3cret-admin-token"
	seeds, _ := newCluster(t, 2, 0)
	var h counter
	c := startConsumer(t, seeds, &h)
	base, client := startServerWith(t, c, Options{Addr: anyAddr, Token: token, StallTimeout: time.Minute})
	base = loopbackURL(t, base)
	poll.Until(t, 30*time.Second, "both partitions assigned", func() bool { return len(c.Stats().Partitions) == 2 })

	pause0 := `{"partitions":[{"topic":"` + testTopic + `","partition":0}]}`
	for _, tok := range []string{"", "wrong", token + "x", strings.ToUpper(token)} {
		if code, body := post(t, client, base+"/api/pause", tok, pause0); code != http.StatusUnauthorized {
			t.Fatalf("pause with token %q: %d %s, want 401", tok, code, body)
		}
		if code, _ := post(t, client, base+"/api/pause", tok, `{}`); code != http.StatusUnauthorized {
			t.Fatalf("pause all with token %q: %d, want 401", tok, code)
		}
	}
	if all, held := c.Paused(); all || len(held) != 0 {
		t.Fatalf("refused requests paused %v %v", all, held)
	}
	for _, p := range c.Stats().Partitions {
		if p.Held {
			t.Fatalf("partition %d held after refused requests", p.Partition)
		}
	}

	if code, body := post(t, client, base+"/api/pause", token, pause0); code != http.StatusOK {
		t.Fatalf("pause with the token: %d %s", code, body)
	}
	produceTo(t, seeds, 0, 10)
	produceTo(t, seeds, 1, 10)
	poll.Until(t, 30*time.Second, "partition 1's records", func() bool { return h.get(1) == 10 })
	if n := h.get(0); n != 0 {
		t.Fatalf("%d records of the paused partition handled", n)
	}
	if code, body := post(t, client, base+"/api/resume", token, `{}`); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, body)
	}
	poll.Until(t, 30*time.Second, "partition 0's records after resume", func() bool { return h.get(0) == 10 })
	if code, body := post(t, client, base+"/api/commit", token, ``); code != http.StatusOK {
		t.Fatalf("commit: %d %s", code, body)
	}
}

// Read-only: 403, nothing changes; read-only endpoints stay open.
func TestReadOnlyRefusesMutations(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop) // not run: the checks need no group
	base, client := startServerWith(t, c, Options{Addr: anyAddr, ReadOnly: true, StallTimeout: time.Minute})
	base = loopbackURL(t, base)
	if code, _ := post(t, client, base+"/api/pause", "", `{}`); code != http.StatusForbidden {
		t.Fatalf("pause read-only: %d, want 403", code)
	}
	if all, _ := c.Paused(); all {
		t.Fatal("a read-only server paused the consumer")
	}
	for _, path := range []string{"/", "/api/status", "/healthz", "/metrics"} {
		if code, _ := get(t, client, base+path); code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
}

// On loopback without a token mutations are open, but only as JSON from
// this server's own origin.
func TestLoopbackMutationsRefuseOtherOriginsAndForms(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop) // not run: the checks need no group
	base, client := startServerWith(t, c, Options{Addr: "127.0.0.1:0", StallTimeout: time.Minute})
	if code, _ := post(t, client, base+"/api/pause", "", `{}`, "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Fatalf("cross-origin pause: %d, want 403", code)
	}
	if code, _ := post(t, client, base+"/api/pause", "", `{}`, "Content-Type", "text/plain"); code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain pause: %d, want 415", code)
	}
	if all, _ := c.Paused(); all {
		t.Fatal("a refused request paused the consumer")
	}
	if code, body := post(t, client, base+"/api/pause", "", `{}`, "Origin", base); code != http.StatusOK {
		t.Fatalf("same-origin pause: %d %s", code, body)
	}
	if all, _ := c.Paused(); !all {
		t.Fatal("pause all did not hold")
	}
}

// procs stands in for a consumer that offers MaxProcCount at run time.
type procs struct {
	mu  sync.Mutex
	got []int
}

func (p *procs) SetMaxProcCount(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, n)
}

// A control the consumer does not offer answers 501 (a stand-in that offers
// MaxProcCount alone); one it offers reaches it, and the configuration the
// status page shows then has the new value, in its place. The status says
// which controls are offered: all three by *kafkaworker.Consumer.
func TestOptionalControlsAnswer501UnlessOffered(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop) // not run: the checks need no group
	base, client := startServerWith(t, c, Options{Addr: "127.0.0.1:0", StallTimeout: time.Minute})
	if st := getStatus(t, client, base); !st.Capabilities["maxProcCount"] || !st.Capabilities["maxRecordsPerSecond"] || !st.Capabilities["release"] {
		t.Fatalf("the consumer's capabilities %v, want all three", st.Capabilities)
	}

	stand := &procs{}
	cfg := json.RawMessage(`{"Kafka":{"GroupId":"g","MaxProcCount":50,"Topic":"t"},"KafkaWorker":{"Handler":"stdout"}}`)
	s := New(c, Options{Addr: "127.0.0.1:0", Log: quietLogger(), StallTimeout: time.Minute, Config: cfg})
	s.api.controls = stand
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	client.CloseIdleConnections()
	base = "http://" + s.Addr()
	for path, body := range map[string]string{
		"/api/max-records-per-second": `{"value":100}`,
		"/api/release":                `{"topic":"t","partition":0,"offset":1,"action":"skip"}`,
	} {
		if code, resp := post(t, client, base+path, "", body); code != http.StatusNotImplemented {
			t.Fatalf("%s: %d %s, want 501", path, code, resp)
		}
	}
	if code, resp := post(t, client, base+"/api/max-proc-count", "", `{"value":0}`); code != http.StatusBadRequest {
		t.Fatalf("max-proc-count 0: %d %s, want 400", code, resp)
	}
	if code, resp := post(t, client, base+"/api/max-proc-count", "", `{"value":12}`); code != http.StatusOK {
		t.Fatalf("max-proc-count: %d %s", code, resp)
	}
	stand.mu.Lock()
	got := stand.got
	stand.mu.Unlock()
	if len(got) != 1 || got[0] != 12 {
		t.Fatalf("SetMaxProcCount calls %v, want [12]", got)
	}
	st := getStatus(t, client, base)
	if !st.Capabilities["maxProcCount"] || st.Capabilities["maxRecordsPerSecond"] || st.Capabilities["release"] {
		t.Fatalf("capabilities %v", st.Capabilities)
	}
	want := `{"Kafka":{"GroupId":"g","MaxProcCount":12,"Topic":"t"},"KafkaWorker":{"Handler":"stdout"}}`
	if string(st.Config) != want {
		t.Fatalf("configuration shown:\n%s\nwant\n%s", st.Config, want)
	}
}

// getStatus fetches and decodes /api/status.
func getStatus(t *testing.T, client *http.Client, base string) statusJSON {
	t.Helper()
	code, body := get(t, client, base+"/api/status")
	var st statusJSON
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/status: %d %v", code, err)
	}
	return st
}

// MaxRecordsPerSecond through the API: off loopback, refused without the
// token (401) and with mutations off (403), changing nothing; with it, the
// limit is in force at once. 0.001 a second lets the new limiter's burst
// of one record start and holds the rest (the next token is 1,000 s away);
// lifting the limit lets them all run.
func TestMaxRecordsPerSecondThroughTheAPI(t *testing.T) {
	const token = "s3cret-admin-token"
	seeds, _ := newCluster(t, 1, 0)
	var h counter
	c := startConsumer(t, seeds, &h)
	base, client := startServerWith(t, c, Options{Addr: anyAddr, Token: token, StallTimeout: time.Minute})
	base = loopbackURL(t, base)
	ro, _ := startServerWith(t, c, Options{Addr: anyAddr, ReadOnly: true, StallTimeout: time.Minute})
	ro = loopbackURL(t, ro)
	poll.Until(t, 30*time.Second, "the partition assigned", func() bool { return len(c.Stats().Partitions) == 1 })

	slow := `{"value":0.001,"by":"test"}`
	for _, tok := range []string{"", "wrong"} {
		if code, body := post(t, client, base+"/api/max-records-per-second", tok, slow); code != http.StatusUnauthorized {
			t.Fatalf("with token %q: %d %s, want 401", tok, code, body)
		}
	}
	if code, body := post(t, client, ro+"/api/max-records-per-second", token, slow); code != http.StatusForbidden {
		t.Fatalf("read-only: %d %s, want 403", code, body)
	}
	if code, body := post(t, client, base+"/api/max-records-per-second", token, `{"value":-1}`); code != http.StatusBadRequest {
		t.Fatalf("-1: %d %s, want 400", code, body)
	}
	if r := c.Stats().MaxRecordsPerSecond; r != 0 {
		t.Fatalf("refused requests set the rate to %v", r)
	}

	if code, body := post(t, client, base+"/api/max-records-per-second", token, slow); code != http.StatusOK {
		t.Fatalf("with the token: %d %s", code, body)
	}
	if r := c.Stats().MaxRecordsPerSecond; r != 0.001 {
		t.Fatalf("rate in force %v, want 0.001", r)
	}
	st := getStatus(t, client, base)
	if st.Totals.MaxRecordsPerSecond != 0.001 || !strings.Contains(string(st.Config), `"MaxRecordsPerSecond":0.001`) {
		t.Fatalf("status shows rate %v, configuration %s", st.Totals.MaxRecordsPerSecond, st.Config)
	}
	produceTo(t, seeds, 0, 5)
	// All five fetched, one run: the others wait for tokens.
	poll.Until(t, 30*time.Second, "one record run and four held by the limit", func() bool {
		s := c.Stats()
		return h.get(0) == 1 && s.Buffered == 4
	})
	if code, body := post(t, client, base+"/api/max-records-per-second", token, `{"value":0}`); code != http.StatusOK {
		t.Fatalf("lifting the limit: %d %s", code, body)
	}
	poll.Until(t, 30*time.Second, "the held records run once the limit is lifted", func() bool { return h.get(0) == 5 })
}
