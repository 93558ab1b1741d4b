package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// fixedIDsKey is the context key of the ids StartWithIDs requests.
type fixedIDsKey struct{}

// fixedIDs are the ids the next span started from a context takes.
type fixedIDs struct {
	traceID trace.TraceID
	spanID  trace.SpanID
}

// StartWithIDs starts a span whose span id is spanID and, when ctx carries
// no parent span, whose trace id is traceID. An invalid (zero) id leaves
// that id random. The returned context carries the span but not the ids,
// so spans started from it get their own random ids.
//
// The ids apply only under a provider built with IDGenerator, as Setup's
// is. Under the no-op provider the span records nothing.
//
// Fixed ids let two processes name the same span without sharing state:
// the API names a batch's upload span after the batch id, and the worker
// later starts its spans under that span.
func StartWithIDs(ctx context.Context, tracer trace.Tracer, name string, traceID trace.TraceID, spanID trace.SpanID,
	opts ...trace.SpanStartOption,
) (context.Context, trace.Span) {
	idsCtx := context.WithValue(ctx, fixedIDsKey{}, fixedIDs{traceID: traceID, spanID: spanID})
	_, span := tracer.Start(idsCtx, name, opts...)

	return trace.ContextWithSpan(ctx, span), span
}

// IDGenerator returns the id generator Setup installs: random ids, except
// where StartWithIDs requests fixed ones. Tests that build their own
// provider pass it to sdktrace.WithIDGenerator.
func IDGenerator() sdktrace.IDGenerator { return idGenerator{} }

type idGenerator struct{}

// NewIDs returns the ids of a span without a parent.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	fixed, _ := ctx.Value(fixedIDsKey{}).(fixedIDs)

	traceID := fixed.traceID
	if !traceID.IsValid() {
		traceID = randomTraceID()
	}

	spanID := fixed.spanID
	if !spanID.IsValid() {
		spanID = randomSpanID()
	}

	return traceID, spanID
}

// NewSpanID returns the span id of a span with a parent.
func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if fixed, ok := ctx.Value(fixedIDsKey{}).(fixedIDs); ok && fixed.spanID.IsValid() {
		return fixed.spanID
	}

	return randomSpanID()
}

// randomTraceID and randomSpanID draw from math/rand/v2, whose global
// generator (ChaCha8) is safe for concurrent use. Ids need to be unique,
// not secret. A zero draw is invalid, so it is drawn again.
func randomTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}

	return id
}

func randomSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}

	return id
}
