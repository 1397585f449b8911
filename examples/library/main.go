// Command library shows kafkaworker embedded in a program of your own, as
// the seed's Program.cs embeds its HighThroughputConsumer: configuration
// from the "Kafka" section of appsettings.json, your processing code as the
// handler, and a graceful shutdown on SIGTERM.
//
// It uses only the public API. The kafkaworker binary's fuller loader
// (environment overrides in ASP.NET Core style, TimeSpan durations, typo
// warnings) lives in an internal package that other modules cannot import,
// so this reads the file in a dozen lines instead: encoding/json matches
// keys case-insensitively, so "GroupId" fills GroupID, and hujson accepts
// the seed file's // comments. (Durations read this way are nanoseconds;
// write them in code, or use the binary's loader, for anything fancier.)
//
//	go run ./examples/library -config examples/library/appsettings.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tailscale/hujson"

	"github.com/kafkaworker/kafkaworker"
)

func main() {
	path := flag.String("config", "appsettings.json", "path of appsettings.json")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*path, log); err != nil {
		log.Error("consumer failed", "err", err)
		os.Exit(1)
	}
}

func run(path string, log *slog.Logger) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	// Secrets come from the environment, never from the file.
	if pw := os.Getenv("Kafka__SaslPassword"); pw != "" {
		cfg.SaslPassword = pw
	}
	c, err := kafkaworker.New(cfg, &orders{log: log}, kafkaworker.WithLogger(log))
	if err != nil {
		return err // a *kafkaworker.ConfigError lists every problem
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
