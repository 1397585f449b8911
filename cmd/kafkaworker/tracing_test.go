package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// collector is an OTLP/HTTP trace receiver on loopback.
type collector struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) named(name string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the service traces: a record
// produced under a traceparent is processed in that trace (receive span
// under the producer's span, process span under it), exported over OTLP by
// the time the service has exited.
func TestRunExportsTracesOverOTLP(t *testing.T) {
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	col := newCollector(t)
	cluster := testkafka.Start(t)
	topic, group := cluster.Topic(t, 1), cluster.Name(t, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cluster.Client().ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v"),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-" + traceID + "-" + parentID + "-01")}}}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_SERVICE_NAME", "kafkaworker-test")
	t.Setenv("Kafka__BootstrapServers", cluster.Seeds)
	t.Setenv("Kafka__GroupId", group)
	stdout := &syncBuffer{lines: make(chan struct{}, 1)}
	stderr := &syncBuffer{}
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	code := make(chan int, 1)
	go func() {
		code <- run(runCtx, []string{"run", "--config", seedConfig, "--topic", topic, "--admin-addr", "off"}, stdout, stderr)
	}()
	select {
	case <-stdout.lines:
	case c := <-code:
		t.Fatalf("run ended with %d before consuming:\n%s", c, stderr.String())
	case <-ctx.Done():
		t.Fatalf("no record consumed:\n%s", stderr.String())
	}
	stop()
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d:\n%s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "tracing on") {
		t.Errorf("no tracing line in the log:\n%s", stderr.String())
	}
	process, receive := col.named(topic+" process"), col.named(topic+" receive")
	if len(process) != 1 || len(receive) != 1 {
		t.Fatalf("exported %d process and %d receive spans, want 1 and 1", len(process), len(receive))
	}
	for _, s := range []*tracepb.Span{process[0], receive[0]} {
		if got := hex.EncodeToString(s.TraceId); got != traceID {
			t.Fatalf("span %q in trace %s, want the producer's %s", s.Name, got, traceID)
		}
	}
	if got := hex.EncodeToString(receive[0].ParentSpanId); got != parentID {
		t.Fatalf("receive span's parent %s, want the producer's span %s", got, parentID)
	}
	if string(process[0].ParentSpanId) != string(receive[0].SpanId) {
		t.Fatal("the process span is not the receive span's child")
	}
}

func TestTracingIsOffUnlessConfigured(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tt := range []struct {
		name    string
		env     func(string) string
		on, bad bool
	}{
		{name: "nothing set", env: env()},
		{name: "SDK disabled", env: env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_SDK_DISABLED", "true")},
		{name: "exporter none", env: env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER", "none")},
		{name: "endpoint", env: env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), on: true},
		{name: "traces endpoint", env: env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces"), on: true},
		{name: "grpc refused", env: env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), bad: true},
		{name: "zipkin refused", env: env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER", "zipkin"), bad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr, stop, err := setupTracing(context.Background(), tt.env, "g", false, log)
			defer stop()
			if (err != nil) != tt.bad || (tr != nil) != tt.on {
				t.Fatalf("tracer %v, error %v; want on %v, error %v", tr != nil, err, tt.on, tt.bad)
			}
		})
	}
}
