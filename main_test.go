package kafkaworker_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

func TestMain(m *testing.M) {
	tier := "kfake (in-process)"
	if os.Getenv(testkafka.EnvBootstrap) != "" {
		tier = "real Kafka at " + os.Getenv(testkafka.EnvBootstrap)
	}
	fmt.Fprintf(os.Stderr, "kafkaworker integration tests: tier %s\n", tier)
	goleak.VerifyTestMain(m)
}
