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

// The issue-12 controls answer 501 until the consumer offers them, and
// then reach it; the status says which are offered.
func TestOptionalControlsAnswer501UntilOffered(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop) // not run: the checks need no group
	base, client := startServerWith(t, c, Options{Addr: "127.0.0.1:0", StallTimeout: time.Minute})
	// The consumer offers MaxProcCount and Release (issue 12) but not a
	// run-time rate limit.
	for path, body := range map[string]string{
		"/api/max-records-per-second": `{"value":100}`,
	} {
		if code, resp := post(t, client, base+path, "", body); code != http.StatusNotImplemented {
			t.Fatalf("%s: %d %s, want 501", path, code, resp)
		}
	}
	// A second server whose consumer offers MaxProcCount (a stand-in,
	// set before Start).
	stand := &procs{}
	s := New(c, Options{Addr: "127.0.0.1:0", Log: quietLogger(), StallTimeout: time.Minute})
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
	_, body := get(t, client, base+"/api/status")
	var st statusJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Capabilities["maxProcCount"] || st.Capabilities["release"] {
		t.Fatalf("capabilities %v", st.Capabilities)
	}
}
