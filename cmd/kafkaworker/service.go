package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/admin"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/settings"
)

// exitNow ends the process at a second signal. Only the signal watcher
// calls it.
var exitNow = os.Exit

// adminShutdownTimeout bounds the admin server's shutdown, after the
// consumer's: a scrape in progress may finish, a stuck one may not hold the
// exit.
const adminShutdownTimeout = 5 * time.Second

// runService runs "kafkaworker run": configuration, handler, metrics,
// admin server, then the consumer until a signal or ctx ends it.
func runService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	flags, code := parseRunFlags(args, stderr)
	if code >= 0 {
		return code
	}
	in := flags.input(os.Environ())
	s, warns, err := settings.Load(in)
	if err != nil {
		for _, w := range warns {
			fmt.Fprintln(stderr, "kafkaworker: warning:", w)
		}
		if in.Path == "" {
			fmt.Fprintf(stderr, "kafkaworker: note: no %s in the working directory; settings came from the environment and flags only\n", defaultConfig)
		}
		fmt.Fprintf(stderr, "kafkaworker: %v\n(see kafkaworker run -h)\n", err)
		return exitConfig
	}
	log := newLogger(stderr, s.Service)
	for _, w := range warns {
		log.Warn(w.String())
	}
	if flags.check {
		return printSettings(stdout, s)
	}
	log.Info("kafkaworker starting", "config", settingsFile(flags), "settings", s)

	h, release, err := newHandler(s, stdout)
	if err != nil {
		log.Error("kafkaworker: handler", "err", err)
		return exitConfig
	}
	defer release()
	reg := prometheus.NewRegistry()
	metrics := kprom.NewMetrics("kafkaworker", kprom.Registry(reg), kprom.GoCollectors())
	opts := []kafkaworker.Option{
		kafkaworker.WithLogger(log),
		kafkaworker.WithClientOptions(kgo.WithHooks(metrics)),
		kafkaworker.WithCommitObserver(newCommitObserver(reg)),
		kafkaworker.WithStartupTimeout(s.Service.StartupTimeout),
	}
	tracer, stopTracing, err := setupTracing(ctx, os.Getenv, s.Kafka.GroupID, s.Service.TraceLinks, log)
	if err != nil {
		log.Error("kafkaworker: tracing (the OTEL_* environment variables)", "err", err)
		return exitConfig
	}
	defer stopTracing()
	base := h // a batch handler is used as one: tracing wraps single records only
	if tracer != nil {
		h = tracer.Handler(h)
		opts = append(opts, tracer.ClientOption())
	}
	c, err := newConsumer(s, base, h, opts...)
	if err != nil {
		// Load ran Validate already; New can only disagree if they drift.
		log.Error("kafkaworker: configuration", "err", err)
		return exitConfig
	}
	if s.Service.AdminAddr != settings.AdminOff {
		adm := newAdmin(c, admin.Options{
			Addr: s.Service.AdminAddr, Registry: reg, StallTimeout: s.Service.StallTimeout, Log: log,
			Token: s.Service.AdminToken, ReadOnly: s.Service.AdminReadOnly, Config: settingsJSON(s),
		})
		if err := adm.Start(); err != nil {
			log.Error("kafkaworker: admin server (set KafkaWorker:AdminAddr or --admin-addr, or off)", "err", err)
			return exitRuntime
		}
		defer shutdownAdmin(adm, log)
	}

	ctx, stop := onSignals(ctx, stderr, exitNow)
	defer stop()
	return exitStatus(c.Run(ctx), log)
}

// exitStatus logs how the consumer ended and maps it to the exit status.
func exitStatus(err error, log *slog.Logger) int {
	switch {
	case err == nil:
		log.Info("kafkaworker stopped cleanly")
		return exitOK
	case errors.Is(err, kafkaworker.ErrBrokersUnreachable):
		log.Error("kafkaworker: Kafka is unreachable: check Kafka:BootstrapServers, the network, and Kafka:SecurityProtocol", "err", err)
	case errors.Is(err, kafkaworker.ErrAuthentication):
		log.Error("kafkaworker: Kafka refused the credentials: check Kafka:SaslUsername, Kafka:SaslPassword and Kafka:SaslMechanism", "err", err)
	case errors.Is(err, kafkaworker.ErrTopicNotFound):
		log.Error("kafkaworker: a topic does not exist: create it, or fix Kafka:Topic", "err", err)
	case errors.Is(err, kafkaworker.ErrShutdownTimeout):
		log.Error("kafkaworker: handlers outlived Kafka:ShutdownTimeout; their records will be processed again", "err", err)
	case errors.Is(err, kafkaworker.ErrRecordFailed):
		log.Error("kafkaworker: a record failed for good (FailurePolicy); its offset was not committed", "err", err)
	default:
		log.Error("kafkaworker failed", "err", err)
	}
	return exitRuntime
}

func shutdownAdmin(adm adminServer, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), adminShutdownTimeout)
	defer cancel()
	if err := adm.Shutdown(ctx); err != nil {
		log.Warn("kafkaworker: admin server shutdown", "err", err)
	}
}

// printSettings writes the effective settings as JSON, secrets hidden,
// through their slog.LogValuer: the one rendering that redacts.
func printSettings(w io.Writer, s settings.Settings) int {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key != "settings" {
				return slog.Attr{} // drop time, level and msg: print the settings alone
			}
			return a
		},
	})
	slog.New(h).Info("", "settings", s)
	return exitOK
}

// settingsJSON is the effective settings as a JSON object, secrets hidden,
// for the status page: printSettings' rendering, unwrapped.
func settingsJSON(s settings.Settings) json.RawMessage {
	var b bytes.Buffer
	printSettings(&b, s)
	var out struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || len(out.Settings) == 0 {
		return json.RawMessage("{}")
	}
	return out.Settings
}

func settingsFile(f runFlags) string {
	if p := f.input(nil).Path; p != "" {
		return p
	}
	return "(none)"
}
