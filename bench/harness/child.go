package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// Usage is what the kernel accounted to one finished child process.
type Usage struct {
	CPU     time.Duration // user + system
	PeakRSS int64         // bytes (ru_maxrss)
}

// RunChild runs a contender process, parses its result line and reads its
// CPU time and peak RSS from wait4's rusage. Its stderr goes to logw; a
// child that outlives ctx is killed.
func RunChild(ctx context.Context, logw io.Writer, name string, args ...string) (contenders.Result, Usage, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = logw
	err := cmd.Run()
	var u Usage
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.CPU = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
			u.PeakRSS = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	var res contenders.Result
	found := false
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), contenders.ResultPrefix) {
			if r, perr := contenders.ParseResult(sc.Text()); perr == nil {
				res, found = r, true
				break
			}
		}
	}
	if err != nil {
		return res, u, fmt.Errorf("%s: %w", name, err)
	}
	if !found {
		return res, u, fmt.Errorf("%s printed no result line", name)
	}
	return res, u, nil
}
