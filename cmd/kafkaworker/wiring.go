package main

// The two packages other parts of the project provide, wired in one place.

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/admin"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/demo"
	"github.com/kafkaworker/kafkaworker/plugin/kwprom"
)

// runDemo runs "kafkaworker demo", which stops early at SIGINT or SIGTERM
// (a second one exits at once, as for run).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	ctx, stop := onSignals(ctx, stderr, exitNow)
	defer stop()
	return demo.Main(ctx, args, stdout, stderr)
}

// adminServer is the part of *admin.Server the run command uses.
type adminServer interface {
	Start() error
	Shutdown(ctx context.Context) error
}

func newAdmin(addr string, c *kafkaworker.Consumer, reg *prometheus.Registry, stall time.Duration, log *slog.Logger) adminServer {
	return admin.New(addr, c, reg, stall, log)
}

// newCommitObserver registers the commit latency histogram in reg.
func newCommitObserver(reg *prometheus.Registry) func(time.Duration, int, error) {
	return kwprom.CommitObserver(reg)
}
