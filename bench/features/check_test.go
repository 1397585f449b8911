package features

import (
	"strings"
	"testing"
)

func TestSeq(t *testing.T) {
	for v, want := range map[string]int64{
		`{"seq":0000012345,"key":"key-002345","payload":"ab"}`: 12345,
		`{"seq":12345}`:           -1,
		`{"id":0000012345`:        -1,
		`{"seq":00000a2345,"key"`: -1,
	} {
		if got := Seq([]byte(v)); got != want {
			t.Errorf("Seq(%s) = %d, want %d", v, got, want)
		}
	}
}

// With 3 keys, key k's records are k, k+3, k+6, ...
func TestKeyOrder(t *testing.T) {
	type call struct {
		seqs []int64
		open bool // Begin without End: the call is still running
	}
	for _, tc := range []struct {
		name       string
		calls      []call
		violations int64
		twoOfAKey  int64
		records    int64
	}{
		{"in order, batched", []call{{seqs: []int64{0, 1, 2}}, {seqs: []int64{3, 4}}, {seqs: []int64{6, 5}}}, 0, 0, 7},
		{"a retry of the newest", []call{{seqs: []int64{0, 1}}, {seqs: []int64{1}}, {seqs: []int64{1}}, {seqs: []int64{4}}}, 0, 0, 3},
		{"a record skipped", []call{{seqs: []int64{0}}, {seqs: []int64{6}}}, 1, 0, 1},
		{"a key's first record skipped", []call{{seqs: []int64{3}}}, 1, 0, 0},
		{"two of a key in one batch", []call{{seqs: []int64{0, 3}}}, 1, 1, 1},
		{"two of a key in calls at once", []call{{seqs: []int64{0}, open: true}, {seqs: []int64{3}}}, 1, 0, 1},
		{"an old record after a newer one", []call{{seqs: []int64{0}}, {seqs: []int64{3}}, {seqs: []int64{0}}}, 1, 0, 2},
		{"no sequence number", []call{{seqs: []int64{-1}}}, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewKeyOrder(3)
			for _, c := range tc.calls {
				o.Begin(c.seqs)
				if !c.open {
					o.End(c.seqs)
				}
			}
			r := o.Report()
			if r.Violations != tc.violations || r.TwoOfAKey != tc.twoOfAKey || r.Records != tc.records {
				t.Fatalf("report %+v, want %d violations, %d two of a key, %d records", r, tc.violations, tc.twoOfAKey, tc.records)
			}
			if (r.First == "") != (tc.violations == 0) {
				t.Fatalf("first violation %q with %d violations", r.First, r.Violations)
			}
		})
	}
}

func TestCheckDeadLetters(t *testing.T) {
	const n = 3000 // poison: 7, 1007, 2007
	for _, tc := range []struct {
		name  string
		dead  []int64
		exact bool
		want  DeadLetterCheck
	}{
		{"exact", []int64{1007, 7, 2007}, true, DeadLetterCheck{Poison: 3, DeadLetters: 3}},
		{"one missing", []int64{7, 2007}, false, DeadLetterCheck{Poison: 3, DeadLetters: 2, Missing: 1}},
		{"one twice", []int64{7, 7, 1007, 2007}, false, DeadLetterCheck{Poison: 3, DeadLetters: 4, Twice: 1}},
		{"one not poison", []int64{7, 8, 1007, 2007}, false, DeadLetterCheck{Poison: 3, DeadLetters: 4, NotPoison: 1}},
		{"beyond the topic", []int64{7, 1007, 2007, 3007}, false, DeadLetterCheck{Poison: 3, DeadLetters: 4, NotPoison: 1}},
	} {
		got := CheckDeadLetters(tc.dead, n)
		if got != tc.want || got.Exact() != tc.exact {
			t.Errorf("%s: %+v (exact %v), want %+v (exact %v)", tc.name, got, got.Exact(), tc.want, tc.exact)
		}
	}
}

func TestResultLineRoundTrip(t *testing.T) {
	var r Result
	r.Handled, r.SteadyN, r.Calls503, r.PerSecond = 10, 8, 3, []float64{5000, 4999.5}
	r.Order = &OrderReport{Calls: 4, Violations: 1, First: `key 1: "x"`}
	got, ok := ParseLine(r.Line())
	if !ok || got.Handled != 10 || got.SteadyN != 8 || got.Calls503 != 3 || len(got.PerSecond) != 2 ||
		got.Order == nil || got.Order.First != r.Order.First {
		t.Fatalf("round trip: %v %+v", ok, got)
	}
	if _, ok := ParseLine(strings.TrimPrefix(r.Line(), ResultPrefix)); ok {
		t.Fatal("a line without the prefix parsed")
	}
}
