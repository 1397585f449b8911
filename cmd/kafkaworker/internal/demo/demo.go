// Package demo implements `kafkaworker demo`: the README's first command,
// which needs nothing installed. It starts an in-process Kafka cluster
// (franz-go's kfake), produces keyed records, consumes them through
// kafkaworker with a simulated handler that is slow and sometimes fails, and
// proves the result: nothing lost, duplicates counted, order kept in the
// ordered modes, committed offsets at the end of every partition, and how
// long a consumer handling one record at a time per partition would have
// taken for the same work.
package demo

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
)

// Main runs `kafkaworker demo` with args (the flags after "demo") and
// returns the process exit status: 0 when every record was processed and
// committed, 1 when records were lost, order was broken or the run failed,
// 2 for bad flags. The report goes to stdout, logs to stderr. Cancelling ctx
// (an interrupt) stops the run early; the report then shows what was lost.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		slog.New(slog.NewTextHandler(stderr, nil)).Error("kafkaworker demo: bad flags", "err", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep, err := run(ctx, o, stdout, stderr, log)
	if err != nil {
		log.Error("kafkaworker demo failed", "err", err)
		return 1
	}
	rep.write(stdout)
	if !rep.ok() {
		return 1
	}
	return 0
}
