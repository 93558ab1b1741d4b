package httpserver_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/metrics"
)

// logBuffer is a log destination that the server's goroutines write to
// while the test reads it.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.lines = append(b.lines, strings.TrimSpace(string(p)))

	return len(p), nil
}

// entries returns the decoded log entries whose message is message.
func (b *logBuffer) entries(t *testing.T, message string) []map[string]any {
	t.Helper()

	b.mu.Lock()
	defer b.mu.Unlock()

	var out []map[string]any
	for _, line := range b.lines {
		entry := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "log line is not JSON: %s", line)
		if entry["message"] == message {
			out = append(out, entry)
		}
	}

	return out
}

// send makes a request to a real server on 127.0.0.1 and drains the body.
func send(t *testing.T, method, url string) int {
	t.Helper()

	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	_, _ = io.Copy(io.Discard, resp.Body)

	return resp.StatusCode
}

func scrapeMetrics(t *testing.T) string {
	t.Helper()

	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	return rec.Body.String()
}

func TestHTTPMetricsUnknownMethod(t *testing.T) {
	srv := httpserver.New(zerolog.Nop())
	srv.Echo.GET("/method-label-test", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)

	other := metrics.HTTPRequests.WithLabelValues("other", "/method-label-test", "405")
	get := metrics.HTTPRequests.WithLabelValues("GET", "/method-label-test", "204")
	otherBefore, getBefore := testutil.ToFloat64(other), testutil.ToFloat64(get)

	require.Equal(t, http.StatusMethodNotAllowed, send(t, "XA1", ts.URL+"/method-label-test"))
	require.Equal(t, http.StatusMethodNotAllowed, send(t, "xa2", ts.URL+"/method-label-test"))
	require.Equal(t, http.StatusNoContent, send(t, http.MethodGet, ts.URL+"/method-label-test"))

	require.Equal(t, otherBefore+2, testutil.ToFloat64(other))
	require.Equal(t, getBefore+1, testutil.ToFloat64(get))

	body := scrapeMetrics(t)
	require.NotContains(t, body, `method="XA1"`)
	require.NotContains(t, body, `method="xa2"`)
	require.Contains(t, body, `dataflow_http_request_duration_seconds_count{method="other",route="/method-label-test"}`)
}

func TestLogsCarryPathIDs(t *testing.T) {
	logs := &logBuffer{}
	srv := httpserver.New(zerolog.New(logs).Level(zerolog.DebugLevel))
	notFound := httpserver.NewError(http.StatusNotFound, "batch_not_found", "No such batch.", "Lote não encontrado.")
	srv.Echo.GET("/imports/:batchId", func(echo.Context) error { return notFound })
	srv.Echo.POST("/webhooks/:webhookId/deliveries/:deliveryId/redeliver", func(echo.Context) error {
		return errors.New("database unavailable")
	})
	srv.Echo.GET("/panics/:batchId", func(echo.Context) error { panic("boom") })
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)

	t.Run("api error", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, send(t, http.MethodGet, ts.URL+"/imports/batch-1"))

		failed := logs.entries(t, "http: request failed")
		require.Len(t, failed, 1)
		require.Equal(t, "batch-1", failed[0]["batch_id"])
		require.Equal(t, "batch_not_found", failed[0]["code"])
		require.NotContains(t, failed[0], "batchId")

		access := logs.entries(t, "http: request")
		require.Len(t, access, 1)
		require.Equal(t, "batch-1", access[0]["batch_id"])
	})

	t.Run("internal error with two ids", func(t *testing.T) {
		require.Equal(t, http.StatusInternalServerError,
			send(t, http.MethodPost, ts.URL+"/webhooks/hook-1/deliveries/delivery-2/redeliver"))

		failed := logs.entries(t, "http: request failed")
		require.Len(t, failed, 2)
		require.Equal(t, "hook-1", failed[1]["webhook_id"])
		require.Equal(t, "delivery-2", failed[1]["delivery_id"])
		require.Equal(t, "error", failed[1]["level"])
	})

	t.Run("panic", func(t *testing.T) {
		require.Equal(t, http.StatusInternalServerError, send(t, http.MethodGet, ts.URL+"/panics/batch-3"))

		panicked := logs.entries(t, "http: handler panicked")
		require.Len(t, panicked, 1)
		require.Equal(t, "batch-3", panicked[0]["batch_id"])
	})

	t.Run("long id is cut", func(t *testing.T) {
		long := strings.Repeat("é", 100)
		require.Equal(t, http.StatusNotFound, send(t, http.MethodGet, ts.URL+"/imports/"+long))

		failed := logs.entries(t, "http: request failed")
		last := failed[len(failed)-1]
		require.Equal(t, strings.Repeat("é", 64), last["batch_id"])
	})

	t.Run("unmatched path has no ids", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, send(t, http.MethodGet, ts.URL+"/nope/batch-4"))

		failed := logs.entries(t, "http: request failed")
		last := failed[len(failed)-1]
		require.Equal(t, "not_found", last["code"])
		require.NotContains(t, last, "batch_id")
	})
}
