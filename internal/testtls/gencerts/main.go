// Command gencerts writes the TLS tier's certificates and SCRAM credentials
// into a directory, for scripts/kafka/kafka.sh start --tls DIR:
//
//	go run ./internal/testtls/gencerts DIR
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/testtls"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gencerts DIR")
		os.Exit(2)
	}
	if err := testtls.WriteBrokerFiles(os.Args[1], time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "gencerts:", err)
		os.Exit(1)
	}
}
