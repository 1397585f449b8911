package features

import (
	"strings"
	"testing"
	"time"
)

// runAt makes a finished run of s at rate records/s over window.
func runAt(s Spec, rate float64, window time.Duration) Run {
	r := Run{Spec: s}
	r.Res.SteadyTime, r.Res.SteadyN = window, int64(rate*window.Seconds())
	return r
}

// The verdicts follow the thresholds: 10×, 5%, 90% and 1%.
func TestTargets(t *testing.T) {
	w := 20 * time.Second
	poison := Spec{Scenario: StoreBatch, Conns: 8, DeadLetterTopic: "dlt"}
	knee := func(mpc int, adaptive bool) Spec { return Spec{Scenario: Knee, MPC: mpc, Adaptive: adaptive} }
	adaptive := runAt(knee(1000, true), 8_900, w)
	adaptive.Res.Calls, adaptive.Res.Calls503 = 1000, 11 // 1.1%
	runs := []Run{
		runAt(Spec{Scenario: StoreSingle, Conns: 8}, 1_000, w),
		runAt(Spec{Scenario: StoreBatch, Conns: 8}, 10_000, w), // exactly 10×
		runAt(Spec{Scenario: StoreSingle, Conns: 1}, 1_000, w),
		runAt(Spec{Scenario: StoreBatch, Conns: 1}, 9_990, w),
		{Spec: poison, DeadLetters: &DeadLetterCheck{Poison: 2, DeadLetters: 2}},
		runAt(Spec{Scenario: RateLimit, RatePerSecond: 5000}, 5_260, 30*time.Second), // 5.2% off
		runAt(knee(100, false), 10_000, w),
		runAt(knee(1000, false), 2_000, w),
		adaptive,
	}
	got := strings.Join(Targets(runs), "\n")
	for _, want := range []string{
		"**PASS** BatchHandler ≥ 10× the single-record Handler at MaxProcCount 1000, pooled store",
		"**MISS** BatchHandler ≥ 10× the single-record Handler at MaxProcCount 1000, serialising store",
		"**NOT MEASURED** key order checks", // no order reports: nothing checked
		"**PASS** 0.1% poison records",
		"**MISS** MaxRecordsPerSecond 5,000",
		"**MISS** AdaptiveConcurrency, MaxProcCount 1000: ≥ 90% of the best fixed setting and ≤ 1% of calls answered 503: 89.0% and 1.10%",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("targets lack %q:\n%s", want, got)
		}
	}
	// Under 1% of 503s and at 89% of the best: still a miss; at 90%: a pass.
	for rate, verdict := range map[float64]string{8_900: "**MISS**", 9_000: "**PASS**"} {
		a := runAt(knee(1000, true), rate, w)
		a.Res.Calls, a.Res.Calls503 = 1000, 10
		runs[len(runs)-1] = a
		if got := Targets(runs); !strings.HasPrefix(got[len(got)-1], verdict) {
			t.Errorf("adaptive at %.0f of 10,000 rec/s, 1%% 503s: %s", rate, got[len(got)-1])
		}
	}
	// Each repetition is judged against its own best fixed row: 89% in
	// one and 96% in a slower one give a median of 92.5%.
	a1 := runAt(knee(1000, true), 8_900, w)
	a1.Res.Calls = 1000
	f2 := runAt(knee(100, false), 5_000, w)
	a2 := runAt(knee(1000, true), 4_800, w)
	a2.Res.Calls = 1000
	f2.Spec.Rep, a2.Spec.Rep = 1, 1
	runs[len(runs)-1] = a1
	runs = append(runs, f2, a2)
	if got := Targets(runs); !strings.HasPrefix(got[len(got)-1], "**PASS** AdaptiveConcurrency, MaxProcCount 1000: ≥ 90% of the best fixed setting and ≤ 1% of calls answered 503: 92.5% and 0.00% (medians of 2") {
		t.Errorf("two repetitions: %s", got[len(got)-1])
	}
}

func TestWriteCharts(t *testing.T) {
	rate := runAt(Spec{Scenario: RateLimit, RatePerSecond: 5000}, 5000, 30*time.Second)
	rate.Res.PerSecond = []float64{5001, 4990, 5010}
	runs := []Run{rate, runAt(Spec{Scenario: Knee, MPC: 100}, 9000, 20*time.Second), {Spec: Spec{Scenario: Knee}, Err: "failed"}}
	files, err := WriteCharts(t.TempDir(), "x", runs)
	if err != nil || len(files) != 2 || files[0] != "x-downstream.png" || files[1] != "x-rate.png" {
		t.Fatalf("charts %v, %v", files, err)
	}
}
