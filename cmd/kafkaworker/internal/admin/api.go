package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// The run-time controls a consumer may offer beyond pause, resume and
// commit. *kafkaworker.Consumer offers all three; the API looks them up at
// run time and answers 501 Not Implemented for a consumer (a test's
// stand-in) without one.
type (
	// ProcCountSetter changes MaxProcCount while running.
	ProcCountSetter interface {
		SetMaxProcCount(n int)
	}
	// RateSetter changes MaxRecordsPerSecond while running (0: no limit).
	RateSetter interface {
		SetMaxRecordsPerSecond(perSecond float64)
	}
	// Releaser lets go of a record held by a blocking failure policy:
	// action is "dead-letter" (produce it to the dead-letter topic) or
	// "skip".
	Releaser interface {
		Release(topic string, partition int32, offset int64, action kafkaworker.FailurePolicy) error
	}
)

// api serves the mutations under POST /api/.
type api struct {
	c        *kafkaworker.Consumer
	controls any // what the optional interfaces are looked up on: c, or a test's stand-in
	log      *slog.Logger
	token    string
	readOnly bool
	loopback atomic.Bool // the listener is on loopback: set by Start
	// changed is told each setting changed through the API, as its
	// appsettings.json key under Kafka and its new value, so that the
	// effective configuration the status page shows stays true.
	changed func(key string, value any)
}

// commitTimeout bounds a commit asked for through the API.
const commitTimeout = 30 * time.Second

func (a *api) setLoopback(b bool) { a.loopback.Store(b) }

// mode says how mutations are guarded, for the log and the status page.
func (a *api) mode() string {
	switch {
	case a.readOnly:
		return "off"
	case a.token != "":
		return "token"
	case a.loopback.Load():
		return "open (loopback)"
	}
	return "off"
}

func (a *api) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/pause", a.guard("pause", a.pause))
	mux.HandleFunc("POST /api/resume", a.guard("resume", a.resume))
	mux.HandleFunc("POST /api/commit", a.guard("commit", a.commit))
	mux.HandleFunc("POST /api/max-proc-count", a.guard("max-proc-count", a.maxProcCount))
	mux.HandleFunc("POST /api/max-records-per-second", a.guard("max-records-per-second", a.maxRecordsPerSecond))
	mux.HandleFunc("POST /api/release", a.guard("release", a.release))
}

// request is the JSON body of a mutation; each uses the fields it needs.
type request struct {
	// Partitions to pause or resume; none: all.
	Partitions []kafkaworker.TopicPartition `json:"partitions"`
	// Value for max-proc-count and max-records-per-second.
	Value *float64 `json:"value"`
	// Topic, Partition, Offset and Action for release.
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Action    string `json:"action"`
	// By names who asks, for the log (optional).
	By string `json:"by"`
}

// response is the JSON answer to a mutation.
type response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// errNotImplemented marks an action the consumer does not offer.
var errNotImplemented = errors.New("not offered by this consumer")

// guard checks a mutation's credentials and form, decodes its body and
// logs it with who asked, then runs do. Without the right token it answers
// 401 and changes nothing; with mutations off, 403.
//
// A request must be JSON (Content-Type application/json) and, when the
// browser says where it comes from, from this server's own origin: a page
// on another site then cannot post to a loopback admin server through the
// operator's browser (a cross-origin JSON post needs a CORS preflight, which
// this server never grants).
func (a *api) guard(name string, do func(context.Context, request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case a.readOnly:
			reply(w, http.StatusForbidden, errors.New("mutations are off (KafkaWorker:AdminReadOnly)"))
			return
		case a.token == "" && !a.loopback.Load():
			// Start refuses this configuration; kept as a second lock.
			reply(w, http.StatusForbidden, errors.New("mutations need KafkaWorker:AdminToken on a non-loopback address"))
			return
		case a.token != "" && !tokenMatches(r.Header.Get("Authorization"), a.token):
			w.Header().Set("WWW-Authenticate", `Bearer realm="kafkaworker"`)
			reply(w, http.StatusUnauthorized, errors.New("a valid bearer token is required"))
			a.log.Warn("admin: mutation refused: bad or missing token", "action", name, "remote", r.RemoteAddr)
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			reply(w, http.StatusUnsupportedMediaType, errors.New("send Content-Type: application/json"))
			return
		}
		if !sameOrigin(r) {
			reply(w, http.StatusForbidden, errors.New("cross-origin request"))
			return
		}
		var req request
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			reply(w, http.StatusBadRequest, fmt.Errorf("bad JSON body: %w", err))
			return
		}
		args := []any{"by", req.By, "remote", r.RemoteAddr, "user_agent", r.UserAgent()}
		switch {
		case len(req.Partitions) > 0:
			args = append(args, "partitions", req.Partitions)
		case req.Value != nil:
			args = append(args, "value", *req.Value)
		case req.Topic != "":
			args = append(args, "topic", req.Topic, "partition", req.Partition, "offset", req.Offset, "action", req.Action)
		}
		a.log.Info("admin: "+name, args...)
		err := do(r.Context(), req)
		switch {
		case errors.Is(err, errNotImplemented):
			reply(w, http.StatusNotImplemented, err)
		case errors.Is(err, errBadRequest):
			reply(w, http.StatusBadRequest, err)
		case err != nil:
			a.log.Warn("admin: "+name+" failed", "err", err)
			reply(w, http.StatusInternalServerError, err)
		default:
			reply(w, http.StatusOK, nil)
		}
	}
}

// errBadRequest marks a request whose values are wrong.
var errBadRequest = errors.New("bad request")

func reply(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	resp := response{OK: err == nil}
	if err != nil {
		resp.Error = err.Error()
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// tokenMatches compares "Bearer TOKEN" with the token in constant time
// (hashed first, so that neither the length nor a common prefix shows).
func tokenMatches(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	g, t := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(g[:], t[:]) == 1
}

// sameOrigin reports whether a browser's request comes from this server's
// own pages. Requests that are not from a browser (curl) carry no Origin.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (a *api) pause(_ context.Context, req request) error {
	if len(req.Partitions) == 0 {
		a.c.PauseAll()
	} else {
		a.c.PausePartitions(req.Partitions...)
	}
	return nil
}

func (a *api) resume(_ context.Context, req request) error {
	if len(req.Partitions) == 0 {
		a.c.ResumeAll()
	} else {
		a.c.ResumePartitions(req.Partitions...)
	}
	return nil
}

func (a *api) commit(ctx context.Context, _ request) error {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	return a.c.Commit(ctx)
}

func (a *api) maxProcCount(_ context.Context, req request) error {
	s, ok := a.target().(ProcCountSetter)
	if !ok {
		return fmt.Errorf("changing MaxProcCount at run time is %w", errNotImplemented)
	}
	if req.Value == nil || *req.Value < 1 || *req.Value != float64(int(*req.Value)) {
		return fmt.Errorf("%w: value must be a whole number ≥ 1", errBadRequest)
	}
	s.SetMaxProcCount(int(*req.Value))
	a.changed("MaxProcCount", int(*req.Value))
	return nil
}

func (a *api) maxRecordsPerSecond(_ context.Context, req request) error {
	s, ok := a.target().(RateSetter)
	if !ok {
		return fmt.Errorf("a rate limit (MaxRecordsPerSecond) is %w", errNotImplemented)
	}
	// JSON has no NaN or infinity: a decoded value is finite.
	if req.Value == nil || *req.Value < 0 {
		return fmt.Errorf("%w: value must be ≥ 0 (0: no limit; 0.5: one record every 2 s)", errBadRequest)
	}
	s.SetMaxRecordsPerSecond(*req.Value)
	a.changed("MaxRecordsPerSecond", *req.Value)
	return nil
}

func (a *api) release(_ context.Context, req request) error {
	s, ok := a.target().(Releaser)
	if !ok {
		return fmt.Errorf("releasing a blocked record (FailurePolicy block) is %w", errNotImplemented)
	}
	if req.Topic == "" || (req.Action != "dead-letter" && req.Action != "skip") {
		return fmt.Errorf("%w: topic, partition, offset and action (dead-letter or skip) are required", errBadRequest)
	}
	action := kafkaworker.SkipPolicy
	if req.Action == "dead-letter" {
		action = kafkaworker.DeadLetterPolicy
	}
	return s.Release(req.Topic, req.Partition, req.Offset, action)
}

// target is what the optional controls are looked up on.
func (a *api) target() any {
	if a.controls != nil {
		return a.controls
	}
	return a.c
}

// capabilities says which optional controls the consumer offers, for the
// status page.
func capabilities(target any) map[string]bool {
	_, procs := target.(ProcCountSetter)
	_, rate := target.(RateSetter)
	_, rel := target.(Releaser)
	return map[string]bool{"maxProcCount": procs, "maxRecordsPerSecond": rate, "release": rel}
}
