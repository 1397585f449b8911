package kwotel_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
	"github.com/kafkaworker/kafkaworker/plugin/kwotel"
)

var prop = propagation.TraceContext{}

// traced is a test cluster with a topic, a producer traced by kotel and an
// in-memory span exporter.
type traced struct {
	cl       *testkafka.Cluster
	topic    string
	group    string
	exp      *tracetest.InMemoryExporter
	tp       *sdktrace.TracerProvider
	producer trace.SpanContext // the span the record was produced under
}

func newTraced(t *testing.T) *traced {
	t.Helper()
	tr := &traced{cl: testkafka.Start(t), exp: tracetest.NewInMemoryExporter()}
	tr.topic, tr.group = tr.cl.Topic(t, 1), tr.cl.Name(t, "g")
	tr.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tr.exp))
	t.Cleanup(func() { _ = tr.tp.Shutdown(context.Background()) })
	return tr
}

// produce writes one record under a "request" span, through a client with
// kotel's hooks, as a traced producer would.
func (tr *traced) produce(t *testing.T) {
	t.Helper()
	k := kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(kotel.TracerProvider(tr.tp), kotel.TracerPropagator(prop))))
	p, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(tr.cl.Seeds, ",")...), kgo.WithHooks(k.Hooks()...))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx, span := tr.tp.Tracer("test").Start(ctx, "request")
	defer span.End()
	r := &kgo.Record{Topic: tr.topic, Value: []byte("v")}
	if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tr.producer = trace.SpanContextFromContext(r.Context) // the publish span
}

// consume runs a consumer with h wrapped by k's middleware until want
// handler calls were made.
func (tr *traced) consume(t *testing.T, k *kwotel.Tracer, hooks bool, dead string, want int, h kafkaworker.HandlerFunc) {
	t.Helper()
	cfg := kafkaworker.Config{
		BootstrapServers: tr.cl.Seeds, GroupID: tr.group, Topic: tr.topic,
		RetryBackoffMin: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 20 * time.Second, RevokeTimeout: 10 * time.Second,
		DeadLetterTopic: dead,
	}
	calls := make(chan struct{}, want)
	wrapped := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		defer func() { calls <- struct{}{} }()
		return h(ctx, r)
	})
	var opts []kafkaworker.Option
	if hooks {
		opts = append(opts, k.ClientOption())
	}
	c, err := kafkaworker.New(cfg, k.Handler(wrapped), opts...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- c.Run(ctx) }()
	timeout := time.After(60 * time.Second)
	for range want {
		select {
		case <-calls:
		case <-timeout:
			t.Fatal("handler calls did not come")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
}

// spans returns the ended spans named name.
func (tr *traced) spans(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range tr.exp.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func one(t *testing.T, tr *traced, name string) tracetest.SpanStub {
	t.Helper()
	s := tr.spans(name)
	if len(s) != 1 {
		t.Fatalf("%d spans named %q, want 1 (all: %v)", len(s), name, names(tr.exp.GetSpans()))
	}
	return s[0]
}

func names(ss tracetest.SpanStubs) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// With the hooks, the trace goes producer's publish → receive → process,
// one trace id, and the handler's context carries the process span.
func TestProcessSpanContinuesTheProducersTrace(t *testing.T) {
	tr := newTraced(t)
	tr.produce(t)
	k := kwotel.New(kwotel.TracerProvider(tr.tp), kwotel.Propagator(prop), kwotel.ConsumerGroup(tr.group))
	var mu sync.Mutex
	var inHandler trace.SpanContext
	tr.consume(t, k, true, "", 1, func(ctx context.Context, _ *kafkaworker.Record) error {
		mu.Lock()
		inHandler = trace.SpanContextFromContext(ctx)
		mu.Unlock()
		return nil
	})
	publish := one(t, tr, tr.topic+" publish")
	receive := one(t, tr, tr.topic+" receive")
	process := one(t, tr, tr.topic+" process")
	if publish.SpanContext.SpanID() != tr.producer.SpanID() {
		t.Fatalf("publish span %v, producer's record carried %v", publish.SpanContext.SpanID(), tr.producer.SpanID())
	}
	if process.SpanContext.TraceID() != tr.producer.TraceID() || receive.SpanContext.TraceID() != tr.producer.TraceID() {
		t.Fatalf("trace ids: producer %v, receive %v, process %v", tr.producer.TraceID(),
			receive.SpanContext.TraceID(), process.SpanContext.TraceID())
	}
	if receive.Parent.SpanID() != publish.SpanContext.SpanID() || process.Parent.SpanID() != receive.SpanContext.SpanID() {
		t.Fatal("the spans are not producer → receive → process")
	}
	if process.SpanKind != trace.SpanKindConsumer {
		t.Fatalf("process span kind %v", process.SpanKind)
	}
	mu.Lock()
	defer mu.Unlock()
	if inHandler.SpanID() != process.SpanContext.SpanID() {
		t.Fatalf("the handler's context carries span %v, not the process span %v", inHandler.SpanID(), process.SpanContext.SpanID())
	}
	if len(process.Events) != 1 || process.Events[0].Name != "kafkaworker.attempt" {
		t.Fatalf("process span events %v, want one kafkaworker.attempt", process.Events)
	}
}

// Without the hooks, the middleware reads the trace context from the
// record's headers: the process span is the publish span's child.
func TestProcessSpanFromHeadersWithoutHooks(t *testing.T) {
	tr := newTraced(t)
	tr.produce(t)
	k := kwotel.New(kwotel.TracerProvider(tr.tp), kwotel.Propagator(prop))
	tr.consume(t, k, false, "", 1, func(context.Context, *kafkaworker.Record) error { return nil })
	process := one(t, tr, tr.topic+" process")
	if process.SpanContext.TraceID() != tr.producer.TraceID() || process.Parent.SpanID() != tr.producer.SpanID() {
		t.Fatalf("process span in trace %v under %v, want trace %v under %v", process.SpanContext.TraceID(),
			process.Parent.SpanID(), tr.producer.TraceID(), tr.producer.SpanID())
	}
	if len(tr.spans(tr.topic+" receive")) != 0 {
		t.Fatal("a receive span without the hooks")
	}
}

// LinkSpans: a trace of its own, linked to the producer's span.
func TestLinkSpansStartsALinkedTrace(t *testing.T) {
	tr := newTraced(t)
	tr.produce(t)
	k := kwotel.New(kwotel.TracerProvider(tr.tp), kwotel.Propagator(prop), kwotel.LinkSpans())
	tr.consume(t, k, false, "", 1, func(context.Context, *kafkaworker.Record) error { return nil })
	process := one(t, tr, tr.topic+" process")
	if process.SpanContext.TraceID() == tr.producer.TraceID() || process.Parent.IsValid() {
		t.Fatal("with LinkSpans the process span continued the producer's trace")
	}
	if len(process.Links) != 1 || process.Links[0].SpanContext.SpanID() != tr.producer.SpanID() {
		t.Fatalf("process span links %v, want the producer's span %v", process.Links, tr.producer.SpanID())
	}
}

// A record that fails, is retried, then fails for good: one process span
// per attempt, each with its attempt event and the error; the dead letter
// carries the record's trace in its traceparent header.
func TestAttemptsAndDeadLetterKeepTheTrace(t *testing.T) {
	tr := newTraced(t)
	dead := tr.cl.Topic(t, 1)
	tr.produce(t)
	k := kwotel.New(kwotel.TracerProvider(tr.tp), kwotel.Propagator(prop))
	tr.consume(t, k, true, dead, 2, func(_ context.Context, r *kafkaworker.Record) error {
		if r.Attempt == 1 {
			return errors.New("transient")
		}
		return kafkaworker.Permanent(errors.New("bad record"))
	})
	process := tr.spans(tr.topic + " process")
	if len(process) != 2 {
		t.Fatalf("%d process spans, want one per attempt (2)", len(process))
	}
	for _, s := range process {
		if s.SpanContext.TraceID() != tr.producer.TraceID() || s.Status.Code != codes.Error {
			t.Fatalf("attempt span %+v: want the producer's trace and an error status", s.SpanContext)
		}
		var attempt, exception bool
		for _, e := range s.Events {
			attempt = attempt || e.Name == "kafkaworker.attempt"
			exception = exception || e.Name == "exception"
		}
		if !attempt || !exception {
			t.Fatalf("attempt span events %v, want kafkaworker.attempt and exception", s.Events)
		}
	}

	// Read the dead letter back and extract its trace context.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(tr.cl.Seeds, ",")...), kgo.ConsumeTopics(dead),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got *kgo.Record
	for got == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = r })
	}
	if got == nil {
		t.Fatal("no dead letter")
	}
	sc := trace.SpanContextFromContext(prop.Extract(context.Background(), kotel.NewRecordCarrier(got)))
	if sc.TraceID() != tr.producer.TraceID() {
		t.Fatalf("dead letter's trace %v, want the record's %v", sc.TraceID(), tr.producer.TraceID())
	}
	// The hooks made the dead letter's publish span in the same trace, and
	// its traceparent names that span, not the original producer's.
	dl := one(t, tr, dead+" publish")
	if sc.SpanID() != dl.SpanContext.SpanID() || dl.SpanContext.TraceID() != tr.producer.TraceID() {
		t.Fatalf("dead letter traceparent span %v, its publish span %v", sc.SpanID(), dl.SpanContext.SpanID())
	}
}
