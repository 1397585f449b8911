package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// HTTPConfig configures an HTTP handler.
type HTTPConfig struct {
	// URL receives one POST per record.
	URL string
	// Timeout bounds one POST, from dial to the end of the response body.
	// Default 30s.
	Timeout time.Duration
	// MaxConns sizes the connection pool: pass Config.MaxProcCount, the
	// most POSTs that can be in flight, so that each has a kept-alive
	// connection and none waits for one. Default 50.
	MaxConns int
	// Transport replaces the pooled transport (tests); MaxConns is then
	// not applied.
	Transport http.RoundTripper
}

// HTTP is a kafkaworker.Handler that POSTs each record to a URL:
//
//	body                      the record's value (X-Kafka-Tombstone: true when it is nil)
//	X-Kafka-Topic             topic
//	X-Kafka-Partition         partition
//	X-Kafka-Offset            offset
//	X-Kafka-Timestamp         timestamp, RFC 3339
//	X-Kafka-Attempt           1, then 2, … on retries
//	X-Kafka-Key               key, absent when the record has none
//	X-Kafka-Key-Encoding      utf-8, or base64 when the key is not printable UTF-8
//	X-Kafka-Header-<name>     each record header; a repeated header repeats
//	X-Kafka-Base64-Headers    the <name>s (compare them case-insensitively) whose values are base64, being binary
//
// HTTP header names are case-insensitive and restricted to token
// characters, so header names are canonicalised and other bytes
// percent-encoded (X-Kafka-Header-My%20Name).
//
// A 2xx answer marks the record done. 408, 429, 5xx, timeouts and
// connection errors return an error to retry; other answers return a
// *StatusError wrapping ErrRejected. A 429 or 503 with a Retry-After header
// (seconds or an HTTP date) returns kafkaworker.RetryAfter: the consumer
// then starts no record for that long, instead of retrying at once, and
// the attempt uses up no retry. Without Retry-After it returns
// kafkaworker.Overloaded, which cuts an adaptive concurrency limit. Redirects are not followed: a 301, 302
// or 303 would turn the POST into a GET and lose the body.
//
// HTTP is safe for concurrent use.
type HTTP struct {
	url     string
	client  *http.Client
	timeout time.Duration
}

// Defaults for zero HTTPConfig fields.
const (
	DefaultHTTPTimeout = 30 * time.Second
	DefaultMaxConns    = kafkaworker.DefaultMaxProcCount
)

// NewHTTP checks the URL and builds the handler with its connection pool.
func NewHTTP(c HTTPConfig) (*HTTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http handler: URL must be an absolute http:// or https:// URL")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultHTTPTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	rt := c.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Without these, Go keeps 2 idle connections per host: at
		// MaxProcCount 200 most POSTs would open a new connection and
		// leave it in TIME_WAIT.
		t.MaxIdleConns = c.MaxConns
		t.MaxIdleConnsPerHost = c.MaxConns
		t.MaxConnsPerHost = c.MaxConns
		rt = t
	}
	return &HTTP{
		url:     c.URL,
		timeout: c.Timeout,
		client: &http.Client{
			Transport: rt,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// Handle POSTs r and waits for the answer, for at most the Timeout. It
// returns early with ctx's error when ctx ends.
func (h *HTTP) Handle(ctx context.Context, r *kafkaworker.Record) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(r.Value))
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	setHeaders(req.Header, r)
	resp, err := h.client.Do(req)
	if err != nil {
		// *url.Error, password stripped: a timeout, a refused
		// connection, or ctx ending. All are worth retrying.
		return fmt.Errorf("http handler: %w", err)
	}
	snippet, err := drain(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The endpoint has accepted the record; a broken body after the
		// status does not change that.
		return nil
	}
	if err != nil && snippet == "" {
		snippet = "(body unreadable: " + err.Error() + ")"
	}
	return statusError(resp, snippet)
}

// statusError turns an answer other than 2xx into the error the consumer
// acts on: RetryAfter for a 429 or 503 with Retry-After, Overloaded for one
// without, a *StatusError otherwise.
func statusError(resp *http.Response, snippet string) error {
	se := &StatusError{Code: resp.StatusCode, Body: snippet, Retryable: retryableStatus(resp.StatusCode)}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			// The endpoint said when to come back: the consumer holds
			// all dispatch until then instead of retrying at once.
			return kafkaworker.RetryAfter(d, se)
		}
		// Overloaded without saying for how long: retried with the
		// usual backoff, and an adaptive limit is cut.
		return kafkaworker.Overloaded(se)
	}
	return se
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110, 10.2.3). A date in the past is a delay of 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Close closes the idle connections of the pool. In-flight calls are not
// affected.
func (h *HTTP) Close() { h.client.CloseIdleConnections() }

// Body limits: what an error message quotes, and what is read to let the
// connection be reused; a longer body costs a new connection instead.
const (
	snippetLen = 256
	drainLen   = 64 << 10
)

// drain reads and closes the body, returning its start for error messages.
// Reading it to the end is what lets the transport reuse the connection.
func drain(body io.ReadCloser) (string, error) {
	defer body.Close()
	buf := make([]byte, snippetLen)
	n, err := io.ReadFull(body, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return string(buf[:n]), nil
	}
	if err != nil {
		return string(buf[:n]), err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(body, drainLen))
	return string(buf[:n]), err
}

func setHeaders(hd http.Header, r *kafkaworker.Record) {
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("X-Kafka-Topic", r.Topic)
	hd.Set("X-Kafka-Partition", strconv.FormatInt(int64(r.Partition), 10))
	hd.Set("X-Kafka-Offset", strconv.FormatInt(r.Offset, 10))
	if !r.Timestamp.IsZero() {
		hd.Set("X-Kafka-Timestamp", r.Timestamp.Format(time.RFC3339Nano))
	}
	if r.Attempt > 0 {
		hd.Set("X-Kafka-Attempt", strconv.Itoa(r.Attempt))
	}
	if r.Value == nil {
		hd.Set("X-Kafka-Tombstone", "true")
	}
	if r.Key != nil {
		v, enc := encode(r.Key, printable)
		hd.Set("X-Kafka-Key", v)
		hd.Set("X-Kafka-Key-Encoding", enc)
	}
	// A name is base64 for all its values or none, so that
	// X-Kafka-Base64-Headers is unambiguous for a repeated header.
	binary := map[string]bool{}
	var binaryNames []string
	for _, h := range r.Headers {
		if name := headerName(h.Key); !printable(h.Value) && !binary[name] {
			binary[name] = true
			binaryNames = append(binaryNames, name)
		}
	}
	for _, h := range r.Headers {
		name := headerName(h.Key)
		v := string(h.Value)
		if binary[name] {
			v = base64.StdEncoding.EncodeToString(h.Value)
		}
		hd.Add("X-Kafka-Header-"+name, v)
	}
	for _, name := range binaryNames {
		hd.Add("X-Kafka-Base64-Headers", name)
	}
}
