// Command library shows kafkaworker embedded in a program of your own, as
// the seed's Program.cs embeds its HighThroughputConsumer: configuration
// from the "Kafka" section of appsettings.json, your processing code as the
// handler, and a graceful shutdown on SIGTERM.
//
// It uses only public packages: the library, its health package for a
// readiness probe, and the plugin/kwprom module for Prometheus metrics,
// served with -admin. The kafkaworker binary's fuller loader (environment
// overrides in ASP.NET Core style, TimeSpan durations, typo warnings) is
// part of the binary, not of the library, so this reads the file in a dozen
// lines instead: encoding/json matches keys case-insensitively, so
// "GroupId" fills GroupID, and hujson accepts the seed file's // comments.
// (Durations read this way are nanoseconds; write them in code, or use the
// binary's loader, for anything fancier.)
//
// It is a module of its own, as a program of yours would be: its go.mod
// points at the kafkaworker modules in this repository.
//
//	go run ./examples/library -config examples/library/appsettings.json -admin 127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tailscale/hujson"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/health"
	"github.com/kafkaworker/kafkaworker/plugin/kwprom"
)

func main() {
	path := flag.String("config", "appsettings.json", "path of appsettings.json")
	admin := flag.String("admin", "", "`host:port` to serve /readyz and /metrics on; empty: none")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*path, *admin, log); err != nil {
		log.Error("consumer failed", "err", err)
		os.Exit(1)
	}
}

func run(path, admin string, log *slog.Logger) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	// Secrets come from the environment, never from the file.
	if pw := os.Getenv("Kafka__SaslPassword"); pw != "" {
		cfg.SaslPassword = pw
	}
	reg := prometheus.NewRegistry()
	c, err := kafkaworker.New(cfg, &orders{log: log}, kafkaworker.WithLogger(log),
		kafkaworker.WithCommitObserver(kwprom.CommitObserver(reg)))
	if err != nil {
		return err // a *kafkaworker.ConfigError lists every problem
	}
	if admin != "" {
		reg.MustRegister(kwprom.NewCollector(c), collectors.NewGoCollector())
		mux := http.NewServeMux()
		// 503 until the consumer has joined its group, and while a
		// partition makes no progress for a minute.
		mux.Handle("GET /readyz", health.NewChecker(c, time.Minute))
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Addr: admin, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				log.Error("admin server", "err", err)
			}
		}()
		defer srv.Close()
	}
	// The first SIGTERM starts the graceful shutdown: Run stops fetching,
	// waits for running handlers (ShutdownTimeout), commits and returns.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Run(ctx)
}

// loadConfig reads the "Kafka" section of an appsettings.json, as the
// seed's builder.Configuration.GetSection("Kafka") does.
func loadConfig(path string) (kafkaworker.Config, error) {
	var cfg kafkaworker.Config
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	std, err := hujson.Standardize(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	var file struct{ Kafka kafkaworker.Config }
	if err := json.Unmarshal(std, &file); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return file.Kafka, nil
}

// orders is the seed's ProcessMessage: your business logic. The consumer
// calls Handle from up to MaxProcCount goroutines at once, so it must be
// safe for concurrent use; this one keeps no state.
type orders struct {
	log *slog.Logger
}

type order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

// errBadOrder marks records that no retry will fix.
var errBadOrder = errors.New("malformed order")

func (o *orders) Handle(ctx context.Context, r *kafkaworker.Record) error {
	var ord order
	if err := json.Unmarshal(r.Value, &ord); err != nil {
		// Returning an error retries the record, then applies the
		// FailurePolicy (dead-letter it, skip it, or stop).
		return fmt.Errorf("%w at %s/%d@%d: %v", errBadOrder, r.Topic, r.Partition, r.Offset, err)
	}
	// Stand-in for a database write or an API call. Honour ctx: it ends
	// when the partition is revoked or the shutdown times out, and the
	// record is then processed again by the partition's next owner.
	select {
	case <-time.After(10 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	o.log.Debug("order handled", "id", ord.ID, "amount", ord.Amount, "attempt", r.Attempt)
	return nil
}
