package contenders

import (
	"reflect"
	"testing"
	"time"
)

func TestResultRoundTrip(t *testing.T) {
	r := Result{Handled: 10, Elapsed: 1500 * time.Millisecond, Startup: 250 * time.Millisecond, PeakRSSKiB: 1234,
		SteadyN: 8, SteadyTime: time.Second, SteadyCPU: 300 * time.Millisecond, HandlerMean: 10400 * time.Microsecond,
		Dups: 1, Prefix: []int64{3, 4}, Distinct: []int64{3, 6}, ErrorMsg: `it "broke"`,
		Commits: Commits{N: 7, Time: 21 * time.Millisecond, Steady: 5, Requests: 8, Bytes: 4096}}
	got, err := ParseResult(r.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

// The Java contender prints the same line; this is one of its lines.
func TestParseJavaLine(t *testing.T) {
	line := `KWBENCH handled=5 elapsed_s=2.0000 startup_s=0.5000 peak_rss_kib=99 steady_n=4 steady_s=1.0000 steady_cpu_s=0.2500 handler_mean_us=10123.4 dups=0 parts=2/2,3/3`
	r, err := ParseResult(line)
	if err != nil {
		t.Fatal(err)
	}
	if r.Handled != 5 || r.SteadyN != 4 || r.HandlerMean != 10123400*time.Nanosecond || !reflect.DeepEqual(r.Prefix, []int64{2, 3}) {
		t.Fatalf("parsed %+v", r)
	}
}

func TestTallyOffsets(t *testing.T) {
	tl := NewTally(Spec{Ends: []int64{5, 130}})
	tl.Start()
	for _, off := range []int64{0, 1, 2, 4} { // 3 missing: prefix 3, distinct 4
		tl.Count(0, off)
	}
	for off := range int64(130) {
		tl.Count(1, off)
	}
	tl.Count(1, 64) // a duplicate
	r := tl.Result()
	if !reflect.DeepEqual(r.Prefix, []int64{3, 130}) || !reflect.DeepEqual(r.Distinct, []int64{4, 130}) || r.Dups != 1 || r.Handled != 135 {
		t.Fatalf("prefix %v distinct %v dups %d handled %d", r.Prefix, r.Distinct, r.Dups, r.Handled)
	}
	select {
	case <-tl.Done():
	default:
		t.Fatal("a full run is done once it has counted every record")
	}
	if r.SteadyN != 135*9/10-135/10 {
		t.Fatalf("steady marks: %d records between 10%% and 90%%", r.SteadyN)
	}
}
