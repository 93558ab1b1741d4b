package omniflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// testTimeout bounds every wait in the tests.
const testTimeout = 10 * time.Second

// sleepRecorder replaces ClientConfig.Sleep: it records each wait and
// returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()

	return ctx.Err()
}

func (r *sleepRecorder) Waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]time.Duration(nil), r.waits...)
}

// capturedRequest is what captureRequests saw of one request.
type capturedRequest struct {
	header http.Header
	body   []byte
}

// requestCapture wraps a handler and keeps every request's headers and body.
type requestCapture struct {
	mu       sync.Mutex
	requests []capturedRequest
}

func (c *requestCapture) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}

		c.mu.Lock()
		c.requests = append(c.requests, capturedRequest{header: r.Header.Clone(), body: body})
		c.mu.Unlock()

		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func (c *requestCapture) Requests() []capturedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()

	return append([]capturedRequest(nil), c.requests...)
}

// startStandIn serves a new StandIn on 127.0.0.1 until the test ends.
func startStandIn(t testing.TB, cfg StandInConfig) (*StandIn, *httptest.Server) {
	t.Helper()

	standIn := NewStandIn(cfg, zerolog.Nop())
	server := httptest.NewServer(standIn.Handler())
	t.Cleanup(server.Close)

	return standIn, server
}

// startServer serves handler on 127.0.0.1 until the test ends.
func startServer(t testing.TB, handler http.Handler) *httptest.Server {
	t.Helper()

	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)

	return server
}

// newTestClient returns a client for baseURL whose waits go to the returned
// recorder. adjust may change the config before NewClient.
func newTestClient(t testing.TB, baseURL string, adjust func(*ClientConfig)) (*Client, *sleepRecorder) {
	t.Helper()

	recorder := &sleepRecorder{}
	cfg := ClientConfig{
		BaseURL:        baseURL,
		Timeout:        testTimeout,
		MaxRetries:     3,
		RetryBaseDelay: 100 * time.Millisecond,
		Sleep:          recorder.Sleep,
	}
	if adjust != nil {
		adjust(&cfg)
	}

	client, err := NewClient(cfg)
	require.NoError(t, err)

	return client, recorder
}

// makeRecords returns n lead records of about 230 bytes. Records listed in
// withoutPhone have no phoneNumber.
func makeRecords(n int, withoutPhone ...int) []json.RawMessage {
	skip := map[int]bool{}
	for _, i := range withoutPhone {
		skip[i] = true
	}

	records := make([]json.RawMessage, n)
	for i := range records {
		phone := fmt.Sprintf(`,"phoneNumber":"+1555%07d"`, i)
		if skip[i] {
			phone = ""
		}
		records[i] = json.RawMessage(fmt.Sprintf(
			`{"firstName":"Alexandra","lastName":"Montgomery","email":"alexandra.montgomery%06d@example.com"%s,`+
				`"company":"Northwind Traders","city":"Dayton","country":"US",`+
				`"source":"web-form","notes":"demo request"}`, i, phone))
	}

	return records
}

func testContext(t testing.TB) context.Context {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)

	return ctx
}

// doRequest sends body to url with the given method and returns the status
// and the response body.
func doRequest(t testing.TB, method, url, contentType, body string) (int, []byte) {
	t.Helper()

	req, err := http.NewRequestWithContext(testContext(t), method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	return resp.StatusCode, data
}

// getJSON fetches url and decodes the JSON response into target.
func getJSON(t testing.TB, url string, target any) int {
	t.Helper()

	status, data := doRequest(t, http.MethodGet, url, "", "")
	require.NoError(t, json.Unmarshal(data, target), "response body: %s", data)

	return status
}
