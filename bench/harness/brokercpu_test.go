package harness

import (
	"os"
	"testing"
)

func TestProcessCPUSelf(t *testing.T) {
	// Burn a little CPU so that at least one tick is accounted.
	x := 0
	for i := range 200_000_000 {
		x ^= i
	}
	_ = x
	if got := ProcessCPU(os.Getpid()); got <= 0 {
		t.Fatalf("own CPU from /proc: %v, want > 0", got)
	}
	if got := ProcessCPU(-1); got != -1 {
		t.Fatalf("bad pid: %v, want -1", got)
	}
}
