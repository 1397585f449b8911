package kwprom_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a consumer or cluster
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
