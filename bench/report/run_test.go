package report

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

func TestRowStat(t *testing.T) {
	spec := contenders.Spec{Contender: "kafkaworker", Ordering: "unordered", MPC: 1000, Model: contenders.Sleep10ms}
	run := func(n int64, mean time.Duration, err error) Run {
		return Run{Spec: spec, Err: err, Result: contenders.Result{SteadyN: n, SteadyTime: time.Second, HandlerMean: mean}}
	}
	s := Set{run(90, 10*time.Millisecond, nil), run(100, 11*time.Millisecond, nil), run(80, 10*time.Millisecond, nil),
		run(1000, time.Millisecond, errors.New("lost"))}
	rows := s.Rows(contenders.Sleep10ms)
	if len(rows) != 1 || rows[0].Failed() != 1 {
		t.Fatalf("rows %+v", rows)
	}
	st := rows[0].Stat(Run.SteadyRate)
	if st.Med != 90 || st.Min != 80 || st.Max != 100 || st.N != 3 {
		t.Fatalf("stat %+v (a failed run must not count)", st)
	}
	if got := st.Spread(); got < 0.222 || got > 0.223 {
		t.Fatalf("spread %v, want 20/90", got)
	}
	// 1000 handlers of 11 ms: a limit of 90,909/s.
	if l := s[1].Limit(); l < 90908 || l > 90910 {
		t.Fatalf("limit %v", l)
	}
}

func TestStatEven(t *testing.T) {
	if st := stat([]float64{4, 1, 3, 2}); st.Med != 2.5 {
		t.Fatalf("median of 1..4: %v", st.Med)
	}
}

// The share row's 10 ms target reads the median share of the calibrated
// limit against 90%.
func TestTargetsShare(t *testing.T) {
	share := contenders.Spec{Contender: "kafkaworker", Ordering: contenders.Share, MPC: 1000, Model: contenders.Sleep10ms}
	run := func(n int64) Run {
		return Run{Spec: share, Result: contenders.Result{SteadyN: n, SteadyTime: time.Second, HandlerMean: 10 * time.Millisecond}}
	}
	for _, c := range []struct {
		n    int64
		want string
	}{
		{95_000, "**PASS** 10 ms, kafkaworker share 1000: 95.0% of the calibrated limit (target ≥ 90%)"},
		{60_000, "**MISS** 10 ms, kafkaworker share 1000: 60.0% of the calibrated limit (target ≥ 90%)"},
	} {
		if got := Targets(Set{run(c.n)}, 1000, 0); !strings.Contains(got, c.want) {
			t.Errorf("%d rec/s: want %q in\n%s", c.n, c.want, got)
		}
	}
	if got := Targets(Set{}, 1000, 0); !strings.Contains(got, "n/a share 10 ms calibrated limit") {
		t.Errorf("no share run: want n/a in\n%s", got)
	}
}

// Issue 14's peer lines: a verdict at 1 ms and 10 ms, a measurement for the
// tail model, and for a peer as concurrent as kafkaworker both rows' share
// of their Little's-law limits.
func TestPeerRatios(t *testing.T) {
	run := func(c string, mpc int, m contenders.Model, n int64, mean time.Duration) Run {
		return Run{Spec: contenders.Spec{Contender: c, Ordering: map[bool]string{true: "unordered"}[c == "kafkaworker"], MPC: mpc, Model: m},
			Result: contenders.Result{SteadyN: n, SteadyTime: time.Second, HandlerMean: mean}}
	}
	s := Set{
		run("kafkaworker", 1000, contenders.Sleep10ms, 90_000, 11*time.Millisecond),
		run("raw-franz-go", 0, contenders.Sleep10ms, 1_000, 12*time.Millisecond),
		run("franz-go-pool", 1000, contenders.Sleep10ms, 91_000, 11*time.Millisecond),
		run("kafkaworker", 1000, contenders.Tail, 80_000, 11*time.Millisecond),
		run("franz-go-pool", 1000, contenders.Tail, 20_000, 11*time.Millisecond),
	}
	got := peerRatios(s, 1000, func(ok bool) string { return map[bool]string{true: "PASS", false: "MISS"}[ok] })
	for _, want := range []string{
		"PASS 10ms, kafkaworker unordered 1000 ÷ raw-franz-go, steady rec/s: 90.0× (target ≥ 5×): 90,000 vs 1,000 rec/s\n",
		"MISS 10ms, kafkaworker unordered 1000 ÷ franz-go-pool, steady rec/s: 1.0× (target ≥ 5×)",
		"the peer runs 1008 handlers at once to kafkaworker's 1000",
		"kafkaworker reaches 99% of its calibrated limit and the peer 99%",
		"measured 10ms-tail, kafkaworker unordered 1000 ÷ franz-go-pool, steady rec/s: 4.0×: 80,000 vs 20,000 rec/s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "1ms") {
		t.Errorf("a model without a kafkaworker row has no lines:\n%s", got)
	}
}
