package demo

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

const (
	// lineEvery paces the rewritten progress line on a terminal.
	lineEvery = 200 * time.Millisecond
	// logEvery paces progress log lines when stdout is not a terminal, so
	// that a CI log stays readable.
	logEvery = 2 * time.Second
)

// progress shows how a run is going: a single line rewritten in place on a
// terminal, a log line now and then otherwise. It is used by one goroutine.
type progress struct {
	w        io.Writer // the terminal, or nil to log instead
	log      *slog.Logger
	total    int64
	every    time.Duration
	last     time.Time
	lastDone int64
	drawn    bool // a line is on the terminal and needs a newline
}

func newProgress(stdout io.Writer, log *slog.Logger, total int) *progress {
	p := &progress{log: log, total: int64(total), every: logEvery, last: time.Now()}
	if isTerminal(stdout) {
		p.w, p.every = stdout, lineEvery
	}
	return p
}

// update shows the figures if the last showing is old enough.
func (p *progress) update(now time.Time, processed int64, inFlight int, committed int64) {
	elapsed := now.Sub(p.last)
	if elapsed < p.every {
		return
	}
	rate := float64(processed-p.lastDone) / elapsed.Seconds()
	p.last, p.lastDone = now, processed
	if p.w == nil {
		p.log.Info("progress", "records_per_s", int64(rate), "processed", processed, "total", p.total,
			"in_flight", inFlight, "committed", committed)
		return
	}
	// \x1b[K clears what a longer previous line left behind.
	fmt.Fprintf(p.w, "\r%s rec/s  processed %s/%s  in flight %d  committed %s\x1b[K",
		count(int64(rate)), count(processed), count(p.total), inFlight, count(committed))
	p.drawn = true
}

// finish ends the progress line so that what follows starts on its own.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// isTerminal reports whether w is a character device, such as a terminal.
// golang.org/x/term is not among the module's dependencies, and this is all
// the demo needs to know.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
