package contenders

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Tally counts handled records, keeps the clocks and remembers which
// offsets were handled. Count is called by every handler, concurrently;
// Done is closed when the contender should stop: every record handled (a
// full run) or the steady-state window over (a windowed run).
type Tally struct {
	want    int64
	n       atomic.Int64
	created time.Time
	first   atomic.Int64 // UnixNano of the first Start, 0 before it
	end     time.Time
	once    sync.Once
	done    chan struct{}
	stopped atomic.Bool

	// Full runs: the steady state lies between the lo and hi handled
	// marks. Windowed runs: between the window's start and end marks.
	warmup, window time.Duration
	lo, hi         int64
	mu             sync.Mutex
	from, to       mark

	seen       [][]atomic.Uint64 // per partition, a bit per offset below Ends
	dups       atomic.Int64
	handlerNs  atomic.Int64
	handlerCnt atomic.Int64
	commits    commitTally
}

// mark is the state of the run at one instant.
type mark struct {
	at                   time.Time
	n                    int64
	cpu                  time.Duration
	handlerNs, handlerCt int64
	commits              int64
	set                  bool
}

// NewTally starts the start-up clock for the run s describes.
func NewTally(s Spec) *Tally {
	t := &Tally{want: s.Records(), created: time.Now(), done: make(chan struct{}),
		warmup: s.Warmup, window: s.Window}
	t.lo, t.hi = max(t.want/10, 1), max(t.want*9/10, 1)
	t.seen = make([][]atomic.Uint64, len(s.Ends))
	for p, e := range s.Ends {
		t.seen[p] = make([]atomic.Uint64, e/64+1)
	}
	return t
}

// Start records the first record's arrival and, in a windowed run, starts
// the window's clock; later calls do nothing.
func (t *Tally) Start() {
	if t.first.Load() != 0 || !t.first.CompareAndSwap(0, time.Now().UnixNano()) {
		return
	}
	if t.window > 0 {
		go t.runWindow()
	}
}

func (t *Tally) runWindow() {
	select {
	case <-time.After(t.warmup):
	case <-t.done:
		return // the backlog ran out during the warm-up: no window
	}
	t.setMark(&t.from, t.n.Load())
	select {
	case <-time.After(t.window):
	case <-t.done: // the backlog ran out: a short window, reported as such
	}
	t.setMark(&t.to, t.n.Load())
	t.stop()
}

func (t *Tally) setMark(m *mark, n int64) {
	now, cpu := time.Now(), processCPU()
	hns, hct, commits := t.handlerNs.Load(), t.handlerCnt.Load(), t.commits.reqs.Load()
	t.mu.Lock()
	if !m.set {
		*m = mark{at: now, n: n, cpu: cpu, handlerNs: hns, handlerCt: hct, commits: commits, set: true}
	}
	t.mu.Unlock()
}

// Count records one handled record of partition p at offset off.
func (t *Tally) Count(p int32, off int64) {
	n := t.n.Add(1)
	if int(p) < len(t.seen) && off >= 0 && off>>6 < int64(len(t.seen[p])) {
		bit := uint64(1) << (off & 63)
		if t.seen[p][off>>6].Or(bit)&bit != 0 {
			t.dups.Add(1)
		}
	}
	if t.window == 0 {
		switch n {
		case t.lo:
			t.setMark(&t.from, n)
		case t.hi:
			t.setMark(&t.to, n)
		}
	}
	if n == t.want {
		t.stop()
	}
}

// HandlerTime adds one handler call's own measured duration.
func (t *Tally) HandlerTime(d time.Duration) {
	t.handlerNs.Add(int64(d))
	t.handlerCnt.Add(1)
}

func (t *Tally) stop() {
	t.once.Do(func() {
		t.stopped.Store(true)
		close(t.done)
	})
}

// Done is closed when the contender should stop taking new records, drain
// and make its final commit.
func (t *Tally) Done() <-chan struct{} { return t.done }

// Stopped reports whether Done is closed; cheap enough for a per-record
// check in the contenders' own loops.
func (t *Tally) Stopped() bool { return t.stopped.Load() }

// Finish stops the clock: call it when the final commit has returned.
func (t *Tally) Finish() { t.end = time.Now() }

// Result reports the counts, times and the handled offsets.
func (t *Tally) Result() Result {
	r := Result{Handled: t.n.Load(), Dups: t.dups.Load()}
	for _, bits := range t.seen {
		var distinct, prefix int64
		inPrefix := true
		for i := range bits {
			w := bits[i].Load()
			for b := 0; b < 64; b++ {
				if w&(1<<b) != 0 {
					distinct++
					if inPrefix {
						prefix++
					}
				} else {
					inPrefix = false
				}
			}
		}
		r.Prefix, r.Distinct = append(r.Prefix, prefix), append(r.Distinct, distinct)
	}
	first := t.first.Load()
	if first == 0 {
		r.ErrorMsg = "no record handled"
		return r
	}
	start := time.Unix(0, first)
	end := t.end
	if end.IsZero() {
		end = time.Now()
	}
	r.Startup = start.Sub(t.created)
	r.Elapsed = end.Sub(start)
	t.mu.Lock()
	from, to := t.from, t.to
	t.mu.Unlock()
	var steadyCommits int64
	if from.set && to.set {
		steadyCommits = to.commits - from.commits
		r.SteadyN, r.SteadyTime, r.SteadyCPU = to.n-from.n, to.at.Sub(from.at), to.cpu-from.cpu
		if c := to.handlerCt - from.handlerCt; c > 0 {
			r.HandlerMean = time.Duration((to.handlerNs - from.handlerNs) / c)
		}
	}
	r.Commits = t.commitResult(steadyCommits)
	return r
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}
