package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kafkaworker/kafkaworker"
)

// Stdout is a kafkaworker.Handler that writes each record to an io.Writer
// as one JSON line:
//
//	{"topic":"orders","partition":0,"offset":42,"timestamp":"2025-01-02T03:04:05Z",
//	 "key":"k","value":"{\"id\":1}","headers":[{"key":"trace","value":"abc"}]}
//
// key and value are strings when they are valid UTF-8, and base64 with
// "key_encoding"/"value_encoding": "base64" otherwise; a nil key or value
// is null. Lines from concurrent calls never interleave.
//
// Stdout is safe for concurrent use.
type Stdout struct {
	mu sync.Mutex // serialises writes to w
	w  io.Writer
}

// NewStdout returns a handler writing to w (typically os.Stdout; the
// binary logs to stderr, so stdout carries nothing but records).
func NewStdout(w io.Writer) *Stdout { return &Stdout{w: w} }

type line struct {
	Topic         string    `json:"topic"`
	Partition     int32     `json:"partition"`
	Offset        int64     `json:"offset"`
	Timestamp     time.Time `json:"timestamp,omitzero"`
	Key           *string   `json:"key"`
	KeyEncoding   string    `json:"key_encoding,omitempty"`
	Value         *string   `json:"value"`
	ValueEncoding string    `json:"value_encoding,omitempty"`
	Headers       []header  `json:"headers,omitempty"`
	Attempt       int       `json:"attempt,omitempty"` // batches only: 1, then 2, … on retries
}

type header struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
}

// Handle writes r. It encodes before taking the lock, so the lock is held
// only for one Write, and returns the writer's error, which the consumer
// retries. ctx is not consulted: a write to a pipe is not cancellable.
func (s *Stdout) Handle(_ context.Context, r *kafkaworker.Record) error {
	b, err := json.Marshal(toLine(r))
	if err != nil {
		return fmt.Errorf("stdout handler: %w", err)
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("stdout handler: %w", err)
	}
	return nil
}

// toLine is r in the JSON form of the stdout handler and of the http
// handler's batches.
func toLine(r *kafkaworker.Record) line {
	l := line{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp}
	l.Key, l.KeyEncoding = jsonText(r.Key)
	l.Value, l.ValueEncoding = jsonText(r.Value)
	for _, h := range r.Headers {
		v, enc := jsonText(h.Value)
		hh := header{Key: h.Key, Encoding: enc}
		if v != nil {
			hh.Value = *v
		}
		l.Headers = append(l.Headers, hh)
	}
	return l
}

// jsonText returns b as a JSON string: nil for nil, the text itself when it
// is valid UTF-8 (JSON escapes control characters), base64 otherwise, with
// the encoding's name ("" for text, so that the common case stays short).
func jsonText(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	s, enc := encode(b, utf8.Valid)
	if enc == utf8Enc {
		enc = ""
	}
	return &s, enc
}
