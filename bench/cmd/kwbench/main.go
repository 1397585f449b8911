// Command kwbench compares kafkaworker with raw franz-go, sarama and the
// Confluent Parallel Consumer on a real single-node Kafka broker, and writes
// a dated Markdown table and PNG charts under results/.
//
//	kwbench [-quick] [-records N] [-bootstrap host:port]   the benchmark
//	kwbench contend -contender ... -model ...              one contender run (the child side)
//	kwbench -features                                      issue 12's features (batches, rate limit, adaptive concurrency)
//	kwbench feature -spec JSON                             one -features run (the child side)
//	kwbench calibrate                                      time the cpu model here
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) > 0 && args[0] == "contend":
		err = contend(args[1:])
	case len(args) > 0 && args[0] == "feature":
		err = feature(args[1:])
	case len(args) > 0 && args[0] == "calibrate":
		fmt.Printf("cpu model: %d SHA-256 rounds = %v per record\n", contenders.DefaultCPUIters,
			contenders.Calibrate(contenders.DefaultCPUIters))
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		err = fmt.Errorf("unknown subcommand %q (want contend, feature or calibrate, or flags for the benchmark)", args[0])
	default:
		err = bench(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kwbench:", err)
		os.Exit(1)
	}
}
