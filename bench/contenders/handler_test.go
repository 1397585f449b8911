package contenders

import (
	"fmt"
	"testing"
	"time"
)

// The tail model's slow records are every 1,000th seq of the dataset's
// values, and nothing else: the mean the Little's-law limit is calibrated
// against, and the records PcBench.java slows down, depend on it.
func TestTailSlowsEveryThousandthSeq(t *testing.T) {
	value := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%010d,"key":"key-%06d","payload":"00ff"}`, seq, seq%10000)
	}
	slow := 0
	for seq := range 100_000 {
		d := Tail.sleep(value(seq))
		switch {
		case seq%1000 == 0 && d != time.Second:
			t.Fatalf("seq %d: sleep %v, want 1s", seq, d)
		case seq%1000 != 0 && d != 10*time.Millisecond:
			t.Fatalf("seq %d: sleep %v, want 10ms", seq, d)
		}
		if d == time.Second {
			slow++
		}
	}
	if slow != 100 {
		t.Fatalf("%d slow records in 100,000, want 100", slow)
	}
	for _, v := range [][]byte{nil, []byte(`{"seq":12`), []byte(`{"other":0000000000}`)} {
		if d := Tail.sleep(v); d != 10*time.Millisecond {
			t.Errorf("Tail.sleep(%q) = %v, want 10ms for a value without a seq", v, d)
		}
	}
	if d := Sleep1ms.sleep(value(0)); d != time.Millisecond {
		t.Errorf("Sleep1ms.sleep = %v, want 1ms whatever the seq", d)
	}
	if got, want := Tail.Latency(), 10990*time.Microsecond; got != want {
		t.Errorf("Tail.Latency() = %v, want the mean %v", got, want)
	}
}
