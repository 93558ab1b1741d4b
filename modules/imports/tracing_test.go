package imports

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/kernel"
	"github.com/dataflow/dataflow/platform/tracing"
)

const tracingSecret = "tracing-test-secret-Zx8$"

// tracingBundle is an API and a worker sharing one database and storage,
// an OmniFlow stand-in that keeps each request's traceparent, and a span
// recorder installed as the global tracer provider.
type tracingBundle struct {
	*workerBundle
	apiURL string
	spans  *tracetest.SpanRecorder

	mu      sync.Mutex
	parents []string
}

// setupTracing installs a recording provider for the test. The provider
// is global, so the test must not call t.Parallel. Go runs parallel tests
// only after the sequential ones, which thus see no other test's spans.
func setupTracing(t *testing.T) *tracingBundle {
	t.Helper()

	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder), sdktrace.WithIDGenerator(tracing.IDGenerator()))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider)
	t.Cleanup(func() { otel.SetTracerProvider(previous) })

	tb := &tracingBundle{workerBundle: setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 1), spans: recorder}

	omniFlow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tb.mu.Lock()
		tb.parents = append(tb.parents, r.Header.Get("traceparent"))
		tb.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(omniFlow.Close)

	sender, err := omniflow.NewClient(omniflow.ClientConfig{BaseURL: omniFlow.URL, Timeout: 5 * time.Second, Logger: zerolog.Nop()})
	require.NoError(t, err)
	tb.worker.sender = sender

	settings := config.Defaults()
	settings.ClientSeed.Clients = []config.SeedClient{{Name: "Tracing", ClientIdentifier: "tracing", Secret: tracingSecret}}
	k := &kernel.Kernel{Settings: settings, Log: zerolog.Nop(), DB: tb.db, Storage: tb.storage, Now: time.Now}
	clientsModule := clients.New()
	require.NoError(t, k.Register(clientsModule, New(clientsModule.Middleware(), nil, nil)))
	require.NoError(t, k.Seed(context.Background()))

	api := httptest.NewServer(k.HTTPServer().Echo)
	t.Cleanup(api.Close)
	tb.apiURL = api.URL

	return tb
}

// upload posts content with an optional traceparent and returns the new
// batch id.
func (tb *tracingBundle) upload(t *testing.T, content []byte, traceparent string) database.UUID {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", "leads.json")
	require.NoError(t, err)
	_, err = part.Write(content)
	require.NoError(t, err)
	require.NoError(t, form.Close())

	req, err := http.NewRequest(http.MethodPost, tb.apiURL+"/imports", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("X-Client-Id", "tracing")
	req.Header.Set("X-Client-Secret", tracingSecret)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var accepted struct {
		BatchID string `json:"batchId"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&accepted))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	id, err := database.ParseUUID(accepted.BatchID)
	require.NoError(t, err)

	return id
}

// ended returns the ended spans named name.
func (tb *tracingBundle) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, span := range tb.spans.Ended() {
		if span.Name() == name {
			out = append(out, span)
		}
	}

	return out
}

func attributeOf(span sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range span.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}

	return attribute.Value{}
}

func TestSpansFollowCallerTrace(t *testing.T) {
	tb := setupTracing(t)
	callerTrace := "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan := "00f067aa0ba902b7"

	batchID := tb.upload(t, leadsFile(t, 150, importtest.GenerateOptions{Seed: 81}), "00-"+callerTrace+"-"+callerSpan+"-01")
	require.Equal(t, callerTrace, *tb.load(t, batchID).TraceID, "the batch keeps the caller's trace id")

	uploads := tb.ended("import.upload")
	require.Len(t, uploads, 1)
	upload := uploads[0]
	require.Equal(t, callerTrace, upload.SpanContext().TraceID().String())
	require.Equal(t, callerSpan, upload.Parent().SpanID().String(), "the caller's span is the parent")
	require.True(t, upload.Parent().IsRemote())
	require.Equal(t, batchID.String(), attributeOf(upload, "batch.id").AsString())
	require.Equal(t, int64(http.StatusAccepted), attributeOf(upload, "http.response.status_code").AsInt64())

	worked, err := tb.worker.RunOnce(context.Background())
	require.NoError(t, err)
	require.True(t, worked)
	require.Equal(t, StatusCompleted, tb.load(t, batchID).Status)

	batches := tb.ended("import.batch")
	require.Len(t, batches, 1)
	run := batches[0]
	require.Equal(t, callerTrace, run.SpanContext().TraceID().String())
	require.Equal(t, upload.SpanContext().SpanID(), run.Parent().SpanID(), "the batch span hangs under the upload span")
	require.Equal(t, batchID.String(), attributeOf(run, "batch.id").AsString())
	require.Equal(t, tb.load(t, batchID).ClientID.String(), attributeOf(run, "client.id").AsString())
	require.Equal(t, StatusCompleted, attributeOf(run, "batch.status").AsString())

	chunks := tb.ended("omniflow.chunk")
	require.Len(t, chunks, 2)

	chunkSpanIDs := map[string]bool{}
	records := map[int64]int64{}
	for _, chunk := range chunks {
		require.Equal(t, run.SpanContext().SpanID(), chunk.Parent().SpanID(), "each chunk span hangs under the batch span")
		require.Equal(t, int64(http.StatusOK), attributeOf(chunk, "http.response.status_code").AsInt64())
		chunkSpanIDs[chunk.SpanContext().SpanID().String()] = true
		records[attributeOf(chunk, "chunk.id").AsInt64()] = attributeOf(chunk, "chunk.records").AsInt64()
	}
	require.Equal(t, map[int64]int64{1: 100, 2: 50}, records)

	tb.mu.Lock()
	defer tb.mu.Unlock()
	require.Len(t, tb.parents, 2)
	for _, parent := range tb.parents {
		fields := strings.Split(parent, "-")
		require.Len(t, fields, 4, "traceparent %q", parent)
		require.Equal(t, callerTrace, fields[1])
		require.True(t, chunkSpanIDs[fields[2]], "traceparent %q names no omniflow.chunk span", parent)
		require.Equal(t, "01", fields[3])
	}
}

func TestSpansWithoutCallerTrace(t *testing.T) {
	tb := setupTracing(t)

	batchID := tb.upload(t, leadsFile(t, 20, importtest.GenerateOptions{Seed: 82}), "")
	stored := tb.load(t, batchID).TraceID
	require.NotNil(t, stored)

	uploads := tb.ended("import.upload")
	require.Len(t, uploads, 1)
	require.Equal(t, *stored, uploads[0].SpanContext().TraceID().String(), "the upload span uses the batch's new trace id")
	require.False(t, uploads[0].Parent().IsValid(), "without traceparent the upload span is a root")

	_, err := tb.worker.RunOnce(context.Background())
	require.NoError(t, err)

	batches := tb.ended("import.batch")
	require.Len(t, batches, 1)
	require.Equal(t, *stored, batches[0].SpanContext().TraceID().String())
	require.Equal(t, uploads[0].SpanContext().SpanID(), batches[0].Parent().SpanID())
}

func TestChunkTraceParentWithoutExport(t *testing.T) {
	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	parent := uploadSpanContext(Batch{ID: database.NewUUID(), TraceID: &traceID})
	underParent := trace.ContextWithRemoteSpanContext(context.Background(), parent)

	for _, tc := range []struct {
		name   string
		tracer trace.Tracer
		ctx    context.Context
	}{
		{name: "no-op provider", tracer: noop.NewTracerProvider().Tracer(tracerName), ctx: underParent},
		{name: "global provider unset", tracer: otel.Tracer(tracerName), ctx: underParent},
		{name: "no parent", tracer: noop.NewTracerProvider().Tracer(tracerName), ctx: context.Background()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, first := tc.tracer.Start(tc.ctx, "omniflow.chunk")
			_, second := tc.tracer.Start(tc.ctx, "omniflow.chunk")
			header := chunkTraceParent(first, traceID)

			require.Regexp(t, `^00-`+traceID+`-[0-9a-f]{16}-01$`, header)
			spanID := strings.Split(header, "-")[2]
			require.NotEqual(t, "0000000000000000", spanID)
			require.NotEqual(t, parent.SpanID().String(), spanID, "a span that is not recorded carries its parent's id")
			require.NotEqual(t, header, chunkTraceParent(second, traceID), "each chunk gets its own span id")
		})
	}
}
