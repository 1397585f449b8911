package testtls_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/kafkaworker/kafkaworker/internal/testtls"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(testtls.EnvDir); dir != "" {
		fmt.Fprintf(os.Stderr, "TLS tier: broker of %s\n", dir)
	}
	goleak.VerifyTestMain(m)
}
