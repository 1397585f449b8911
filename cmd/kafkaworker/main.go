// Command kafkaworker runs a concurrent Kafka consumer as a service, the Go
// port of the seed's ASP.NET Core worker: configured by the same
// appsettings.json, handing each record to a built-in handler (HTTP POST or
// stdout), with health, readiness and Prometheus metrics on an admin port.
//
// Run "kafkaworker -h" for the subcommands and "kafkaworker run -h" for the
// settings.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Exit statuses, as scripts and orchestrators read them.
const (
	exitOK        = 0
	exitRuntime   = 1   // the consumer failed: brokers unreachable, a record failed for good, …
	exitConfig    = 2   // bad flags or configuration: fix them, do not restart in a loop
	exitInterrupt = 130 // a second SIGINT/SIGTERM cut the graceful shutdown short (128+SIGINT)
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program behind a testable signature: it dispatches to the
// subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	switch args[0] {
	case "run":
		return runService(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
		return exitOK
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "kafkaworker: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitConfig
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `kafkaworker consumes Kafka topics with many records in flight at once and
commits offsets strictly in order, so a crash never skips an unprocessed record.

Usage:
  kafkaworker run [--config appsettings.json] [flags]   consume, until SIGTERM or SIGINT
  kafkaworker demo [flags]                              see it work against an in-process
                                                        Kafka: nothing to install
  kafkaworker version                                   print the version
  kafkaworker <command> -h                              help for a command

Start here:
  kafkaworker demo
  kafkaworker run --config appsettings.json --admin-addr :8080
  Kafka__BootstrapServers=broker:9092 kafkaworker run --group-id g --topic orders

The "run" command reads the .NET service's appsettings.json unchanged (the
"Kafka" section), environment variables in ASP.NET Core style
(Kafka__MaxProcCount=200) and flags; see "kafkaworker run -h".
`)
}
