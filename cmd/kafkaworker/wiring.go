package main

// The two packages other parts of the project provide, wired in one place.

import (
	"context"
	"io"
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

func newAdmin(c *kafkaworker.Consumer, o admin.Options) adminServer {
	return admin.New(c, o)
}

// newCommitObserver registers the commit latency histogram in reg.
func newCommitObserver(reg *prometheus.Registry) func(time.Duration, int, error) {
	return kwprom.CommitObserver(reg)
}
