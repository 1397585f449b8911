package main

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcomes of one POST, as the recorder answered (or did not).
const (
	statusOK        = 200
	statusInjected  = 503 // a chosen failure, retried by the engine
	statusCancelled = 499 // the client went away before the answer
	statusBad       = 400 // headers or body not understood: a harness bug
)

// event is one POST the recorder saw: one attempt of one record by one
// owner. Times are nanoseconds on the harness's clock (Unix), so they
// compare with the members' log timestamps. The struct is kept small: a long
// run records over a million of them.
type event struct {
	start, end int64
	offset     int64
	owner      int32
	key        int32
	seq        int32
	partition  int16
	status     int16
}

// recorder is the HTTP endpoint every member's http handler posts to. It
// answers after a random 0-5 ms, fails errRate of the attempts with 503, and
// remembers every attempt with who made it: the path /o<owner> names the
// member process (slot and incarnation), because the X-Kafka-* headers do
// not. It is safe for concurrent use.
type recorder struct {
	errRate float64
	srv     *http.Server
	ln      net.Listener

	mu     sync.Mutex
	events []event
}

func newRecorder(errRate float64) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &recorder{errRate: errRate, ln: ln, events: make([]event, 0, 1<<16)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	return r, nil
}

// serve serves until close; run it in its own goroutine.
func (r *recorder) serve() {
	if err := r.srv.Serve(r.ln); err != nil && err != http.ErrServerClosed {
		fatalf("recorder: %v", err)
	}
}

func (r *recorder) close() { r.srv.Close() }

// url is the base URL; a member posts to url()+"/o<owner>".
func (r *recorder) url() string { return "http://" + r.ln.Addr().String() }

// ServeHTTP records one attempt. The latency and the injected errors come
// from the global generator, not the run's seed: which attempt fails depends
// on timing anyway, so a seed could not replay them.
func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	e := event{start: time.Now().UnixNano(), status: statusOK}
	ok := parseEvent(req, &e)
	_, _ = io.Copy(io.Discard, req.Body)
	if !ok {
		e.status = statusBad
	}
	delay := time.Duration(rand.N(5001)) * time.Microsecond
	select {
	case <-time.After(delay):
	case <-req.Context().Done():
		// The client gave up (its context ended: partition lost or
		// revoked, shutdown): the attempt ends now, not when we would
		// have answered, or a later attempt would seem to overlap it.
		e.status = statusCancelled
	}
	if e.status == statusOK && rand.Float64() < r.errRate {
		e.status = statusInjected
	}
	if e.status != statusCancelled {
		w.WriteHeader(int(e.status))
	}
	e.end = time.Now().UnixNano()
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// parseEvent fills e from the request: owner from the path, partition,
// offset and key from the X-Kafka-* headers, and the per-key sequence
// number from the body, which the producer wrote as "k<key>:<seq>".
func parseEvent(req *http.Request, e *event) bool {
	owner, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/o"))
	if err != nil {
		return false
	}
	e.owner = int32(owner)
	p, err1 := strconv.Atoi(req.Header.Get("X-Kafka-Partition"))
	o, err2 := strconv.ParseInt(req.Header.Get("X-Kafka-Offset"), 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	e.partition, e.offset = int16(p), o
	body, err := io.ReadAll(io.LimitReader(req.Body, 64))
	if err != nil {
		return false
	}
	key, seq, ok := parseValue(string(body))
	if !ok || req.Header.Get("X-Kafka-Key") != keyName(key) {
		return false
	}
	e.key, e.seq = key, seq
	return true
}

// snapshot returns a copy of the events recorded so far.
func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}
