package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// point is a moment at which records may become duplicates: the group's
// committed offsets read just before a fault, and whose work the fault
// throws away (victims; nil means every live member's, for faults that
// rebalance everyone). The checker turns it into an estimate: what the
// victims had finished at or above the committed offsets, plus what they
// had in flight.
type point struct {
	at        time.Time
	victims   []int // owner ids
	committed map[int32]int64
	snapErr   error
}

// fault is one injected event, for the report.
type fault struct {
	at, end time.Time
	kind    string
	target  string
	points  []point
	note    string
}

// scheduler injects faults at random, from the run's seed, until stopped.
// Member faults run in its loop; a broker restart and a pause last longer
// and run in the background (one broker down and one member paused at a
// time at most), so the loop keeps injecting meanwhile.
type scheduler struct {
	rng        *rand.Rand
	fl         *fleet
	cl         *cluster
	group      string
	topic      string
	maxMembers int
	minGap     time.Duration
	maxGap     time.Duration
	session    time.Duration // the group's session timeout: a pause outlasts it
	start      time.Time
	// kinds are the faults drawn from, equally likely (a kind listed
	// twice is drawn twice as often); nil: defaultKinds.
	kinds []string

	mu       sync.Mutex
	faults   []*fault
	brokerUp bool // no broker is down or coming back
	noPause  bool // no member is paused
	bg       sync.WaitGroup
}

// Fault kinds.
const (
	faultKill   = "kill"   // SIGKILL a member, restart it
	faultTerm   = "term"   // SIGTERM a member, restart it
	faultAdd    = "add"    // start one more member
	faultRemove = "remove" // SIGTERM a member for good
	faultBroker = "broker" // stop a broker node, restart it
	faultPause  = "pause"  // SIGSTOP a member past the session timeout, SIGCONT
)

// defaultKinds: a kill twice as likely as any other fault.
var defaultKinds = []string{faultKill, faultKill, faultTerm, faultAdd, faultRemove, faultBroker, faultPause}

// run injects faults until stop ends; background faults finish (bounded)
// before it returns. abort cuts everything short (Ctrl-C).
func (s *scheduler) run(stop, abort context.Context) {
	s.brokerUp, s.noPause = true, true
	defer s.bg.Wait()
	for {
		gap := s.minGap + time.Duration(s.rng.Int64N(int64(s.maxGap-s.minGap)+1))
		select {
		case <-stop.Done():
			return
		case <-time.After(gap):
		}
		s.inject(stop, abort)
	}
}

func (s *scheduler) inject(stop, abort context.Context) {
	running := s.fl.running()
	size := s.fl.size()
	s.mu.Lock()
	brokerUp, noPause := s.brokerUp, s.noPause
	s.mu.Unlock()
	// Draw the kind and the target even when the fault is not possible
	// now, so that one seed draws the same sequence of numbers.
	kinds := s.kinds
	if len(kinds) == 0 {
		kinds = defaultKinds
	}
	kind := kinds[s.rng.IntN(len(kinds))]
	pick := s.rng.IntN(1 << 20)
	node := 1 + s.rng.IntN(3)
	extra := time.Duration(s.rng.Int64N(int64(4 * time.Second)))
	switch {
	case kind == faultAdd && size >= s.maxMembers,
		kind == faultRemove && len(running) < 2,
		kind == faultPause && (len(running) < 2 || !noPause),
		kind == faultBroker && !brokerUp,
		(kind == faultKill || kind == faultTerm) && len(running) == 0:
		kind = faultKill
		if len(running) == 0 {
			kind = faultAdd
		}
	}
	if kind == faultAdd && size >= s.maxMembers {
		return
	}
	f := &fault{at: time.Now(), kind: kind}
	var target int
	if len(running) > 0 {
		target = running[pick%len(running)]
	}
	switch kind {
	case faultKill, faultTerm, faultRemove:
		m := s.fl.member(target)
		if m == nil {
			return
		}
		f.target = fmt.Sprintf("slot %d (o%d)", target, m.o.id)
		f.points = append(f.points, s.point(abort, []int{m.o.id}))
		if kind == faultKill {
			if err := s.fl.kill(target); err != nil {
				f.note = err.Error()
			}
		} else if code, err := s.fl.term(target); err != nil || code != 0 {
			f.note = fmt.Sprintf("graceful stop: exit %d %v", code, err)
		}
		if kind != faultRemove {
			time.Sleep(extra / 2)
			f.points = append(f.points, s.point(abort, nil))
			if o, err := s.fl.start(target); err != nil {
				f.note += " restart: " + err.Error()
			} else {
				f.target += fmt.Sprintf(" → o%d", o.id)
			}
		}
	case faultAdd:
		slot := s.freeSlot()
		f.points = append(f.points, s.point(abort, nil))
		o, err := s.fl.start(slot)
		if err != nil {
			f.note = err.Error()
		}
		if o != nil {
			f.target = fmt.Sprintf("slot %d (o%d)", slot, o.id)
		}
	case faultBroker:
		f.target = fmt.Sprintf("node %d", node)
		f.points = append(f.points, s.point(abort, nil))
		s.mu.Lock()
		s.brokerUp = false
		s.mu.Unlock()
		s.bg.Go(func() { s.bounceBroker(abort, f, node, 5*time.Second+2*extra) })
	case faultPause:
		m := s.fl.member(target)
		if m == nil {
			return
		}
		f.target = fmt.Sprintf("slot %d (o%d)", target, m.o.id)
		f.points = append(f.points, s.point(abort, []int{m.o.id}))
		if err := s.fl.pause(target); err != nil {
			f.note = err.Error()
			break
		}
		s.mu.Lock()
		s.noPause = false
		s.mu.Unlock()
		s.bg.Go(func() { s.pauseFor(abort, f, target, s.session+2*time.Second+extra) })
	}
	if kind != faultBroker && kind != faultPause {
		f.end = time.Now()
	}
	for _, p := range f.points {
		if p.snapErr != nil {
			f.note += " committed offsets unreadable (estimate counts every 2xx): " + p.snapErr.Error()
		}
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	fmt.Printf("chaos: +%5.1fs fault %-6s %s %s\n", time.Since(s.start).Seconds(), kind, f.target, f.note)
}

// bounceBroker stops node n, keeps it down for down, and starts it again.
// The end of the fault phase does not cut it short (the drain needs every
// node back); abort does, because the whole cluster is then stopped.
func (s *scheduler) bounceBroker(abort context.Context, f *fault, n int, down time.Duration) {
	defer func() {
		s.mu.Lock()
		s.brokerUp = true
		f.end = time.Now()
		s.mu.Unlock()
	}()
	if err := s.cl.stopNode(abort, n); err != nil {
		s.setNote(f, "stop-node: "+err.Error())
	}
	select {
	case <-abort.Done():
		return
	case <-time.After(down):
	}
	if err := s.cl.startNode(abort, n); err != nil {
		s.setNote(f, "start-node: "+err.Error())
	}
	fmt.Printf("chaos: +%5.1fs node %d back after %.0fs\n", time.Since(s.start).Seconds(), n, time.Since(f.at).Seconds())
}

// pauseFor resumes the paused member after d, or at once on abort.
func (s *scheduler) pauseFor(abort context.Context, f *fault, slot int, d time.Duration) {
	select {
	case <-abort.Done():
	case <-time.After(d):
	}
	if err := s.fl.resume(slot); err != nil {
		s.setNote(f, "resume: "+err.Error())
	}
	s.mu.Lock()
	s.noPause = true
	f.end = time.Now()
	s.mu.Unlock()
}

func (s *scheduler) setNote(f *fault, note string) {
	s.mu.Lock()
	f.note += note + " "
	s.mu.Unlock()
}

// point reads the committed offsets just before a fault, trying three
// times: while a broker is down the group coordinator may be moving.
func (s *scheduler) point(ctx context.Context, victims []int) point {
	p := point{victims: victims}
	for try := 0; try < 3; try++ {
		if p.committed, p.snapErr = s.cl.committed(ctx, s.group, s.topic); p.snapErr == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.at = time.Now()
	return p
}

func (s *scheduler) freeSlot() int {
	for slot := 1; ; slot++ {
		if s.fl.member(slot) == nil {
			return slot
		}
	}
}

// snapshot returns the faults so far; call it once run has returned.
func (s *scheduler) snapshot() []*fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*fault(nil), s.faults...)
}

// newRand returns the scheduler's generator for seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6661756c74)) }
