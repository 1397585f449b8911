//go:build unix

// cpuTime, for the tests that prove a wait does not spin.

package kafkaworker_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) the whole process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
