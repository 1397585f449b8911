package limit

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// feed reports n samples of latency with inflight calls, and returns the
// limit after them.
func feed(a *AIMD, n int, latency time.Duration, inflight int, overload bool) int {
	l := a.Limit()
	for range n {
		l = a.Sample(latency, inflight, overload)
	}
	return l
}

func TestSlowStartThenAdditive(t *testing.T) {
	a := New(4, 1000)
	// Busy windows at a steady latency: doubled each window.
	for _, want := range []int{8, 16, 32, 64} {
		if got := feed(a, max(a.Limit(), 8), 10*time.Millisecond, a.Limit(), false); got != want {
			t.Fatalf("limit %d, want %d", got, want)
		}
	}
	// Latency rises: cut to 90%, and slow start ends.
	if got := feed(a, 64, 20*time.Millisecond, 64, false); got != 57 {
		t.Fatalf("after rising latency: %d, want 57", got)
	}
	// Back to the baseline: one more per window.
	if got := feed(a, 57, 10*time.Millisecond, 57, false); got != 58 {
		t.Fatalf("additive increase: %d, want 58", got)
	}
}

func TestOverloadCutsWhateverTheLatency(t *testing.T) {
	a := New(100, 1000)
	feed(a, 100, time.Millisecond, 100, false)
	l := a.Limit()
	a.Sample(time.Millisecond, l, true)
	if got := feed(a, l-1, time.Millisecond, l, false); got >= l {
		t.Fatalf("a window with a 503 left the limit at %d (was %d)", got, l)
	}
}

func TestIdleLimitDoesNotGrow(t *testing.T) {
	a := New(100, 1000)
	if got := feed(a, 1000, time.Millisecond, 10, false); got != 100 {
		t.Fatalf("limit %d after windows using 10 of 100, want 100", got)
	}
}

func TestSetMax(t *testing.T) {
	a := New(100, 1000)
	a.SetMax(30)
	if a.Limit() != 30 {
		t.Fatalf("limit %d after SetMax(30)", a.Limit())
	}
	if got := feed(a, 1000, time.Millisecond, 30, false); got != 30 {
		t.Fatalf("limit %d grew past the max", got)
	}
}

// Converges under a downstream that queues beyond 100 concurrent calls:
// latency 10 ms up to 100, growing sharply above.
func TestConvergesBelowTheKnee(t *testing.T) {
	a := New(1, 1000)
	lat := func(c int) time.Duration {
		if c <= 100 {
			return 10 * time.Millisecond
		}
		x := float64(c-100) / 20
		return time.Duration(float64(10*time.Millisecond) * (1 + x*x))
	}
	var sum, n int
	for i := range 2000 {
		l := a.Limit()
		a.Sample(lat(l), l, l > 150)
		if i >= 1000 {
			sum += l
			n++
		}
	}
	if avg := sum / n; avg < 85 || avg > 115 {
		t.Fatalf("average limit %d in the steady state, want about 100", avg)
	}
}

// The invariants, on any sequence of samples.
func TestInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxL := rapid.IntRange(1, 2000).Draw(t, "max")
		a := New(rapid.IntRange(-5, 3000).Draw(t, "initial"), maxL)
		for range rapid.IntRange(0, 500).Draw(t, "samples") {
			if rapid.Bool().Draw(t, "setmax") {
				maxL = rapid.IntRange(1, 2000).Draw(t, "newmax")
				a.SetMax(maxL)
			}
			before := a.Limit()
			overload := rapid.Bool().Draw(t, "overload")
			inflight := rapid.IntRange(0, 3000).Draw(t, "inflight")
			l := a.Sample(time.Duration(rapid.IntRange(1, 1e9).Draw(t, "latency")), inflight, overload)
			if l < 1 || l > maxL {
				t.Fatalf("limit %d outside [1, %d]", l, maxL)
			}
			if overload && l > before {
				t.Fatalf("overload raised the limit from %d to %d", before, l)
			}
		}
	})
}

// One overload event cuts once: calls that started before the cut and
// report overload after it do not cut again; one that started after does.
func TestOverloadCutsOncePerEvent(t *testing.T) {
	a := New(100, 1000)
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	a.Sample(10*time.Millisecond, 100, true)
	if a.Limit() != 90 {
		t.Fatalf("limit %d after an overload, want 90", a.Limit())
	}
	now = now.Add(5 * time.Millisecond)
	for range 50 {
		a.Sample(20*time.Millisecond, 100, true) // started before the cut
	}
	if a.Limit() != 90 {
		t.Fatalf("limit %d: calls from before the cut cut again", a.Limit())
	}
	now = now.Add(time.Second)
	a.Sample(10*time.Millisecond, 90, true)
	if a.Limit() != 81 {
		t.Fatalf("limit %d after a second overload, want 81", a.Limit())
	}
}

// A few calls delayed by the machine, not by the downstream (a descheduled
// goroutine, a GC pause), do not cut the limit: the window's slowest eighth
// is left out. Most calls slower is queueing, and cuts it.
func TestFewStragglersDoNotCut(t *testing.T) {
	a := New(64, 1000)
	feed(a, 64, 10*time.Millisecond, 64, false) // slow start: 128
	window := func(slow int, slowLatency time.Duration) int {
		l := a.Limit()
		for i := range l {
			lat := 10 * time.Millisecond
			if slow > 0 && i < windowSample && i%(windowSample/slow) == 0 {
				lat = slowLatency
			}
			a.Sample(lat, l, false)
		}
		return a.Limit()
	}
	// 4 of the first 64 calls 20× slower: a plain mean would be 2.2× the
	// baseline.
	before := a.Limit()
	if got := window(4, 200*time.Millisecond); got < before {
		t.Fatalf("limit cut from %d to %d by 4 stragglers in 64", before, got)
	}
	// Every call twice as slow: cut.
	before = a.Limit()
	if got := feed(a, before, 20*time.Millisecond, before, false); got >= before {
		t.Fatalf("limit %d after a window of doubled latency, was %d", got, before)
	}
}
