package omniflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestNewClient(t *testing.T) {
	t.Run("rejects missing base url", func(t *testing.T) {
		_, err := NewClient(ClientConfig{})
		require.ErrorContains(t, err, "BaseURL is missing")
	})

	t.Run("rejects invalid base urls", func(t *testing.T) {
		for _, raw := range []string{"crm.example.com", "ftp://crm.example.com", "http://", "http://crm.example.com/?a=1", "http://[::1"} {
			_, err := NewClient(ClientConfig{BaseURL: raw})
			require.Error(t, err, raw)
		}
	})

	t.Run("applies defaults", func(t *testing.T) {
		client, err := NewClient(ClientConfig{BaseURL: "https://crm.example.com/", MaxRetries: -1})
		require.NoError(t, err)

		require.Equal(t, "https://crm.example.com/api/leads/import", client.importURL)
		require.Equal(t, 30*time.Second, client.cfg.Timeout)
		require.Equal(t, 0, client.cfg.MaxRetries)
		require.Equal(t, time.Second, client.cfg.RetryBaseDelay)
		require.Equal(t, 5*time.Minute, client.cfg.MaxRetryAfter)
		require.NotNil(t, client.cfg.HTTPClient)
		require.NotNil(t, client.cfg.Sleep)
	})

	t.Run("adds leading slash to import path", func(t *testing.T) {
		client, err := NewClient(ClientConfig{BaseURL: "http://127.0.0.1:8080", ImportPath: "v2/leads"})
		require.NoError(t, err)
		require.Equal(t, "http://127.0.0.1:8080/v2/leads", client.importURL)
	})
}

func TestClient(t *testing.T) {
	t.Run("delivers chunk with contract headers", func(t *testing.T) {
		standIn, _ := startStandIn(t, StandInConfig{KeepRecords: true})
		capture := &requestCapture{}
		server := startServer(t, capture.wrap(standIn.Handler()))
		client, recorder := newTestClient(t, server.URL, nil)

		batchID := uuid.NewString()
		records := makeRecords(3)
		chunk := Chunk{
			BatchID:     batchID,
			ChunkID:     4,
			Offset:      300,
			Items:       records,
			TraceID:     "trace-123",
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		}
		result, err := client.SendChunk(testContext(t), chunk)
		require.NoError(t, err)

		require.Equal(t, OutcomeDelivered, result.Outcome)
		require.Equal(t, http.StatusOK, result.StatusCode)
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
		require.Len(t, result.Items, 3)
		for i, item := range result.Items {
			require.Equal(t, int64(300+i), item.Sequence)
			require.True(t, item.Success, "record %d", i)
			require.Empty(t, item.Error)
			_, parseErr := uuid.Parse(item.LeadID)
			require.NoError(t, parseErr, "lead id %q", item.LeadID)
		}

		requests := capture.Requests()
		require.Len(t, requests, 1)
		header := requests[0].header
		require.Equal(t, "application/json", header.Get("Content-Type"))
		require.Equal(t, "dataflow", header.Get("User-Agent"))
		require.Equal(t, "trace-123", header.Get("x-trace-id"))
		require.Equal(t, batchID, header.Get("x-batch-id"))
		require.Equal(t, "4", header.Get("x-chunk-id"))
		require.Equal(t, batchID+":4", header.Get("Idempotency-Key"))
		require.Equal(t, chunk.TraceParent, header.Get("traceparent"))

		var body struct {
			BatchID string            `json:"batchId"`
			ChunkID int               `json:"chunkId"`
			Offset  int64             `json:"offset"`
			Items   []json.RawMessage `json:"items"`
		}
		require.NoError(t, json.Unmarshal(requests[0].body, &body))
		require.Equal(t, batchID, body.BatchID)
		require.Equal(t, 4, body.ChunkID)
		require.Equal(t, int64(300), body.Offset)
		require.Len(t, body.Items, 3)
		for i := range records {
			require.JSONEq(t, string(records[i]), string(body.Items[i]))
		}

		stored := standIn.Records(batchID)
		require.Len(t, stored, 3)
		require.Equal(t, int64(300), stored[0].Sequence)
		require.JSONEq(t, string(records[0]), string(stored[0].Record))
	})

	t.Run("derives trace id when chunk has none", func(t *testing.T) {
		standIn, _ := startStandIn(t, StandInConfig{})
		capture := &requestCapture{}
		server := startServer(t, capture.wrap(standIn.Handler()))
		client, _ := newTestClient(t, server.URL, nil)

		withParent := Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1),
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		_, err := client.SendChunk(testContext(t), withParent)
		require.NoError(t, err)
		_, err = client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 2, Items: makeRecords(1)})
		require.NoError(t, err)

		requests := capture.Requests()
		require.Len(t, requests, 2)
		require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", requests[0].header.Get("x-trace-id"))
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), requests[1].header.Get("x-trace-id"))
		require.Empty(t, requests[1].header.Values("traceparent"))
	})

	t.Run("reports records missing required field", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{RequiredFields: []string{"phoneNumber"}, KeepRecords: true})
		client, _ := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b1", ChunkID: 1, Offset: 10, Items: makeRecords(4, 1, 3)})
		require.NoError(t, err)

		require.Equal(t, OutcomeDelivered, result.Outcome)
		require.True(t, result.Items[0].Success)
		require.False(t, result.Items[1].Success)
		require.Equal(t, "missing required field phoneNumber", result.Items[1].Error)
		require.Empty(t, result.Items[1].LeadID)
		require.True(t, result.Items[2].Success)
		require.False(t, result.Items[3].Success)

		batch := standIn.Stats().Batches["b1"]
		require.Equal(t, int64(2), batch.RecordsAccepted)
		require.Equal(t, int64(2), batch.RecordsRejected)
		stored := standIn.Records("b1")
		require.Len(t, stored, 2)
		require.Equal(t, int64(10), stored[0].Sequence)
		require.Equal(t, int64(12), stored[1].Sequence)
	})

	t.Run("rejects chunk on HTTP 400 with body excerpt", func(t *testing.T) {
		// 512 minus the prefix length is odd, so the cut at 512 bytes
		// splits a two-byte "é" that must be dropped.
		prefix := "{\"error\":\"bad\x07request\"}"
		require.Equal(t, 1, (512-len(prefix))%2)
		body := prefix + strings.Repeat("é", 300)
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(body))
		}))
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Offset: 5, Items: makeRecords(2)})
		require.NoError(t, err)

		want := "omniflow rejected the chunk: HTTP 400: {\"error\":\"badrequest\"}" + strings.Repeat("é", (512-len(prefix))/2)
		require.Equal(t, OutcomeRejected, result.Outcome)
		require.Equal(t, http.StatusBadRequest, result.StatusCode)
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
		require.Equal(t, []ItemResult{{Sequence: 5, Error: want}, {Sequence: 6, Error: want}}, result.Items)
	})

	t.Run("classifies statuses as retry or rejection", func(t *testing.T) {
		cases := []struct {
			status       int
			wantAttempts int
			wantOutcome  Outcome
		}{
			{http.StatusRequestTimeout, 2, OutcomeNotDelivered},
			{http.StatusTooManyRequests, 2, OutcomeNotDelivered},
			{http.StatusInternalServerError, 2, OutcomeNotDelivered},
			{http.StatusBadGateway, 2, OutcomeNotDelivered},
			{http.StatusNotFound, 1, OutcomeRejected},
			{http.StatusConflict, 1, OutcomeRejected},
			{http.StatusUnprocessableEntity, 1, OutcomeRejected},
		}
		for _, tc := range cases {
			server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
			}))
			client, _ := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 1 })

			result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
			require.Equal(t, tc.wantAttempts, result.Attempts, "status %d", tc.status)
			require.Equal(t, tc.wantOutcome, result.Outcome, "status %d", tc.status)
			require.Equal(t, tc.status, result.StatusCode, "status %d", tc.status)
			if tc.wantOutcome == OutcomeRejected {
				require.NoError(t, err, "status %d", tc.status)
				require.Equal(t, fmt.Sprintf("omniflow rejected the chunk: HTTP %d", tc.status), result.Items[0].Error)
			} else {
				require.ErrorIs(t, err, ErrUnavailable, "status %d", tc.status)
			}
		}
	})

	t.Run("retries 503 then succeeds", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{FailFirst: 2})
		var logs bytes.Buffer
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) {
			cfg.Logger = zerolog.New(&logs)
		})

		records := makeRecords(2)
		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 7, Items: records})
		require.NoError(t, err)

		require.Equal(t, OutcomeDelivered, result.Outcome)
		require.Equal(t, 3, result.Attempts)
		require.True(t, result.Items[0].Success)
		require.True(t, result.Items[1].Success)

		waits := recorder.Waits()
		require.Len(t, waits, 2)
		require.GreaterOrEqual(t, waits[0], 50*time.Millisecond)
		require.LessOrEqual(t, waits[0], 100*time.Millisecond)
		require.GreaterOrEqual(t, waits[1], 100*time.Millisecond)
		require.LessOrEqual(t, waits[1], 200*time.Millisecond)

		batch := standIn.Stats().Batches["b"]
		require.Equal(t, int64(3), batch.Requests)
		require.Len(t, batch.Chunks, 1)
		require.Equal(t, int64(3), batch.Chunks[0].Requests)
		require.Equal(t, int64(1), batch.Chunks[0].TimesReceived)

		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		require.Len(t, lines, 2)
		for i, line := range lines {
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &entry))
			require.Equal(t, "warn", entry["level"])
			require.Equal(t, "b", entry["batch_id"])
			require.Equal(t, float64(7), entry["chunk_id"])
			require.Equal(t, float64(i+1), entry["attempt"])
			require.Equal(t, float64(503), entry["status"])
			require.Equal(t, float64(waits[i].Milliseconds()), entry["delay_ms"])
			require.True(t, strings.HasPrefix(entry["message"].(string), "omniflow: "))
		}
		require.NotContains(t, logs.String(), "alexandra")
		require.NotContains(t, logs.String(), "+1555")
	})

	t.Run("honours Retry-After seconds", func(t *testing.T) {
		standIn, _ := startStandIn(t, StandInConfig{})
		var calls atomic.Int32
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			standIn.Handler().ServeHTTP(w, r)
		}))
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.NoError(t, err)

		require.Equal(t, 2, result.Attempts)
		require.Equal(t, []time.Duration{7 * time.Second}, recorder.Waits())
		require.True(t, result.Items[0].Success)
	})

	t.Run("honours Retry-After HTTP date", func(t *testing.T) {
		var calls atomic.Int32
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.NoError(t, err)

		require.Equal(t, 2, result.Attempts)
		waits := recorder.Waits()
		require.Len(t, waits, 1)
		// The date has whole seconds, so up to one second is lost.
		require.Greater(t, waits[0], 25*time.Second)
		require.LessOrEqual(t, waits[0], 30*time.Second)
	})

	t.Run("stand-in rate limit sends Retry-After", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond})
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 1 })

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)

		require.Equal(t, 2, result.Attempts)
		require.Equal(t, []time.Duration{2 * time.Second}, recorder.Waits())
		require.Equal(t, int64(2), standIn.Stats().StatusCounts[http.StatusTooManyRequests])
	})

	t.Run("returns ErrUnavailable when retries run out", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{ErrorRate: 1})
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 2 })

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 2, Offset: 100, Items: makeRecords(2)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorContains(t, err, "HTTP 503")
		require.ErrorContains(t, err, "giving up after 3 attempts")

		var unavailable *UnavailableError
		require.ErrorAs(t, err, &unavailable)
		require.Equal(t, http.StatusServiceUnavailable, unavailable.StatusCode)
		require.Equal(t, 3, unavailable.Attempts)

		require.Equal(t, OutcomeNotDelivered, result.Outcome)
		require.Equal(t, 3, result.Attempts)
		require.Equal(t, http.StatusServiceUnavailable, result.StatusCode)
		require.Len(t, result.Items, 2)
		require.Equal(t, int64(101), result.Items[1].Sequence)
		require.False(t, result.Items[1].Success)
		require.Len(t, recorder.Waits(), 2)
		require.Equal(t, int64(3), standIn.Stats().Batches["b"].Requests)
	})

	t.Run("makes one attempt when retries are off", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{ErrorRate: 1})
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
	})

	t.Run("returns ErrUnavailable at once for long Retry-After", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{RateLimitRate: 1, RetryAfter: 10 * time.Minute})
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorContains(t, err, "Retry-After of 10m0s is longer than MaxRetryAfter 5m0s")

		var unavailable *UnavailableError
		require.ErrorAs(t, err, &unavailable)
		require.Equal(t, 10*time.Minute, unavailable.RetryAfter)
		require.Equal(t, http.StatusTooManyRequests, unavailable.StatusCode)
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
		require.Equal(t, int64(1), standIn.Stats().Requests)
	})

	t.Run("uses configured MaxRetryAfter", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{RateLimitRate: 1, RetryAfter: 6 * time.Second})
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetryAfter = 5 * time.Second })

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
	})

	t.Run("retries timed out request", func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		// Cleanups run last-in first-out, so handlers are released before
		// server.Close waits for them.
		t.Cleanup(func() { close(release) })
		client, recorder := newTestClient(t, server.URL, func(cfg *ClientConfig) {
			cfg.Timeout = 50 * time.Millisecond
			cfg.MaxRetries = 1
		})

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "request timed out after 50ms")
		require.Equal(t, 2, result.Attempts)
		require.Equal(t, 0, result.StatusCode)
		require.Len(t, recorder.Waits(), 1)
		require.Equal(t, int32(2), calls.Load())
	})

	t.Run("retries refused connection", func(t *testing.T) {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := listener.Addr().String()
		require.NoError(t, listener.Close())
		client, recorder := newTestClient(t, "http://"+addr, func(cfg *ClientConfig) { cfg.MaxRetries = 1 })

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		require.Equal(t, 2, result.Attempts)
		require.Equal(t, 0, result.StatusCode)
		require.Len(t, recorder.Waits(), 1)
	})

	t.Run("stops waiting when context is cancelled", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{ErrorRate: 1})
		waiting := make(chan struct{})
		client, _ := newTestClient(t, server.URL, func(cfg *ClientConfig) {
			cfg.RetryBaseDelay = time.Hour
			cfg.Sleep = func(ctx context.Context, d time.Duration) error {
				close(waiting)
				return sleepContext(ctx, d)
			}
		})

		ctx, cancel := context.WithCancel(testContext(t))
		type sendOutcome struct {
			result Result
			err    error
		}
		done := make(chan sendOutcome, 1)
		go func() {
			result, err := client.SendChunk(ctx, Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
			done <- sendOutcome{result, err}
		}()

		select {
		case <-waiting:
		case <-time.After(testTimeout):
			t.Fatal("client did not start waiting to retry")
		}
		cancel()

		select {
		case outcome := <-done:
			require.ErrorIs(t, outcome.err, context.Canceled)
			require.NotErrorIs(t, outcome.err, ErrUnavailable)
			require.Equal(t, 1, outcome.result.Attempts)
			require.Equal(t, OutcomeNotDelivered, outcome.result.Outcome)
		case <-time.After(testTimeout):
			t.Fatal("SendChunk kept waiting after the context was cancelled")
		}
	})

	t.Run("sends nothing with cancelled context", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		result, err := client.SendChunk(ctx, Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 0, result.Attempts)
		require.Equal(t, int64(0), standIn.Stats().Requests)
	})

	t.Run("treats 2xx without items as all imported", func(t *testing.T) {
		cases := []struct {
			name   string
			status int
			body   string
		}{
			{"empty 204", http.StatusNoContent, ""},
			{"empty 200", http.StatusOK, ""},
			{"object without items", http.StatusOK, `{"status":"ok","imported":2}`},
			{"null items", http.StatusAccepted, `{"items":null}`},
			{"items not an array", http.StatusOK, `{"items":"all"}`},
			{"plain text", http.StatusOK, "OK"},
			{"JSON array", http.StatusOK, `[1,2]`},
		}
		for _, tc := range cases {
			server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			client, _ := newTestClient(t, server.URL, nil)

			result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Offset: 8, Items: makeRecords(2)})
			require.NoError(t, err, tc.name)
			require.Equal(t, OutcomeDelivered, result.Outcome, tc.name)
			require.Equal(t, []ItemResult{{Sequence: 8, Success: true}, {Sequence: 9, Success: true}}, result.Items, tc.name)
		}
	})

	t.Run("retries 2xx with malformed JSON", func(t *testing.T) {
		standIn, _ := startStandIn(t, StandInConfig{})
		var calls atomic.Int32
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				_, _ = w.Write([]byte(`{"items":[{"sequence":0,`))
				return
			}
			standIn.Handler().ServeHTTP(w, r)
		}))
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(2)})
		require.NoError(t, err)
		require.Equal(t, 2, result.Attempts)
		require.Len(t, recorder.Waits(), 1)
		require.True(t, result.Items[0].Success)
		require.NotEmpty(t, result.Items[0].LeadID)
	})

	t.Run("maps index and absolute sequences", func(t *testing.T) {
		cases := []struct {
			name   string
			offset int64
			items  string
			want   []ItemResult
		}{
			{
				name:   "absolute sequences",
				offset: 100,
				items:  `[{"sequence":102,"success":true,"leadId":"c"},{"sequence":100,"success":true,"leadId":"a"},{"sequence":101,"success":false,"error":"duplicate email"}]`,
				want:   []ItemResult{{100, true, "a", ""}, {101, false, "", "duplicate email"}, {102, true, "c", ""}},
			},
			{
				name:   "indexes within chunk",
				offset: 100,
				items:  `[{"sequence":0,"success":true,"leadId":"a"},{"sequence":1,"success":true,"leadId":"b"},{"sequence":2,"success":true,"leadId":"c"}]`,
				want:   []ItemResult{{100, true, "a", ""}, {101, true, "b", ""}, {102, true, "c", ""}},
			},
			{
				name:   "indexes overlapping absolute range",
				offset: 2,
				items:  `[{"sequence":0,"success":true,"leadId":"a"},{"sequence":1,"success":true,"leadId":"b"},{"sequence":2,"success":true,"leadId":"c"}]`,
				want:   []ItemResult{{2, true, "a", ""}, {3, true, "b", ""}, {4, true, "c", ""}},
			},
			{
				name:   "mixed values and missing record",
				offset: 100,
				items:  `[{"sequence":100,"success":true,"leadId":"a"},{"sequence":1,"success":true,"leadId":"b"},{"sequence":500,"success":true,"leadId":"x"}]`,
				want:   []ItemResult{{100, true, "a", ""}, {101, true, "b", ""}, {102, false, "", errNoResult}},
			},
			{
				name:   "numeric lead id and loose fields",
				offset: 0,
				items:  `[{"sequence":0,"success":true,"leadId":12345},{"sequence":1.0,"leadId":"b","extra":{"x":1}},{"sequence":2,"success":false}]`,
				want:   []ItemResult{{0, true, "12345", ""}, {1, true, "b", ""}, {2, false, "", errNoReason}},
			},
			{
				name:   "repeated and malformed entries",
				offset: 0,
				items:  `[{"sequence":0,"success":false,"error":"bad\nphone"},{"sequence":0,"success":true,"leadId":"a"},{"sequence":"x"},"junk",{"sequence":2,"success":true,"leadId":"c"}]`,
				want:   []ItemResult{{0, false, "", "bad phone"}, {1, false, "", errNoResult}, {2, true, "c", ""}},
			},
		}
		for _, tc := range cases {
			server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"batchId":"b","total":3,"items":` + tc.items + `}`))
			}))
			client, _ := newTestClient(t, server.URL, nil)

			result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Offset: tc.offset, Items: makeRecords(3)})
			require.NoError(t, err, tc.name)
			require.Equal(t, OutcomeDelivered, result.Outcome, tc.name)
			require.Equal(t, tc.want, result.Items, tc.name)
		}
	})

	t.Run("stops at redirect", func(t *testing.T) {
		server := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://127.0.0.1:1/elsewhere", http.StatusFound)
		}))
		client, recorder := newTestClient(t, server.URL, nil)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorContains(t, err, "HTTP 302 redirect")
		require.Equal(t, 1, result.Attempts)
		require.Empty(t, recorder.Waits())
	})

	t.Run("rejects invalid chunks without sending", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, nil)
		cases := []struct {
			name  string
			chunk Chunk
			want  string
		}{
			{"missing batch id", Chunk{ChunkID: 1, Items: makeRecords(1)}, "batch id is missing"},
			{"zero chunk id", Chunk{BatchID: "b", Items: makeRecords(1)}, "chunk id must be 1 or more"},
			{"negative offset", Chunk{BatchID: "b", ChunkID: 1, Offset: -1, Items: makeRecords(1)}, "offset -1 is negative"},
			{"no items", Chunk{BatchID: "b", ChunkID: 1}, "chunk has no items"},
			{"item not object", Chunk{BatchID: "b", ChunkID: 1, Offset: 4, Items: []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`[1]`)}}, "item 1 (sequence 5) is not a JSON object"},
			{"empty item", Chunk{BatchID: "b", ChunkID: 1, Items: []json.RawMessage{nil}}, "item 0 (sequence 0) is not a JSON object"},
			{"control character in batch id", Chunk{BatchID: "b\r\nX-Evil: 1", ChunkID: 1, Items: makeRecords(1)}, "BatchID contains a control character"},
		}
		for _, tc := range cases {
			result, err := client.SendChunk(testContext(t), tc.chunk)
			require.ErrorContains(t, err, tc.want, tc.name)
			require.NotErrorIs(t, err, ErrUnavailable, tc.name)
			require.Equal(t, 0, result.Attempts, tc.name)
		}
		require.Equal(t, int64(0), standIn.Stats().Requests)
	})

	t.Run("escapes batch id in body", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, nil)
		batchID := `quote"and\backslash`

		_, err := client.SendChunk(testContext(t), Chunk{BatchID: batchID, ChunkID: 1, Items: makeRecords(1)})
		require.NoError(t, err)
		require.Contains(t, standIn.Stats().Batches, batchID)
	})

	t.Run("reuses connections", func(t *testing.T) {
		standIn := NewStandIn(StandInConfig{FailFirst: 1}, zerolog.Nop())
		var calls, connections atomic.Int32
		server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 3 {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write(bytes.Repeat([]byte("x"), 100_000))
				return
			}
			standIn.Handler().ServeHTTP(w, r)
		}))
		server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				connections.Add(1)
			}
		}
		server.Start()
		t.Cleanup(server.Close)
		client, _ := newTestClient(t, server.URL, nil)

		for chunkID := 1; chunkID <= 4; chunkID++ {
			_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: chunkID, Items: makeRecords(10)})
			require.NoError(t, err)
		}
		require.Equal(t, int32(5), calls.Load())
		require.Equal(t, int32(1), connections.Load())
	})
}

func TestBackoffDelay(t *testing.T) {
	t.Run("doubles within equal jitter bounds", func(t *testing.T) {
		for retry := range 5 {
			ceiling := time.Second << retry
			for range 50 {
				delay := backoffDelay(time.Second, retry)
				require.GreaterOrEqual(t, delay, ceiling/2, "retry %d", retry)
				require.LessOrEqual(t, delay, ceiling, "retry %d", retry)
			}
		}
	})

	t.Run("caps at five minutes", func(t *testing.T) {
		for _, retry := range []int{9, 30, 64, 1000} {
			delay := backoffDelay(time.Second, retry)
			require.GreaterOrEqual(t, delay, MaxBackoff/2)
			require.LessOrEqual(t, delay, MaxBackoff)
		}
		require.LessOrEqual(t, backoffDelay(time.Hour, 0), MaxBackoff)
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Sat, 01 Mar 2025 11:59:00 GMT", 0, true},
		{"99999999999999999", maxRetryAfterSeconds * time.Second, true},
	}
	t.Run("reads seconds and HTTP dates", func(t *testing.T) {
		for _, tc := range cases {
			got, ok := parseRetryAfter(tc.value, now)
			require.Equal(t, tc.wantOK, ok, "value %q", tc.value)
			require.Equal(t, tc.want, got, "value %q", tc.value)
		}
	})
}

func TestBodyExcerpt(t *testing.T) {
	t.Run("replaces line breaks and drops controls", func(t *testing.T) {
		require.Equal(t, "line one  line two", bodyExcerpt([]byte("line one\r\n\x00line\ttwo\x1b\n")))
	})

	t.Run("drops invalid UTF-8", func(t *testing.T) {
		require.Equal(t, "ab", bodyExcerpt([]byte("a\xffb")))
	})

	t.Run("keeps 512 bytes at most", func(t *testing.T) {
		require.Len(t, bodyExcerpt(bytes.Repeat([]byte("a"), 2000)), 512)
	})
}

func TestOutcome(t *testing.T) {
	t.Run("names each outcome", func(t *testing.T) {
		require.Equal(t, "delivered", OutcomeDelivered.String())
		require.Equal(t, "rejected", OutcomeRejected.String())
		require.Equal(t, "not_delivered", OutcomeNotDelivered.String())
		require.Equal(t, "outcome(9)", Outcome(9).String())
	})
}
