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
