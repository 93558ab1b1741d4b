package tracing

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on 127.0.0.1 that keeps
// every request it decodes.
type otlpReceiver struct {
	url string
	// status is the HTTP status it responds with.
	status int

	mu       sync.Mutex
	requests []receivedExport
}

type receivedExport struct {
	path   string
	header http.Header
	body   *coltracepb.ExportTraceServiceRequest
}

func newOTLPReceiver(t *testing.T, status int) *otlpReceiver {
	t.Helper()

	r := &otlpReceiver{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		data, err := io.ReadAll(req.Body)
		if err != nil || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "expected an application/x-protobuf body", http.StatusUnsupportedMediaType)

			return
		}

		body := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(data, body); err != nil {
			http.Error(w, "decoding the body failed", http.StatusBadRequest)

			return
		}

		r.mu.Lock()
		r.requests = append(r.requests, receivedExport{path: req.URL.Path, header: req.Header.Clone(), body: body})
		r.mu.Unlock()

		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(r.status)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL

	return r
}

func (r *otlpReceiver) exports() []receivedExport {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]receivedExport(nil), r.requests...)
}

// spans returns every span received, by name, with the service name of
// its resource.
func (r *otlpReceiver) spans() map[string]receivedSpan {
	out := map[string]receivedSpan{}
	for _, export := range r.exports() {
		for _, rs := range export.body.GetResourceSpans() {
			attrs := map[string]string{}
			for _, kv := range rs.GetResource().GetAttributes() {
				attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
			}

			for _, ss := range rs.GetScopeSpans() {
				for _, span := range ss.GetSpans() {
					out[span.GetName()] = receivedSpan{span: span, resource: attrs}
				}
			}
		}
	}

	return out
}

type receivedSpan struct {
	span     *tracepb.Span
	resource map[string]string
}

// syncBuffer is a log destination that goroutines of the SDK may write to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// clearOTELEnvironment empties the variables Setup and the exporter read,
// so that a developer's shell cannot change what a test runs.
func clearOTELEnvironment(t *testing.T) {
	t.Helper()

	for _, name := range []string{
		envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol, envSDKDisabled, envTracesExporter,
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
		"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_COMPRESSION",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
		envSampler, envSamplerArg, envTimeout, envTracesTimeout,
		envScheduleDelay, envExportTimeout, envMaxQueueSize, envMaxExportBatchSize,
	} {
		t.Setenv(name, "")
	}
}

// setup runs Setup and returns its shutdown function and log.
func setup(t *testing.T, serviceName string) (func(context.Context) error, *syncBuffer) {
	t.Helper()

	logs := &syncBuffer{}
	shutdown, err := Setup(context.Background(), serviceName, zerolog.New(logs))
	require.NoError(t, err)

	return shutdown, logs
}

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// emitSpans starts a root span with the test ids and a child under it.
func emitSpans() {
	ctx, root := StartWithIDs(context.Background(), otel.Tracer("test"), "root", testTraceID, testSpanID)
	_, child := otel.Tracer("test").Start(ctx, "child")
	child.End()
	root.End()
}

func TestSetupExportsSpans(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, receiver.url)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=test-key")

	shutdown, logs := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	exports := receiver.exports()
	require.NotEmpty(t, exports, "no export reached the receiver; log:\n%s", logs)
	require.Equal(t, "/v1/traces", exports[0].path, "OTEL_EXPORTER_OTLP_ENDPOINT is a base URL")
	require.Equal(t, "test-key", exports[0].header.Get("x-collector-key"), "OTEL_EXPORTER_OTLP_HEADERS must be sent")

	spans := receiver.spans()
	require.Contains(t, spans, "root")
	require.Contains(t, spans, "child")

	root, child := spans["root"], spans["child"]
	require.Equal(t, testTraceID[:], root.span.GetTraceId())
	require.Equal(t, testSpanID[:], root.span.GetSpanId())
	require.Empty(t, root.span.GetParentSpanId())
	require.Equal(t, testTraceID[:], child.span.GetTraceId())
	require.Equal(t, testSpanID[:], child.span.GetParentSpanId())
	require.NotEqual(t, testSpanID[:], child.span.GetSpanId(), "a child must not inherit the fixed span id")

	require.Equal(t, "dataflow-test", root.resource["service.name"])
	require.NotEmpty(t, root.resource["service.version"])
	require.Contains(t, logs.String(), "tracing: exporting spans over OTLP/HTTP")
}

func TestSetupServiceNameFromEnvironment(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, receiver.url)
	t.Setenv("OTEL_SERVICE_NAME", "dataflow-custom")

	shutdown, _ := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	spans := receiver.spans()
	require.Contains(t, spans, "root")
	require.Equal(t, "dataflow-custom", spans["root"].resource["service.name"])
}

func TestSetupTracesEndpointUsedAsIs(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, "http://127.0.0.1:1")
	t.Setenv(envTracesEndpoint, receiver.url+"/custom/traces")

	shutdown, _ := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	exports := receiver.exports()
	require.NotEmpty(t, exports)
	require.Equal(t, "/custom/traces", exports[0].path)
}

func TestSetupGRPCProtocolWarns(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, receiver.url)
	t.Setenv(envProtocol, "grpc")

	shutdown, logs := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	require.Contains(t, logs.String(), "OTLP over gRPC is not supported")
	require.Contains(t, logs.String(), envProtocol+"=http/protobuf")
	require.Contains(t, receiver.spans(), "root", "spans must still go over HTTP")
}

func TestSetupOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{name: "no endpoint", env: map[string]string{}},
		{name: "sdk disabled", env: map[string]string{envSDKDisabled: "true"}},
		{name: "exporter none", env: map[string]string{envTracesExporter: "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTELEnvironment(t)
			receiver := newOTLPReceiver(t, http.StatusOK)
			if len(tc.env) > 0 {
				t.Setenv(envEndpoint, receiver.url)
			}

			for name, value := range tc.env {
				t.Setenv(name, value)
			}

			shutdown, _ := setup(t, "dataflow-test")
			_, span := StartWithIDs(context.Background(), otel.Tracer("test"), "root", testTraceID, testSpanID)
			require.False(t, span.IsRecording())
			require.False(t, span.SpanContext().IsValid(), "the no-op provider makes no span ids")
			span.End()

			require.NoError(t, shutdown(context.Background()))
			require.Empty(t, receiver.exports())
		})
	}
}

func TestSetupInvalidEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		variable string
		value    string
	}{
		{name: "no scheme", variable: envEndpoint, value: "otel-collector:4318"},
		{name: "grpc scheme", variable: envTracesEndpoint, value: "grpc://otel-collector:4317"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTELEnvironment(t)
			t.Setenv(tc.variable, tc.value)

			_, err := Setup(context.Background(), "dataflow-test", zerolog.Nop())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.variable)
			require.Contains(t, err.Error(), "http://otel-collector:4318")
		})
	}
}

func TestSetupLogsRejectedExport(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusBadRequest)
	t.Setenv(envEndpoint, receiver.url)

	shutdown, logs := setup(t, "dataflow-test")
	emitSpans()
	_ = shutdown(context.Background())

	require.NotEmpty(t, receiver.exports())
	require.Contains(t, logs.String(), "tracing: OpenTelemetry SDK error")
}

func TestErrorLoggerLimitsRepeats(t *testing.T) {
	logs := &syncBuffer{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	handler := newErrorLogger(zerolog.New(logs), func() time.Time { return now })

	handler.Handle(io.ErrUnexpectedEOF)
	handler.Handle(io.ErrUnexpectedEOF)
	now = now.Add(logInterval - time.Second)
	handler.Handle(io.ErrUnexpectedEOF)
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), "errors within the interval are counted, not logged")

	now = now.Add(time.Second)
	handler.Handle(io.ErrClosedPipe)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[1], `"suppressed":2`)
	require.Contains(t, lines[1], io.ErrClosedPipe.Error())
}
