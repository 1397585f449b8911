// Package kwotel traces kafkaworker with OpenTelemetry, on franz-go's kotel
// plugin: the client's hooks (Tracer.Hooks, passed through
// kafkaworker.WithClientOptions) make a span when a record is received and
// when a dead letter is produced, and the Handler middleware (Tracer.Handler)
// makes a process span for every handler call.
//
// The process span continues the producer's trace: its parent is the
// record's receive span when the hooks are installed (Record.Context), else
// the trace context in the record's headers (W3C traceparent by default).
// With LinkSpans it starts a trace of its own instead, linked to the
// producer's span, for consumers whose work should not lengthen the
// producer's traces. Each handler call is one attempt: its span carries a
// "kafkaworker.attempt" event with the attempt number and, when the handler
// fails, the error as an "exception" event and an error status, so that the
// attempts of a retried record are sibling spans in one trace. The handler's
// context carries the span, for the handler's own spans and outgoing calls.
//
// A record that goes to the dead-letter topic is produced with its received
// context; the hooks then make its publish span in the record's trace and
// write that span's traceparent over the copied header, so that whoever
// reads the dead letter continues the same trace. Without the hooks the dead
// letter keeps the producer's traceparent, also the same trace.
//
// This is a module of its own, so that the kafkaworker library does not
// depend on OpenTelemetry.
package kwotel

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/kafkaworker/kafkaworker"
)

// instrumentation is the tracer's name, as OpenTelemetry asks of a library.
const instrumentation = "github.com/kafkaworker/kafkaworker/plugin/kwotel"

// Tracer makes kafkaworker's spans. Create it with New. It is safe for
// concurrent use.
type Tracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	link   bool
	group  string
	kotel  *kotel.Kotel
}

// Opt configures a Tracer.
type Opt func(*Tracer, *[]kotel.TracerOpt)

// TracerProvider sets where spans go (default: otel.GetTracerProvider(), the
// global provider).
func TracerProvider(tp trace.TracerProvider) Opt {
	return func(t *Tracer, ko *[]kotel.TracerOpt) {
		t.tracer = tp.Tracer(instrumentation)
		*ko = append(*ko, kotel.TracerProvider(tp))
	}
}

// Propagator sets how trace context is read from and written to record
// headers (default: otel.GetTextMapPropagator(), the global one; note that
// the global default propagates nothing until set, for example to
// propagation.TraceContext{}).
func Propagator(p propagation.TextMapPropagator) Opt {
	return func(t *Tracer, ko *[]kotel.TracerOpt) {
		t.prop = p
		*ko = append(*ko, kotel.TracerPropagator(p))
	}
}

// LinkSpans makes the receive and process spans start traces of their own,
// linked to the producer's span, instead of continuing its trace. The
// default, continuing, shows a record's whole path in one trace; linking
// keeps a long-lived producer trace from growing with every consumer's work
// (batch producers, fan-out), at the cost of following the link by hand.
func LinkSpans() Opt {
	return func(t *Tracer, ko *[]kotel.TracerOpt) {
		t.link = true
		*ko = append(*ko, kotel.LinkSpans())
	}
}

// ConsumerGroup names the group in the spans' attributes
// (messaging.consumer.group.name).
func ConsumerGroup(group string) Opt {
	return func(t *Tracer, ko *[]kotel.TracerOpt) {
		t.group = group
		*ko = append(*ko, kotel.ConsumerGroup(group))
	}
}

// New returns a Tracer.
func New(opts ...Opt) *Tracer {
	t := &Tracer{}
	var ko []kotel.TracerOpt
	for _, o := range opts {
		o(t, &ko)
	}
	if t.tracer == nil {
		t.tracer = otel.GetTracerProvider().Tracer(instrumentation)
	}
	if t.prop == nil {
		t.prop = otel.GetTextMapPropagator()
	}
	t.kotel = kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(ko...)))
	return t
}

// Hooks returns kotel's franz-go hooks: a span per received record and per
// produced dead letter, and trace context injected into the dead letter's
// headers.
func (t *Tracer) Hooks() []kgo.Hook { return t.kotel.Hooks() }

// ClientOption is kafkaworker.WithClientOptions(kgo.WithHooks(t.Hooks()...)).
func (t *Tracer) ClientOption() kafkaworker.Option {
	return kafkaworker.WithClientOptions(kgo.WithHooks(t.Hooks()...))
}

// Handler wraps h: each call runs inside a process span, which h's context
// carries. A panic in h ends the span with an error and goes on up.
func (t *Tracer) Handler(h kafkaworker.Handler) kafkaworker.Handler {
	return kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) (err error) {
		ctx, span := t.start(ctx, r)
		defer func() {
			if v := recover(); v != nil {
				span.RecordError(fmt.Errorf("panic: %v", v))
				span.SetStatus(codes.Error, "panic")
				span.End()
				panic(v)
			}
			if err != nil {
				span.RecordError(err, trace.WithAttributes(attribute.Bool("kafkaworker.permanent", kafkaworker.IsPermanent(err))))
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
		return h.Handle(ctx, r)
	})
}

// start starts r's process span as a child of ctx's span context source:
// the record's receive span, else its headers' trace context.
func (t *Tracer) start(ctx context.Context, r *kafkaworker.Record) (context.Context, trace.Span) {
	producer := trace.SpanContextFromContext(r.Context())
	if !producer.IsValid() {
		producer = trace.SpanContextFromContext(t.prop.Extract(context.Background(), headers{r}))
	}
	attrs := []attribute.KeyValue{
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.destination.name", r.Topic),
		attribute.String("messaging.destination.partition.id", strconv.Itoa(int(r.Partition))),
		attribute.Int64("messaging.kafka.offset", r.Offset),
		attribute.Int("kafkaworker.attempt", r.Attempt),
	}
	if t.group != "" {
		attrs = append(attrs, attribute.String("messaging.consumer.group.name", t.group))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
	parent := ctx
	switch {
	case t.link:
		opts = append(opts, trace.WithNewRoot())
		if producer.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: producer}))
		}
	case producer.IsValid():
		parent = trace.ContextWithSpanContext(ctx, producer)
	}
	ctx, span := t.tracer.Start(parent, r.Topic+" process", opts...)
	span.AddEvent("kafkaworker.attempt", trace.WithAttributes(attribute.Int("kafkaworker.attempt", r.Attempt)))
	return ctx, span
}

// headers reads a Record's headers as a propagation carrier. Extraction
// only: a Record's headers are the fetched record's, and Set does nothing.
type headers struct{ r *kafkaworker.Record }

// Get returns the last value of key.
func (c headers) Get(key string) string {
	for i := len(c.r.Headers) - 1; i >= 0; i-- {
		if c.r.Headers[i].Key == key {
			return string(c.r.Headers[i].Value)
		}
	}
	return ""
}

// Set does nothing.
func (headers) Set(string, string) {}

// Keys lists the header keys.
func (c headers) Keys() []string {
	keys := make([]string, len(c.r.Headers))
	for i, h := range c.r.Headers {
		keys[i] = h.Key
	}
	return keys
}
