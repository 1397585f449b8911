package admin

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a server, consumer or cluster
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
