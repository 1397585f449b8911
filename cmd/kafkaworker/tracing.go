package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/kafkaworker/kafkaworker/plugin/kwotel"
)

// tracingFlushTimeout bounds the export of the last spans at exit.
const tracingFlushTimeout = 5 * time.Second

// setupTracing turns tracing on when the standard OpenTelemetry environment
// asks for it: OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, OTEL_SDK_DISABLED is not
// "true" and OTEL_TRACES_EXPORTER is not "none". Spans then go by OTLP over
// HTTP (protobuf), configured as the SDK reads it from the environment
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE, ...),
// sampled by OTEL_TRACES_SAMPLER, batched by OTEL_BSP_*, named by
// OTEL_SERVICE_NAME (default kafkaworker) and OTEL_RESOURCE_ATTRIBUTES.
// Trace context is read from and written to record headers as W3C
// traceparent and baggage. OTLP over gRPC is not built in: asking for it is
// an error, so that a misconfiguration is not silently untraced.
//
// It returns nil and a no-op shutdown when tracing is off. link makes the
// consumer's spans start traces of their own linked to the producer's.
func setupTracing(ctx context.Context, getenv func(string) string, group string, link bool, log *slog.Logger) (*kwotel.Tracer, func(), error) {
	noop := func() {}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") ||
		(getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "") {
		return nil, noop, nil
	}
	switch exp := strings.ToLower(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return nil, noop, nil
	case "", "otlp":
	default:
		return nil, noop, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: only otlp (or none) is built in", exp)
	}
	for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(key); p != "" {
			if p != "http/protobuf" {
				return nil, noop, fmt.Errorf("%s=%s: only http/protobuf is built in (the collector's port 4318)", key, p)
			}
			break
		}
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, noop, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// The default name first: OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES (WithFromEnv) override it.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "kafkaworker")),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		log.Warn("tracing: resource attributes", "err", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	opts := []kwotel.Opt{
		kwotel.TracerProvider(tp),
		kwotel.Propagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		kwotel.ConsumerGroup(group),
	}
	if link {
		opts = append(opts, kwotel.LinkSpans())
	}
	log.Info("tracing on: OTLP/HTTP", "endpoint", firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
		"link_spans", link)
	shutdown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: exporting the last spans", "err", err)
		}
	}
	return kwotel.New(opts...), shutdown, nil
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
