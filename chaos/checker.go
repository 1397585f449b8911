package main

import (
	"cmp"
	"fmt"
	"slices"
)

// verdict is what the checker found. lost > 0, orderViolations > 0 or a
// run that did not drain fail the run; duplicates are expected (at-least-
// once) and compared with the per-fault estimate.
type verdict struct {
	produced, acked, unacked int
	attempts, successes      int
	injected, cancelled, bad int
	handled                  int // distinct acknowledged records handled with a 2xx
	lost                     int
	duplicates               int // 2xx answers beyond the first, per record
	mismatched               int // a 2xx for an offset whose key/seq differ from what was produced
	overlaps, regressions    int
	samples                  []string      // a few of each problem, for the report
	strays                   map[stray]int // unattributed duplicates, grouped
	estimates                []int         // per fault: duplicates it may cause
	bound                    int           // sum of estimates
	// attributed: per fault, the duplicates it caused (see attribute);
	// unattributed: the others.
	attributed   []int
	unattributed int
}

func (v *verdict) orderViolations() int { return v.overlaps + v.regressions }

func (v *verdict) sample(format string, args ...any) {
	if len(v.samples) < 30 {
		v.samples = append(v.samples, fmt.Sprintf(format, args...))
	}
}

// check compares what was produced with what the recorder saw. It is
// independent of the consumers: it trusts only the producer's
// acknowledgements, the recorder's answers and the members' logs.
func check(recs []produced, events []event, owners []*owner, faults []*fault, order bool) *verdict {
	v := &verdict{produced: len(recs)}
	byOffset := map[int32]map[int64]int32{} // partition → offset → index in recs
	for i, r := range recs {
		if !r.acked {
			v.unacked++
			continue
		}
		v.acked++
		if byOffset[r.partition] == nil {
			byOffset[r.partition] = map[int64]int32{}
		}
		byOffset[r.partition][r.offset] = int32(i)
	}
	type po struct {
		p int16
		o int64
	}
	ok := map[po]int{}
	v.attempts = len(events)
	for _, e := range events {
		switch e.status {
		case statusOK:
			v.successes++
			ok[po{e.partition, e.offset}]++
			if i, found := byOffset[int32(e.partition)][e.offset]; found && (recs[i].key != e.key || recs[i].seq != e.seq) {
				v.mismatched++
				v.sample("mismatch: p%d@%d produced k%d#%d, handled k%d#%d", e.partition, e.offset, recs[i].key, recs[i].seq, e.key, e.seq)
			}
		case statusInjected:
			v.injected++
		case statusCancelled:
			v.cancelled++
		default:
			v.bad++
		}
	}
	for _, n := range ok {
		v.duplicates += n - 1
	}
	v.attributed, v.unattributed, v.strays = attribute(events, faults)
	for _, r := range recs {
		if !r.acked {
			continue
		}
		if ok[po{int16(r.partition), r.offset}] == 0 {
			v.lost++
			v.sample("lost: p%d@%d k%d#%d acknowledged, never answered 2xx", r.partition, r.offset, r.key, r.seq)
		} else {
			v.handled++
		}
	}
	if order {
		checkOrder(v, events, owners)
	}
	for _, f := range faults {
		n := 0
		for _, p := range f.points {
			n += estimate(events, p)
		}
		v.estimates = append(v.estimates, n)
		v.bound += n
	}
	return v
}

// checkOrder applies the key-order rules to each owner's attempts of each
// key, sorted by start:
//
//   - overlap: an attempt starts before the owner's previous attempt of the
//     same key has ended (ended: answered, or abandoned by the client);
//   - regression: an attempt carries a lower sequence number than the
//     owner's previous attempt of the key, with no interruption of the
//     owner's ownership in between (a group event in its log, or a
//     SIGSTOP/SIGCONT). After an interruption the new assignment starts from
//     the committed offset and replays legitimately.
//
// Equal sequence numbers are retries of one record and are allowed.
func checkOrder(v *verdict, events []event, owners []*owner) {
	idx := make([]int32, 0, len(events))
	for i, e := range events {
		if e.status != statusBad {
			idx = append(idx, int32(i))
		}
	}
	slices.SortFunc(idx, func(a, b int32) int {
		x, y := &events[a], &events[b]
		return cmp.Or(cmp.Compare(x.owner, y.owner), cmp.Compare(x.key, y.key), cmp.Compare(x.start, y.start))
	})
	markers := make(map[int32][]int64, len(owners))
	for _, o := range owners {
		o.mu.Lock()
		m := slices.Clone(o.markers)
		o.mu.Unlock()
		slices.Sort(m)
		markers[int32(o.id)] = m
	}
	for j := 1; j < len(idx); j++ {
		a, b := &events[idx[j-1]], &events[idx[j]]
		if a.owner != b.owner || a.key != b.key {
			continue
		}
		if b.start < a.end {
			v.overlaps++
			v.sample("overlap: o%d k%d: #%d (p%d@%d) started %.3fms before #%d (p%d@%d) ended", b.owner, b.key, b.seq, b.partition, b.offset, float64(a.end-b.start)/1e6, a.seq, a.partition, a.offset)
		}
		if b.seq < a.seq && !interrupted(markers[b.owner], a.start, b.start) {
			v.regressions++
			v.sample("regression: o%d k%d: #%d (p%d@%d) after #%d (p%d@%d) with no group event between", b.owner, b.key, b.seq, b.partition, b.offset, a.seq, a.partition, a.offset)
		}
	}
}

// interrupted reports whether a marker lies in (from, to].
func interrupted(markers []int64, from, to int64) bool {
	i, _ := slices.BinarySearch(markers, from+1)
	return i < len(markers) && markers[i] <= to
}

// estimate counts the work a fault at p may throw away: the victims'
// records answered 2xx by p.at at or above the committed offset read just
// before (finished but not committed), plus their attempts in flight at
// p.at. A failed snapshot counts every earlier success: an overestimate.
func estimate(events []event, p point) int {
	victim := func(int32) bool { return true }
	if p.victims != nil {
		victim = func(o int32) bool { return slices.Contains(p.victims, int(o)) }
	}
	at := p.at.UnixNano()
	n := 0
	for _, e := range events {
		if !victim(e.owner) {
			continue
		}
		switch {
		case e.start <= at && at < e.end:
			n++
		case e.status == statusOK && e.end <= at:
			c, found := p.committed[int32(e.partition)]
			if !found || e.offset >= c {
				n++
			}
		}
	}
	return n
}

// attribute assigns each duplicate to a fault: a record's 2xx answers in
// order of start; each one after the first is a duplicate of the one
// before, whose owner's work was thrown away by the first fault that struck
// that owner (it is among the fault's victims, or the fault strikes every
// member) between the earlier answer's start and the duplicate's start.
// Duplicates with no such fault (a rebalance's revoke timing out, a
// zombie's late answer) are unattributed.
func attribute(events []event, faults []*fault) (per []int, none int, strays map[stray]int) {
	per = make([]int, len(faults))
	strays = map[stray]int{}
	type po struct {
		p int16
		o int64
	}
	oks := map[po][]int32{}
	for i, e := range events {
		if e.status == statusOK {
			k := po{e.partition, e.offset}
			oks[k] = append(oks[k], int32(i))
		}
	}
	strikes := func(f *fault, owner int32) bool {
		for _, p := range f.points {
			if p.victims == nil || slices.Contains(p.victims, int(owner)) {
				return true
			}
		}
		return false
	}
	for _, idx := range oks {
		if len(idx) < 2 {
			continue
		}
		slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(events[a].start, events[b].start) })
		for j := 1; j < len(idx); j++ {
			prev, dup := &events[idx[j-1]], &events[idx[j]]
			found := false
			for i, f := range faults {
				at := f.at.UnixNano()
				if at >= prev.start && at <= dup.start && strikes(f, prev.owner) {
					per[i]++
					found = true
					break
				}
			}
			if !found {
				none++
				strays[stray{from: prev.owner, to: dup.owner, second: dup.start / 1e9}]++
			}
		}
	}
	return per, none, strays
}

// stray groups unattributed duplicates: the owner of the answer before,
// the owner of the duplicate and the second (Unix) it started, so that the
// report can show where they come from.
type stray struct {
	from, to int32
	second   int64
}
