package cmd_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

// exportedSpan is a span an OTLP receiver decoded, with the service.name
// of the process that sent it.
type exportedSpan struct {
	service string
	span    *tracepb.Span
}

func (s exportedSpan) traceID() string  { return hex.EncodeToString(s.span.GetTraceId()) }
func (s exportedSpan) spanID() string   { return hex.EncodeToString(s.span.GetSpanId()) }
func (s exportedSpan) parentID() string { return hex.EncodeToString(s.span.GetParentSpanId()) }

// spanSink is an OTLP/HTTP trace receiver on 127.0.0.1.
type spanSink struct {
	mu    sync.Mutex
	spans []exportedSpan
}

func newSpanSink(t *testing.T) (*spanSink, string) {
	t.Helper()

	sink := &spanSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		body := &coltracepb.ExportTraceServiceRequest{}
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(data, body) != nil {
			http.Error(w, "expected an OTLP/HTTP protobuf export at /v1/traces", http.StatusBadRequest)

			return
		}

		sink.add(body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	return sink, srv.URL
}

func (s *spanSink) add(body *coltracepb.ExportTraceServiceRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for _, rs := range body.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}

		for _, ss := range rs.GetScopeSpans() {
			for _, span := range ss.GetSpans() {
				s.spans = append(s.spans, exportedSpan{service: service, span: span})
			}
		}
	}
}

// named returns the received spans called name.
func (s *spanSink) named(name string) []exportedSpan {
	s.mu.Lock()
	defer s.mu.Unlock()

	var out []exportedSpan
	for _, span := range s.spans {
		if span.span.GetName() == name {
			out = append(out, span)
		}
	}

	return out
}

// omniFlowRecorder accepts every chunk and keeps the trace headers.
type omniFlowRecorder struct {
	mu           sync.Mutex
	traceparents []string
	traceIDs     []string
}

func newOmniFlowRecorder(t *testing.T) (*omniFlowRecorder, string) {
	t.Helper()

	rec := &omniFlowRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.traceparents = append(rec.traceparents, r.Header.Get("traceparent"))
		rec.traceIDs = append(rec.traceIDs, r.Header.Get("x-trace-id"))
		rec.mu.Unlock()

		// An empty object means every record was imported.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)

	return rec, srv.URL
}

// TestE2ETracing uploads a file with a traceparent and checks that serve
// and work export one trace under the caller's span: import.upload, then
// import.batch, then one omniflow.chunk per chunk, whose id is the parent
// span OmniFlow received. The batch span processor waits longer than the
// test, so the spans arrive only through the flush at stop.
func TestE2ETracing(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		sink, collectorURL := newSpanSink(t)
		omniFlow, omniFlowURL := newOmniFlowRecorder(t)
		s := newStack(t, db, stackOptions{env: []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=" + collectorURL,
			"OTEL_BSP_SCHEDULE_DELAY=600000",
			"OmniFlow__BaseUrl=" + omniFlowURL,
		}})

		callerTrace := randomHex(t, 16)
		callerSpan := randomHex(t, 8)
		content, _ := generateLeads(t, 250, importtest.GenerateOptions{Seed: 91})
		batchID := uploadWithTraceParent(t, s, content, "00-"+callerTrace+"-"+callerSpan+"-01")

		final, _ := s.waitForBatch(t, clientAlpha, batchID)
		require.Equal(t, "Completed", final.Status)

		s.worker.stop(t)
		s.serve.stop(t)

		uploads := sink.named("import.upload")
		require.Len(t, uploads, 1, "serve must flush its spans when it stops")
		upload := uploads[0]
		require.Equal(t, "dataflow-serve", upload.service)
		require.Equal(t, callerTrace, upload.traceID())
		require.Equal(t, callerSpan, upload.parentID())

		batches := sink.named("import.batch")
		require.Len(t, batches, 1, "work must flush its spans when it stops")
		batch := batches[0]
		require.Equal(t, "dataflow-work", batch.service)
		require.Equal(t, callerTrace, batch.traceID())
		require.Equal(t, upload.spanID(), batch.parentID(), "the batch span hangs under the upload span")

		chunks := sink.named("omniflow.chunk")
		require.Len(t, chunks, 3)
		chunkSpanIDs := map[string]bool{}
		for _, chunk := range chunks {
			require.Equal(t, callerTrace, chunk.traceID())
			require.Equal(t, batch.spanID(), chunk.parentID(), "each chunk span hangs under the batch span")
			chunkSpanIDs[chunk.spanID()] = true
		}

		omniFlow.mu.Lock()
		defer omniFlow.mu.Unlock()
		require.Len(t, omniFlow.traceparents, 3)
		for i, header := range omniFlow.traceparents {
			fields := strings.Split(header, "-")
			require.Len(t, fields, 4, "traceparent %q", header)
			require.Equal(t, callerTrace, fields[1])
			require.True(t, chunkSpanIDs[fields[2]], "traceparent %q names no exported omniflow.chunk span", header)
			require.Equal(t, callerTrace, omniFlow.traceIDs[i])
		}

		for _, span := range append(append(uploads, batches...), chunks...) {
			for _, kv := range span.span.GetAttributes() {
				require.NotContains(t, kv.GetValue().GetStringValue(), "@", "span %s attribute %s looks like lead data",
					span.span.GetName(), kv.GetKey())
			}
		}
	})
}

// uploadWithTraceParent posts content as alpha with a traceparent header
// and returns the batch id.
func uploadWithTraceParent(t *testing.T, s *stack, content []byte, traceparent string) string {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", "leads.json")
	require.NoError(t, err)
	_, err = part.Write(content)
	require.NoError(t, err)
	require.NoError(t, form.Close())

	request, err := http.NewRequest(http.MethodPost, s.apiURL+"/imports", &body)
	require.NoError(t, err)
	request.Header.Set("Content-Type", form.FormDataContentType())
	request.Header.Set("traceparent", traceparent)

	response := s.send(t, request, &clientAlpha)
	require.Equal(t, http.StatusAccepted, response.status, "POST /imports answered %s", response.body)

	var accepted uploadAccepted
	require.NoError(t, json.Unmarshal(response.body, &accepted))

	return accepted.BatchID
}
