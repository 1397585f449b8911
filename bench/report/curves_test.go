package report

import (
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

func TestCommitFigures(t *testing.T) {
	r := Run{Result: contenders.Result{Handled: 2000, SteadyTime: 2 * time.Second,
		Commits: contenders.Commits{N: 4, Time: 8 * time.Millisecond, Steady: 300, Requests: 5, Bytes: 1000}},
		BrokerCPU: 10 * time.Millisecond}
	if got := r.CommitsPerSec(); got != 150 {
		t.Errorf("commits/s %v, want 300 in 2 s = 150", got)
	}
	if got := r.BytesPerCommit(); got != 200 {
		t.Errorf("bytes/commit %v, want 1000/5", got)
	}
	if got := r.CommitMeanMs(); got != 2 {
		t.Errorf("commit latency %v ms, want 8 ms / 4", got)
	}
	if got := r.BrokerCPUPer1k(); got != 5 {
		t.Errorf("broker µs/record %v, want 10 ms / 2000", got)
	}
}

func TestCurveTableLimitColumns(t *testing.T) {
	spec := contenders.Spec{Contender: "kafkaworker", Ordering: "unordered", MPC: 100, Model: contenders.Sleep10ms}
	run := Run{Spec: spec, Result: contenders.Result{Handled: 1000, SteadyN: 8000, SteadyTime: time.Second, HandlerMean: 10 * time.Millisecond}}
	c := Curve{XLabel: "MaxProcCount", Series: []Series{{Points: []Point{{X: 100, Label: "100", Runs: Row{Spec: spec, Runs: []Run{run}}}}}}}
	table := CurveTable(c, false)
	// 100 handlers of 10 ms: a limit of 10,000/s, of which 8,000 is 80%.
	if !strings.Contains(table, "of calibrated limit") || !strings.Contains(table, "| 80% |") {
		t.Fatalf("table without the limit columns or with a wrong figure:\n%s", table)
	}
}
