package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// owner is one kafkaworker process: a slot (1..maxMembers) and one
// incarnation of it. Each has its own recorder path, /o<id>, so the checker
// knows who handled what. markers are the moments its ownership may have
// been interrupted: group events in its log (franz-go's session, revoke and
// lost messages) and the harness's SIGSTOP/SIGCONT.
type owner struct {
	id, slot int
	log      string

	mu       sync.Mutex
	markers  []int64 // Unix ns
	exitCode int     // -1 while running, or killed by a signal
	exitHow  string  // "sigkill", "sigterm", "crashed", "end"
}

func (o *owner) mark(t time.Time) {
	o.mu.Lock()
	o.markers = append(o.markers, t.UnixNano())
	o.mu.Unlock()
}

// member is a running process of an owner.
type member struct {
	o      *owner
	cmd    *exec.Cmd
	done   chan struct{} // closed by the waiter once the process has exited
	admin  chan string   // receives the admin address once, from the log
	addr   string        // the admin address, once known
	paused bool
	how    string // why we stop it; empty: it ended on its own
}

// fleet runs the kafkaworker processes. Every process is started with
// Pdeathsig so that it dies with the harness even if the harness is
// SIGKILLed, and in its own process group so that a Ctrl-C in the terminal
// reaches only the harness, which then stops them itself. Methods are safe
// for concurrent use.
type fleet struct {
	bin, config, dir, baseURL string
	// termWait bounds a graceful stop: ShutdownTimeout plus the final
	// commit and leaving the group; then SIGKILL.
	termWait time.Duration
	// static: each slot is a static member, GroupInstanceId chaos-slot-N
	// (a restart of the slot takes its partitions back).
	static bool

	mu      sync.Mutex
	members map[int]*member // by slot
	owners  []*owner
}

func newFleet(bin, config, dir, baseURL string, termWait time.Duration) *fleet {
	return &fleet{bin: bin, config: config, dir: dir, baseURL: baseURL, termWait: termWait, members: map[int]*member{}}
}

// start runs a new incarnation in slot and waits (at most 30 s) for its
// admin address. The process is in the group only later: see ready.
func (f *fleet) start(slot int) (*owner, error) {
	f.mu.Lock()
	if _, busy := f.members[slot]; busy {
		f.mu.Unlock()
		return nil, fmt.Errorf("slot %d is running", slot)
	}
	o := &owner{id: len(f.owners), slot: slot, exitCode: -1}
	o.log = filepath.Join(f.dir, fmt.Sprintf("member-o%d-slot%d.log", o.id, slot))
	f.owners = append(f.owners, o)
	m := &member{o: o, done: make(chan struct{}), admin: make(chan string, 1)}
	f.members[slot] = m
	f.mu.Unlock()

	logf, err := os.Create(o.log)
	if err != nil {
		f.forget(slot)
		return nil, err
	}
	cmd := exec.Command(f.bin, "run", "--config", f.config)
	cmd.Env = append(os.Environ(), fmt.Sprintf("KafkaWorker__HttpUrl=%s/o%d", f.baseURL, o.id))
	if f.static {
		cmd.Env = append(cmd.Env, fmt.Sprintf("Kafka__GroupInstanceId=chaos-slot-%d", slot))
	}
	cmd.Stdout = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		f.forget(slot)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		f.forget(slot)
		return nil, err
	}
	f.mu.Lock()
	m.cmd = cmd
	f.mu.Unlock()
	go f.wait(slot, m, stderr, logf)
	select {
	case addr := <-m.admin:
		f.mu.Lock()
		m.addr = addr
		f.mu.Unlock()
		return o, nil
	case <-m.done:
		return o, fmt.Errorf("member o%d exited at start-up (log %s)", o.id, o.log)
	case <-time.After(30 * time.Second):
		return o, fmt.Errorf("member o%d: no admin address in its log after 30s (log %s)", o.id, o.log)
	}
}

func (f *fleet) forget(slot int) {
	f.mu.Lock()
	delete(f.members, slot)
	f.mu.Unlock()
}

// wait copies the member's log to its file, watching it for the admin
// address and group events, then reaps the process. Reading to EOF comes
// first: exec requires it before Wait.
func (f *fleet) wait(slot int, m *member, stderr io.Reader, logf *os.File) {
	defer logf.Close()
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		logf.Write(append(line, '\n'))
		watchLine(m, line)
	}
	io.Copy(io.Discard, stderr) // a line over 1 MiB: keep the pipe drained
	err := m.cmd.Wait()
	code := m.cmd.ProcessState.ExitCode()
	f.mu.Lock()
	how := m.how
	if how == "" {
		how = "crashed"
		fmt.Fprintf(os.Stderr, "chaos: member o%d (slot %d) exited on its own: %v (log %s)\n", m.o.id, slot, err, m.o.log)
	}
	if f.members[slot] == m {
		delete(f.members, slot)
	}
	f.mu.Unlock()
	m.o.mu.Lock()
	m.o.exitCode, m.o.exitHow = code, how
	m.o.mu.Unlock()
	close(m.done)
}

// logLine is what we read from a member's JSON log line.
type logLine struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
	Addr string    `json:"addr"`
}

// groupWords mark franz-go's group messages (logged at debug through the
// library's adapter): a new session with added and lost partitions, onRevoke
// at the end of a session, heartbeat and join errors that lead to onLost.
var groupWords = []string{"session", "revok", "lost", "assign", "join", "heartbeat", "rebalanc", "sync"}

func watchLine(m *member, line []byte) {
	var l logLine
	if json.Unmarshal(line, &l) != nil {
		return
	}
	if l.Msg == "admin server listening" && l.Addr != "" {
		select {
		case m.admin <- l.Addr:
		default:
		}
	}
	msg := strings.ToLower(l.Msg)
	if slices.ContainsFunc(groupWords, func(w string) bool { return strings.Contains(msg, w) }) {
		m.o.mark(l.Time)
	}
}

// running returns the slots of members running and not paused.
func (f *fleet) running() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for s, m := range f.members {
		if !m.paused && m.how == "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// size counts live members, paused ones included.
func (f *fleet) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.members)
}

func (f *fleet) member(slot int) *member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members[slot]
}

// kill SIGKILLs the member in slot and waits for it (10 s at most).
func (f *fleet) kill(slot int) error {
	return f.signalAndWait(slot, "sigkill", syscall.SIGKILL, 10*time.Second)
}

// term SIGTERMs the member and waits for its graceful shutdown, SIGKILLing
// it after termWait. It returns the exit code (0: clean).
func (f *fleet) term(slot int) (int, error) {
	m := f.member(slot)
	if m == nil {
		return -1, fmt.Errorf("slot %d is not running", slot)
	}
	err := f.signalAndWait(slot, "sigterm", syscall.SIGTERM, f.termWait)
	if errors.Is(err, errTimeout) {
		if kerr := f.signalAndWait(slot, "sigterm-timeout", syscall.SIGKILL, 10*time.Second); kerr != nil {
			return -1, kerr
		}
		return -1, fmt.Errorf("member o%d ignored SIGTERM for %v: SIGKILLed", m.o.id, f.termWait)
	}
	if err != nil {
		return -1, err
	}
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	return m.o.exitCode, nil
}

var errTimeout = errors.New("timed out")

func (f *fleet) signalAndWait(slot int, how string, sig syscall.Signal, d time.Duration) error {
	f.mu.Lock()
	m := f.members[slot]
	if m == nil || m.cmd == nil {
		f.mu.Unlock()
		return fmt.Errorf("slot %d is not running", slot)
	}
	m.how = how
	f.mu.Unlock()
	if err := m.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-m.done:
		return nil
	case <-time.After(d):
		return errTimeout
	}
}

// pause SIGSTOPs the member: it stops heartbeating and, after the session
// timeout, is expelled from the group while its TCP connections stay open.
func (f *fleet) pause(slot int) error {
	return f.setPaused(slot, true, syscall.SIGSTOP)
}

// resume SIGCONTs a paused member.
func (f *fleet) resume(slot int) error {
	return f.setPaused(slot, false, syscall.SIGCONT)
}

func (f *fleet) setPaused(slot int, paused bool, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.members[slot]
	if m == nil || m.cmd == nil {
		return fmt.Errorf("slot %d is not running", slot)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		return err
	}
	m.paused = paused
	m.o.mark(time.Now())
	return nil
}

// readyz asks a member's admin server for /readyz and returns the status
// code and body.
func (f *fleet) readyz(ctx context.Context, slot int) (int, string, error) {
	f.mu.Lock()
	m := f.members[slot]
	f.mu.Unlock()
	if m == nil || m.addr == "" {
		return 0, "", fmt.Errorf("slot %d: no admin address", slot)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.addr+"/readyz", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// stopAll resumes paused members and stops every member gracefully, in
// parallel, SIGKILLing those that outlive termWait. It returns the owners
// that did not exit 0.
func (f *fleet) stopAll() []string {
	f.mu.Lock()
	var slots []int
	for s, m := range f.members {
		if m.cmd == nil {
			continue
		}
		slots = append(slots, s)
		if m.paused {
			m.cmd.Process.Signal(syscall.SIGCONT)
			m.paused = false
		}
	}
	f.mu.Unlock()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		bad []string
	)
	for _, s := range slots {
		wg.Go(func() {
			m := f.member(s)
			code, err := f.term(s)
			if err != nil || code != 0 {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("o%d exit %d %v (log %s)", m.o.id, code, err, m.o.log))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return bad
}

// killAll SIGKILLs whatever still runs: the last resort on every exit path.
func (f *fleet) killAll() {
	f.mu.Lock()
	ms := make([]*member, 0, len(f.members))
	for _, m := range f.members {
		if m.cmd != nil {
			m.how = "end"
			ms = append(ms, m)
		}
	}
	f.mu.Unlock()
	for _, m := range ms {
		m.cmd.Process.Kill()
	}
	for _, m := range ms {
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
		}
	}
}

// ownersSnapshot returns the owners so far.
func (f *fleet) ownersSnapshot() []*owner {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.owners)
}
