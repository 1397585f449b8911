package demo

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a run leaves goroutines behind: the demo
// closes its cluster, clients and consumer before Main returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
