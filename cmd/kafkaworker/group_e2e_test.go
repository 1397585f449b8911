package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// These tests run the built binary as group members on the real broker:
// SIGKILL and restart of a static member, and SIGTERM while the group waits
// on dead members. They report figures (the restart's first record, the
// time SIGTERM took) and assert what the figures mean: the partitions came
// back before the session timeout could have moved them; the process exited
// before the dead members' session timeout would have ended the wait.

// memberRecorder is the HTTP endpoint of several members, one path each
// (/a, /b, ...): what each delivered, and when it first delivered.
type memberRecorder struct {
	mu    sync.Mutex
	parts map[string]map[int32]int // path → partition → records
	first map[string]time.Time     // path → first record
	seen  map[int32]map[int64]int
}

func newMemberRecorder() *memberRecorder {
	return &memberRecorder{parts: map[string]map[int32]int{}, first: map[string]time.Time{}, seen: map[int32]map[int64]int{}}
}

func (rc *memberRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err1 := strconv.Atoi(r.Header.Get("X-Kafka-Partition"))
	o, err2 := strconv.ParseInt(r.Header.Get("X-Kafka-Offset"), 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "missing X-Kafka headers", http.StatusBadRequest)
		return
	}
	now := time.Now()
	rc.mu.Lock()
	path := r.URL.Path
	if rc.parts[path] == nil {
		rc.parts[path] = map[int32]int{}
		rc.first[path] = now
	}
	rc.parts[path][int32(p)]++
	if rc.seen[int32(p)] == nil {
		rc.seen[int32(p)] = map[int64]int{}
	}
	rc.seen[int32(p)][o]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// partitions returns the partitions path delivered records of, sorted.
func (rc *memberRecorder) partitions(path string) []int32 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []int32
	for p := range rc.parts[path] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (rc *memberRecorder) firstAt(path string) (time.Time, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	at, ok := rc.first[path]
	return at, ok
}

// unique counts distinct records delivered.
func (rc *memberRecorder) unique() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, m := range rc.seen {
		n += len(m)
	}
	return n
}

// buildBinary builds the service into the test's temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kafkaworker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running kafkaworker process. lines receives the msg of each of
// its JSON log lines that mentions the group (its log is copied to the
// test's stderr only when the test fails).
type proc struct {
	cmd   *exec.Cmd
	done  chan struct{} // closed once it exited
	err   error         // Wait's, once done is closed
	group chan string
	log   strings.Builder
	mu    sync.Mutex
}

// startMember runs the binary on the seed's appsettings.json with env on
// top; the HTTP handler posts to url.
func startMember(t *testing.T, bin string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", seedConfig, "--admin-addr", "off")
	cmd.Env = append(append(os.Environ(), "KafkaWorker__Handler=http", "KafkaWorker__LogLevel=debug",
		"KafkaWorker__LogFormat=json"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), group: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			var l struct {
				Msg string `json:"msg"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && strings.Contains(l.Msg, "group") {
				select {
				case p.group <- l.Msg:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			p.mu.Lock()
			t.Logf("log of pid %d:\n%s", cmd.Process.Pid, p.log.String())
			p.mu.Unlock()
		}
	})
	return p
}

// kill SIGKILLs p and waits for it to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// memberEnv is the environment of a member of group on topic posting to url.
func memberEnv(cluster *testkafka.Cluster, group, topic, url string, extra ...string) []string {
	return append([]string{
		"Kafka__BootstrapServers=" + cluster.Seeds, "Kafka__GroupId=" + group, "Kafka__Topic=" + topic,
		"Kafka__MaxProcCount=16", "Kafka__CommitIntervalSeconds=1", "Kafka__GroupProtocol=" + cluster.GroupProtocol(),
		"KafkaWorker__HttpUrl=" + url,
	}, extra...)
}

// produceRound produces one record per key, keys spread over every
// partition, and waits until the recorder has them all.
func produceRound(t *testing.T, cluster *testkafka.Cluster, topic string, rc *memberRecorder, round, per int, within time.Duration) {
	t.Helper()
	target := rc.unique() + per
	cluster.Produce(t, topic, per, func(i int) []byte { return []byte(fmt.Sprint("r", round, "k", i)) })
	poll.Until(t, within, fmt.Sprintf("round %d delivered", round), func() bool { return rc.unique() >= target })
}

// A static member (GroupInstanceId) SIGKILLed and restarted takes its
// partitions back without waiting for its session timeout: the second
// member, dynamic, never gets them, although the broker would have moved
// them to it once the 60 s session timeout ended. Reports the time from the
// restart to the first record handled: 28-56 ms on Kafka 4.4 with the classic
// protocol. With KIP-848's (GroupProtocol consumer) the same test passes but
// shows no gain from static membership: a static member that did not leave
// (SIGKILL) keeps its instance id until the broker's
// group.consumer.session.timeout.ms ends (45 s by default; the client's
// SessionTimeout is not used under KIP-848) and the new member with that id
// gets nothing meanwhile: the restart's first record came 47-48 s after it.
func TestBinaryStaticMemberRestartedAfterSIGKILLTakesItsPartitionsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cluster := testkafka.Start(t)
	if !cluster.Real {
		t.Skip("needs the real broker (static membership and session timeouts)")
	}
	// Under KIP-848 the broker's session (group.consumer.session.timeout.ms,
	// 45 s by default) is what would hold the killed member's partitions;
	// the restarted member releases its old incarnation instead
	// (kafka.ReleaseStaticMember), so the bound is the broker's session.
	brokerSession := 45 * time.Second
	bin := buildBinary(t)
	const partitions = 6
	topic, group := cluster.Topic(t, partitions), cluster.Name(t, "g")
	rc := newMemberRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const session = 60 * time.Second
	common := []string{"Kafka__SessionTimeout=" + session.String(), "Kafka__RebalanceTimeout=30s", "Kafka__RevokeTimeout=10s"}

	startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/b", common...)...)
	produceRound(t, cluster, topic, rc, 0, 120, 60*time.Second)
	a := startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/a", append(common, "Kafka__GroupInstanceId=kw-static-a")...)...)
	// Rounds until both members deliver and share the partitions, each
	// on its own: a round in which a partition moved has both on it.
	// Three each: both assignors balance, and an incremental assignment
	// (KIP-848) passes through uneven splits.
	var ofA, ofB []int32
	settle := time.Now().Add(90 * time.Second)
	for round := 1; ; round++ {
		if time.Now().After(settle) {
			t.Fatalf("after 90s (%d rounds), member a delivers on %v and b on %v: the group did not settle", round, ofA, ofB)
		}
		rc.mu.Lock()
		clear(rc.parts)
		rc.mu.Unlock()
		produceRound(t, cluster, topic, rc, round, 120, 60*time.Second)
		ofA, ofB = rc.partitions("/a"), rc.partitions("/b")
		if len(ofA) == partitions/2 && len(ofB) == partitions/2 &&
			!slices.ContainsFunc(ofA, func(p int32) bool { return slices.Contains(ofB, p) }) {
			break
		}
	}

	a.kill(t)
	killed := time.Now()
	rc.mu.Lock()
	delete(rc.parts, "/b") // from now on: what b delivers
	rc.mu.Unlock()
	restarted := time.Now()
	startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/a2", append(common, "Kafka__GroupInstanceId=kw-static-a")...)...)
	// Records on every partition, so that the restarted member has work
	// at once on its partitions.
	produceRound(t, cluster, topic, rc, 100, 120, session)
	first, ok := rc.firstAt("/a2")
	if !ok {
		t.Fatal("the restarted member delivered nothing")
	}
	ofA2, ofB2 := rc.partitions("/a2"), rc.partitions("/b")
	t.Logf("tier %s: static member killed %v before its restart; first record handled %v after the restart (session timeout %v); a had %v, the restart delivers on %v, b on %v",
		cluster.Tier(), restarted.Sub(killed).Round(time.Millisecond), first.Sub(restarted).Round(time.Millisecond), session, ofA, ofA2, ofB2)
	if !slices.Equal(ofA2, ofA) {
		t.Fatalf("the restarted static member delivers on %v, it had %v", ofA2, ofA)
	}
	for _, p := range ofB2 {
		if slices.Contains(ofA, p) {
			t.Fatalf("member b got partition %d of the killed static member: the group rebalanced (session timeout ended, or a new member id)", p)
		}
	}
	limit := session
	if cluster.GroupProtocol() == "consumer" {
		limit = brokerSession
	}
	if first.Sub(killed) >= limit {
		t.Fatalf("first record %v after the kill: the session timeout (%v) had ended", first.Sub(killed), limit)
	}
}

// SIGTERM while the group waits on dead members: two members SIGKILLed, a
// third started; the broker holds its join until the dead members' session
// timeout (45 s) ends. SIGTERM during that wait must end the process
// within ShutdownTimeout + 5 s: it exits well before the wait would have
// ended. Reports the time from SIGTERM to exit.
func TestBinarySIGTERMWhileTheGroupWaitsOnDeadMembersExitsPromptly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cluster := testkafka.Start(t)
	if !cluster.Real {
		t.Skip("needs the real broker (a join held for dead members)")
	}
	bin := buildBinary(t)
	topic, group := cluster.Topic(t, 6), cluster.Name(t, "g")
	rc := newMemberRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const session = 45 * time.Second
	const shutdown = 10 * time.Second
	common := []string{"Kafka__SessionTimeout=" + session.String(), "Kafka__RebalanceTimeout=" + session.String(),
		"Kafka__ShutdownTimeout=" + shutdown.String(), "Kafka__RevokeTimeout=8s"}

	a := startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/a", common...)...)
	b := startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/b", common...)...)
	settle := time.Now().Add(90 * time.Second)
	for round := 0; len(rc.partitions("/a")) == 0 || len(rc.partitions("/b")) == 0; round++ {
		if time.Now().After(settle) {
			t.Fatalf("after 90s (%d rounds), a and b do not both deliver", round)
		}
		produceRound(t, cluster, topic, rc, round, 120, 90*time.Second)
	}
	a.kill(t)
	b.kill(t)
	killed := time.Now()
	cluster.Produce(t, topic, 600, nil) // work the dead members hold
	c := startMember(t, bin, memberEnv(cluster, group, topic, srv.URL+"/c", common...)...)
	// In the group: franz-go's "joining group" (classic, then held by the
	// broker) or the start of KIP-848's heartbeat loop.
	waiting := false
	for !waiting {
		select {
		case msg := <-c.group:
			waiting = strings.Contains(msg, "joining group") || strings.Contains(msg, "next-gen group lifecycle")
		case <-c.done:
			t.Fatalf("member c exited: %v", c.err)
		case <-time.After(30 * time.Second):
			t.Fatal("member c did not start joining within 30s")
		}
	}
	// The broker holds the group for the dead members: a classic group
	// preparing a rebalance (c's join held), a consumer group reconciling
	// (the dead members' partitions not yet revoked).
	var state string
	poll.Until(t, 30*time.Second, "the group waiting on the dead members", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		listed, err := cluster.Admin().ListGroups(ctx)
		if err != nil {
			return false
		}
		state = listed[group].State
		return state == "PreparingRebalance" || state == "Reconciling" || state == "Assigning"
	})
	if _, ok := rc.firstAt("/c"); ok {
		t.Fatal("member c delivered before SIGTERM: the group was not waiting on the dead members")
	}
	termAt := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(session + 30*time.Second):
		t.Fatalf("member c still running %v after SIGTERM", session+30*time.Second)
	}
	exited := time.Now()
	_, delivered := rc.firstAt("/c")
	t.Logf("tier %s: two members killed, the third SIGTERMed %v after the kills, the group %s, exited %v after SIGTERM (ShutdownTimeout %v; the dead members' session timeout %v would end %v after the kills); it delivered before exiting: %v; exit: %v",
		cluster.Tier(), termAt.Sub(killed).Round(time.Millisecond), state, exited.Sub(termAt).Round(time.Millisecond), shutdown, session, session, delivered, c.err)
	if c.err != nil {
		t.Fatalf("member c: %v, want a clean exit", c.err)
	}
	if exited.Sub(killed) >= session {
		t.Fatalf("exited %v after the kills, not before the dead members' session timeout (%v) ended the wait", exited.Sub(killed), session)
	}
}
