// Package poll waits, in tests, for an outcome that arrives asynchronously
// and has no event to wait on: an offset committed on the broker, a
// consumer's Stats, a process's output. It checks the condition every few
// milliseconds up to a deadline; the interval only spaces the checks, it
// stands in for no synchronisation.
package poll

import (
	"testing"
	"time"
)

// interval is the pause between checks: short against the deadlines the
// tests use, long enough that a check that asks a broker does not spin.
const interval = 5 * time.Millisecond

// Until calls cond until it returns true, and fails the test if timeout
// passes first, saying that it was waiting for what.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !For(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// For calls cond until it returns true or timeout passes, and reports
// whether cond held; for callers that report the failure themselves.
func For(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
