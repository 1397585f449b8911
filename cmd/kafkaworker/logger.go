package main

import (
	"io"
	"log/slog"
	"sync"

	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/settings"
)

// newLogger returns the service's logger: text or JSON on stderr, so that
// stdout carries only records (the stdout handler). The level was checked
// by settings.Load.
func newLogger(w io.Writer, svc settings.Service) *slog.Logger {
	level, _ := settings.ParseLevel(svc.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if svc.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// lockedWriter serialises writes to w: the logger, the signal watcher and
// the consumer's goroutines all write to stderr, and a test's buffer is not
// safe for that. It is safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
