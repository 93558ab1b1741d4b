package imports

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/tracing"
)

// A batch's spans form one trace, with the batch's TraceId:
//
//	import.upload (or import.retry)   API, span id derived from the batch id
//	└── import.batch                  worker, one per claim of the batch
//	    └── omniflow.chunk            one per chunk sent; its id is in traceparent
//
// The worker finds the upload span without reading anything the API
// stored besides the trace id, because that span's id is derived from the
// batch id. Span attributes carry ids and counts, never lead data.

const tracerName = "github.com/dataflow/dataflow/modules/imports"

// tracer returns the imports tracer of the global provider. It is looked up
// per span, because a tracer taken before tracing.Setup would keep the
// provider it started with.
func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// traceParent matches a W3C traceparent header: version, trace id, parent
// span id and flags.
var traceParent = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// callerTrace returns the trace id a new batch keeps: the one of the
// caller's traceparent header, or a new random one. When the header also
// names a valid parent span, that span is returned as the remote parent of
// the upload span.
func callerTrace(header http.Header) (string, trace.SpanContext) {
	m := traceParent.FindStringSubmatch(strings.TrimSpace(header.Get("traceparent")))
	if m == nil || m[1] == strings.Repeat("0", 32) {
		return newTraceID(), trace.SpanContext{}
	}

	traceID, _ := trace.TraceIDFromHex(m[1])
	spanID, _ := trace.SpanIDFromHex(m[2])
	flags, _ := strconv.ParseUint(m[3], 16, 8)

	return m[1], trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.TraceFlags(flags), Remote: true,
	})
}

// newTraceID returns a random W3C trace id: 32 lower-case hex digits.
func newTraceID() string {
	id := make([]byte, 16)
	_, _ = rand.Read(id)

	return hex.EncodeToString(id)
}

// uploadSpanID derives the span id of the request that created the batch,
// so that the API and the worker name the same span.
func uploadSpanID(batchID database.UUID) trace.SpanID {
	sum := sha256.Sum256([]byte("dataflow import.upload " + batchID.String()))

	var id trace.SpanID
	copy(id[:], sum[:len(id)])
	if !id.IsValid() {
		id[len(id)-1] = 1
	}

	return id
}

// uploadSpanContext returns the span of the request that created b, as a
// remote parent for the worker's spans. It is invalid when b has no W3C
// trace id (batches created before trace ids were kept).
//
// NOTE: the sampled flag is always set, because the caller's flag is not
// stored. A caller that sent flags 00 thus gets worker spans under an
// upload span that was not exported.
func uploadSpanContext(b Batch) trace.SpanContext {
	if b.TraceID == nil {
		return trace.SpanContext{}
	}

	traceID, err := trace.TraceIDFromHex(*b.TraceID)
	if err != nil {
		return trace.SpanContext{}
	}

	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: uploadSpanID(b.ID), TraceFlags: trace.FlagsSampled, Remote: true,
	})
}

// startRequestSpan starts the span of a request that creates batch
// batchID in trace traceID, under parent when it is valid.
func startRequestSpan(ctx context.Context, name string, batchID database.UUID, clientID, traceID string,
	parent trace.SpanContext,
) (context.Context, trace.Span) {
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}

	// An empty traceID takes the parent's trace id, or a random one when
	// there is no parent.
	tid, _ := trace.TraceIDFromHex(traceID)

	return tracing.StartWithIDs(ctx, tracer(), name, tid, uploadSpanID(batchID),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("batch.id", batchID.String()), attribute.String("client.id", clientID)))
}

// endRequestSpan records the response status and the API error code, if
// any, then ends the span. The error message stays out, because a cause can
// quote what the client sent.
func endRequestSpan(span trace.Span, c echo.Context, err error) {
	defer span.End()

	if err == nil {
		span.SetAttributes(semconv.HTTPResponseStatusCode(c.Response().Status))

		return
	}

	status, code := http.StatusInternalServerError, "internal_error"
	var apiErr *httpserver.APIError
	if errors.As(err, &apiErr) {
		status, code = apiErr.Status, apiErr.Code
	}

	span.SetAttributes(semconv.HTTPResponseStatusCode(status), attribute.String("error.type", code))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, code)
	}
}

// startBatchSpan starts the span of one claim of b, under its upload span.
func startBatchSpan(ctx context.Context, b Batch) (context.Context, trace.Span) {
	if parent := uploadSpanContext(b); parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}

	return tracer().Start(ctx, "import.batch", trace.WithAttributes(
		attribute.String("batch.id", b.ID.String()),
		attribute.String("client.id", b.ClientID.String()),
		attribute.Int("batch.attempt", b.AttemptCount),
	))
}

// Reasons a run stopped before the batch finished, as the batch.stop_reason
// attribute of its span.
const (
	stopAttemptsExhausted = "attempts_exhausted"
	stopLeaseLost         = "lease_lost"
	stopFileUnreadable    = "file_unreadable"
	stopCancelled         = "cancelled"
	stopOmniFlowDown      = "omniflow_unavailable"
	stopRequested         = "stopped"
	stopError             = "error"
)

// setRunOutcome records on the run's span the status the run left the
// batch in (empty when it changed none) and why it stopped early (empty
// when the batch finished normally).
func setRunOutcome(ctx context.Context, status, reason string) {
	span := trace.SpanFromContext(ctx)
	if status != "" {
		span.SetAttributes(attribute.String("batch.status", status))
	}

	if reason != "" {
		span.SetAttributes(attribute.String("batch.stop_reason", reason))
	}

	if status == StatusFailed || reason == stopError || reason == stopLeaseLost {
		span.SetStatus(codes.Error, "batch run ended with "+cmp.Or(reason, status))
	}
}

// startChunkSpan starts the span of one chunk sent to OmniFlow.
func startChunkSpan(ctx context.Context, chunkID, records int) (context.Context, trace.Span) {
	return tracer().Start(ctx, "omniflow.chunk",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("chunk.id", chunkID), attribute.Int("chunk.records", records)))
}

// chunkTraceParent returns the traceparent header of a chunk of trace
// traceID. When span is recorded in that trace, the header names span, so
// OmniFlow's spans hang under it. Otherwise (no exporter, or a span the
// sampler dropped) it names a random span id with the sampled flag, as
// DataFlow sent before it exported spans. A span that is not recorded
// cannot be used, because without an exporter it carries its parent's ids.
func chunkTraceParent(span trace.Span, traceID string) string {
	sc := span.SpanContext()
	if span.IsRecording() && sc.TraceID().String() == traceID {
		return fmt.Sprintf("00-%s-%s-%s", traceID, sc.SpanID(), sc.TraceFlags())
	}

	return fmt.Sprintf("00-%s-%016x-01", traceID, mathrand.Uint64()|1)
}

// recordChunkResult records OmniFlow's response to a chunk on its span.
// Error texts stay out, because OmniFlow's response can quote a record.
func recordChunkResult(span trace.Span, res omniflow.Result, err error) {
	span.SetAttributes(attribute.Int("omniflow.attempts", res.Attempts), attribute.String("chunk.outcome", res.Outcome.String()))
	if res.StatusCode > 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(res.StatusCode))
	}

	switch {
	case errors.Is(err, omniflow.ErrUnavailable):
		span.SetStatus(codes.Error, "omniflow unavailable")
	case err != nil:
		span.SetStatus(codes.Error, "sending the chunk failed")
	case res.Outcome == omniflow.OutcomeRejected:
		span.SetStatus(codes.Error, "omniflow rejected the chunk")
	}
}
