package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
)

// seedConfig is the seed's appsettings.json, unchanged.
const seedConfig = "testdata/appsettings.seed.json"

// syncBuffer is a buffer the program under test writes while the test
// reads it. lines, if set, receives a value at each newline written.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	lines chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines != nil {
		for range bytes.Count(p, []byte("\n")) {
			select {
			case s.lines <- struct{}{}:
			default: // the test has seen all it waits for
			}
		}
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one in-process run of the program produced.
type result struct {
	code           int
	stdout, stderr string
}

// runArgs runs the program with args, as main would, and returns its exit
// status and output.
func runArgs(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(context.Background(), args, &stdout, &stderr)
	t.Logf("kafkaworker %s → %d\nstderr:\n%s", strings.Join(args, " "), code, stderr.String())
	return result{code, stdout.String(), stderr.String()}
}
