package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Pid returns the pid of the broker's JVM (node 1) from the state
// directory's pid file, which kafka.sh writes whether or not kwbench
// started the broker; 0 when there is none.
func (b Broker) Pid() int {
	raw, err := os.ReadFile(filepath.Join(b.StateDir, "node-1.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || ProcessCPU(pid) < 0 {
		return 0
	}
	return pid
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go supports (the kernel's ABI, whatever CONFIG_HZ is).
const clockTicks = 100

// ProcessCPU is the user+system CPU time pid has used so far, from
// /proc/<pid>/stat (10 ms resolution), or -1 if it cannot be read. The
// broker's CPU over a run is the difference of two readings: every request
// the contender sends (fetches, commits, heartbeats) is served inside it.
func ProcessCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15, so the 12th and 13th after it.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}
