package features

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Nine calls of ten records on three connections run in three rounds of
// 5.5 ms each, never more than three at once; in virtual time the figures
// are exact.
func TestStoreQueuesForItsConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore(3)
		start := time.Now()
		var wg sync.WaitGroup
		for range 9 {
			wg.Go(func() { s.Write(10) })
		}
		wg.Wait()
		call := StorePerCall + 10*StorePerRecord
		if got := time.Since(start); got != 3*call {
			t.Fatalf("9 calls on 3 connections took %v, want %v", got, 3*call)
		}
		want := StoreCounts{Calls: 9, Records: 90, Hold: 9 * call}
		if got := s.Counts(); got != want {
			t.Fatalf("counts %+v, want %+v", got, want)
		}
		if got := s.Counts().Sub(StoreCounts{Calls: 4, Records: 40, Hold: 4 * call}); got != (StoreCounts{5, 50, 5 * call}) {
			t.Fatalf("Sub: %+v", got)
		}
	})
}

// The 151st call at once is answered 503 at once; the others take the
// knee's latency.
func TestDownstreamKnee(t *testing.T) {
	for c, want := range map[int]time.Duration{1: 10 * time.Millisecond, 100: 10 * time.Millisecond,
		120: 20 * time.Millisecond, 140: 50 * time.Millisecond} {
		if got := DownstreamLatency(c); got != want {
			t.Errorf("latency at %d calls: %v, want %v", c, got, want)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		var d Downstream
		var wg sync.WaitGroup
		var mu sync.Mutex
		var n503 int
		for range 151 {
			wg.Go(func() {
				if err := d.Call(); errors.Is(err, Err503) {
					mu.Lock()
					n503++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		got := d.Counts()
		// Each call saw the calls started before it and itself: 1 to
		// 151; the 151st was answered 503, the others slept the
		// latency of their count.
		want := DownstreamCounts{Calls: 151, Overloaded: 1}
		for c := 1; c <= 150; c++ {
			want.Answered += DownstreamLatency(c)
		}
		if got != want || n503 != 1 {
			t.Fatalf("151 calls at once: counted %+v, want %+v; %d returned 503", got, want, n503)
		}
	})
}
