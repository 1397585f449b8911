package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

func record() *kafkaworker.Record {
	return &kafkaworker.Record{
		Topic: "orders", Partition: 3, Offset: 42, Attempt: 2,
		Key: []byte("order-1"), Value: []byte(`{"id":1}`),
		Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Headers: []kafkaworker.Header{
			{Key: "trace-id", Value: []byte("abc")},
			{Key: "my key", Value: []byte{0xff, 0x00}},
			{Key: "trace-id", Value: []byte("def")},
		},
	}
}

// newHandler serves the handler's requests with fn and closes both at the
// end of the test.
func newHandler(t *testing.T, fn http.HandlerFunc, cfg HTTPConfig) *HTTP {
	t.Helper()
	srv := httptest.NewServer(fn)
	cfg.URL = srv.URL + "/ingest"
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h
}

func TestHTTPSendsRecord(t *testing.T) {
	var got *http.Request
	var body []byte
	h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}, HTTPConfig{})
	if err := h.Handle(context.Background(), record()); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/ingest" {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	if string(body) != `{"id":1}` {
		t.Errorf("body %q", body)
	}
	want := map[string][]string{
		"X-Kafka-Topic":           {"orders"},
		"X-Kafka-Partition":       {"3"},
		"X-Kafka-Offset":          {"42"},
		"X-Kafka-Attempt":         {"2"},
		"X-Kafka-Timestamp":       {"2025-01-02T03:04:05Z"},
		"X-Kafka-Key":             {"order-1"},
		"X-Kafka-Key-Encoding":    {"utf-8"},
		"X-Kafka-Header-Trace-Id": {"abc", "def"},
		"X-Kafka-Header-My%20key": {base64.StdEncoding.EncodeToString([]byte{0xff, 0x00})},
		"X-Kafka-Base64-Headers":  {"my%20key"},
		"X-Kafka-Tombstone":       nil,
		"Content-Type":            {"application/octet-stream"},
	}
	for k, v := range want {
		if g := got.Header.Values(k); !slices.Equal(g, v) {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

func TestHTTPBinaryKeyAndTombstone(t *testing.T) {
	var got http.Header
	var n int64
	h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		got, n = r.Header, r.ContentLength
	}, HTTPConfig{})
	r := &kafkaworker.Record{Topic: "t", Key: []byte{0xc3, 0x28}}
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Kafka-Key") != base64.StdEncoding.EncodeToString(r.Key) || got.Get("X-Kafka-Key-Encoding") != "base64" {
		t.Errorf("key %q encoding %q", got.Get("X-Kafka-Key"), got.Get("X-Kafka-Key-Encoding"))
	}
	if got.Get("X-Kafka-Tombstone") != "true" || n != 0 {
		t.Errorf("tombstone %q, content length %d", got.Get("X-Kafka-Tombstone"), n)
	}
	// No key: no key headers.
	if err := h.Handle(context.Background(), &kafkaworker.Record{Topic: "t", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["X-Kafka-Key"]; ok {
		t.Error("X-Kafka-Key sent for a record without a key")
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code      int
		ok        bool
		rejected  bool
		retryable bool
	}{
		{code: 200, ok: true},
		{code: 201, ok: true},
		{code: 204, ok: true},
		{code: 301, rejected: true}, // not followed: it would drop the body
		{code: 302, rejected: true},
		{code: 400, rejected: true},
		{code: 404, rejected: true},
		{code: 409, rejected: true},
		{code: 422, rejected: true},
		{code: 408, retryable: true},
		{code: 429, retryable: true},
		{code: 500, retryable: true},
		{code: 503, retryable: true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.code >= 300 && tt.code < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, "why: "+strings.Repeat("x", 1000))
			}, HTTPConfig{})
			err := h.Handle(context.Background(), record())
			if tt.ok {
				if err != nil {
					t.Fatalf("Handle: %v", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("err = %v, want a StatusError %d", err, tt.code)
			}
			if errors.Is(err, ErrRejected) != tt.rejected || se.Retryable != tt.retryable {
				t.Errorf("err %v: rejected %v retryable %v", err, errors.Is(err, ErrRejected), se.Retryable)
			}
			if !strings.HasPrefix(se.Body, "why: ") || len(se.Body) != snippetLen {
				t.Errorf("body snippet %q", se.Body)
			}
		})
	}
}

func TestHTTPConnectionErrorIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h, err := NewHTTP(HTTPConfig{URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Handle(context.Background(), record())
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want a connection error that is not a rejection", err)
	}
}

// TestHTTPTimeout: the endpoint holds the request until the handler's
// timeout ends it; the timeout is an error to retry.
func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, HTTPConfig{Timeout: 50 * time.Millisecond})
	defer close(release)
	err := h.Handle(context.Background(), record())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

// TestHTTPHonoursContext: cancelling ctx ends a POST the endpoint never
// answers.
func TestHTTPHonoursContext(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, HTTPConfig{Timeout: time.Hour})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	if err := h.Handle(ctx, record()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestHTTPReusesConnections: with bodies drained and closed, MaxConns
// concurrent callers, many times over, use no more than MaxConns
// connections.
func TestHTTPReusesConnections(t *testing.T) {
	const conns, callers, calls = 4, 4, 25
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok, and a body the client must read to reuse the connection")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{URL: srv.URL, MaxConns: conns})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				if err := h.Handle(context.Background(), record()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := opened.Load(); n > conns {
		t.Errorf("%d connections opened for %d callers, want at most %d", n, callers, conns)
	}
}

func TestNewHTTPRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://host/", "http://"} {
		if _, err := NewHTTP(HTTPConfig{URL: u}); err == nil {
			t.Errorf("NewHTTP(%q) succeeded", u)
		}
	}
}

func TestHeaderName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"trace-id", "trace-id"},
		{"my key", "my%20key"},
		{"100%", "100%25"},
		{"a:b", "a%3Ab"},
		{"ü", "%C3%BC"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := headerName(tt.in); got != tt.want {
			t.Errorf("headerName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"abc", true},
		{"ünïcode", true},
		{"", true},
		{"a\r\nX-Evil: 1", false},
		{"tab\t", false},
		{" padded", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := printable([]byte(tt.in)); got != tt.want {
			t.Errorf("printable(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A 429 or 503 with Retry-After is a kafkaworker.RetryAfter with its delay,
// wrapping the StatusError; without the header, or on another status, it is
// not.
func TestHTTPRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		code   int
		header string
		want   time.Duration // -1: not a RetryAfter
	}{
		{http.StatusTooManyRequests, "2", 2 * time.Second},
		{http.StatusServiceUnavailable, "0", 0},
		{http.StatusServiceUnavailable, "", -1},
		{http.StatusTooManyRequests, "soon", -1},
		{http.StatusInternalServerError, "5", -1},
	} {
		h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
			if tt.header != "" {
				w.Header().Set("Retry-After", tt.header)
			}
			w.WriteHeader(tt.code)
		}, HTTPConfig{})
		err := h.Handle(context.Background(), record())
		var ra *kafkaworker.RetryAfterError
		var se *StatusError
		switch {
		case !errors.As(err, &se) || se.Code != tt.code:
			t.Errorf("%d %q: %v, want a StatusError", tt.code, tt.header, err)
		case tt.want < 0 && errors.As(err, &ra):
			t.Errorf("%d %q: %v, want no RetryAfter", tt.code, tt.header, err)
		case kafkaworker.IsOverloaded(err) != (tt.code != http.StatusInternalServerError):
			t.Errorf("%d %q: %v: IsOverloaded %t", tt.code, tt.header, err, kafkaworker.IsOverloaded(err))
		case tt.want >= 0 && (!errors.As(err, &ra) || ra.Delay != tt.want):
			t.Errorf("%d %q: %v, want RetryAfter %s", tt.code, tt.header, err, tt.want)
		}
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if d, ok := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); !ok || d != 90*time.Second {
		t.Fatalf("date 90 s ahead: %s %v", d, ok)
	}
	if d, ok := parseRetryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now); !ok || d != 0 {
		t.Fatalf("date in the past: %s %v", d, ok)
	}
}

// A batch is one POST of a JSON array; a 2xx body listing failed indexes
// is a BatchError, an empty one success, a 503 with Retry-After a
// RetryAfter.
func TestHTTPBatch(t *testing.T) {
	var got []map[string]any
	var size string
	answer := func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }
	h := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		size = r.Header.Get("X-Kafka-Batch-Size")
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		got = nil
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		answer(w)
	}, HTTPConfig{})
	a, b := record(), record()
	b.Offset, b.Key, b.Value, b.Attempt = 43, nil, []byte{0xff}, 0
	if err := h.HandleBatch(context.Background(), []*kafkaworker.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	if size != "2" || len(got) != 2 || got[0]["offset"] != 42.0 || got[0]["value"] != `{"id":1}` || got[0]["attempt"] != 2.0 ||
		got[1]["key"] != nil || got[1]["value_encoding"] != "base64" || got[1]["attempt"] != 1.0 {
		t.Fatalf("size %s, body %v", size, got)
	}
	answer = func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"failed":[{"index":1,"error":"duplicate key"}]}`)
	}
	err := h.HandleBatch(context.Background(), []*kafkaworker.Record{a, b})
	var be *kafkaworker.BatchError
	if !errors.As(err, &be) || len(be.Errs) != 1 || be.Errs[1] == nil || be.Errs[1].Error() != "duplicate key" {
		t.Fatalf("%v, want a BatchError for index 1", err)
	}
	answer = func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	var ra *kafkaworker.RetryAfterError
	if err := h.HandleBatch(context.Background(), []*kafkaworker.Record{a}); !errors.As(err, &ra) || ra.Delay != 3*time.Second {
		t.Fatalf("%v, want RetryAfter 3s", err)
	}
}
