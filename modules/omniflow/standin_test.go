package omniflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestStandIn(t *testing.T) {
	t.Run("rejects malformed requests", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{})
		url := server.URL + DefaultImportPath
		cases := []struct {
			name        string
			method      string
			contentType string
			body        string
			wantStatus  int
			wantError   string
		}{
			{"wrong method", http.MethodGet, "", "", http.StatusMethodNotAllowed, "method GET is not allowed, use POST"},
			{"wrong content type", http.MethodPost, "text/plain", `{}`, http.StatusUnsupportedMediaType, `content type "text/plain" is not supported`},
			{"not JSON", http.MethodPost, "application/json", `{"batchId":`, http.StatusBadRequest, "body is not valid JSON"},
			{"JSON array", http.MethodPost, "application/json", `[]`, http.StatusBadRequest, "body must be a JSON object"},
			{"missing batch id", http.MethodPost, "application/json", `{"chunkId":1,"offset":0,"items":[]}`, http.StatusBadRequest, "batchId is missing"},
			{"numeric batch id", http.MethodPost, "application/json", `{"batchId":5,"chunkId":1,"offset":0,"items":[]}`, http.StatusBadRequest, "batchId must be a string"},
			{"missing chunk id", http.MethodPost, "application/json", `{"batchId":"b","offset":0,"items":[]}`, http.StatusBadRequest, "chunkId is missing or less than 1"},
			{"missing offset", http.MethodPost, "application/json", `{"batchId":"b","chunkId":1,"items":[]}`, http.StatusBadRequest, "offset is missing or negative"},
			{"missing items", http.MethodPost, "application/json", `{"batchId":"b","chunkId":1,"offset":0}`, http.StatusBadRequest, "items must be an array of JSON objects"},
			{"items not array", http.MethodPost, "application/json", `{"batchId":"b","chunkId":1,"offset":0,"items":{}}`, http.StatusBadRequest, "items must be an array of JSON objects"},
			{"item not object", http.MethodPost, "application/json; charset=utf-8", `{"batchId":"b","chunkId":1,"offset":0,"items":[{},3]}`, http.StatusBadRequest, "items[1] is not a JSON object"},
		}
		for _, tc := range cases {
			status, body := doRequest(t, tc.method, url, tc.contentType, tc.body)
			require.Equal(t, tc.wantStatus, status, tc.name)

			var response struct {
				Error string `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &response), tc.name)
			require.Contains(t, response.Error, tc.wantError, tc.name)
		}
	})

	t.Run("answers each record with sequence and lead id", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{ImportPath: "/custom/import", RequiredFields: []string{"phoneNumber", "email"}})
		body := `{"batchId":"b","chunkId":2,"offset":40,"items":[` +
			`{"phoneNumber":"1","email":"a@example.com"},{"phoneNumber":"  ","email":"a@example.com"},` +
			`{"phoneNumber":null,"email":"a@example.com"},{"phoneNumber":7}]}`

		status, data := doRequest(t, http.MethodPost, server.URL+"/custom/import", "application/json", body)
		require.Equal(t, http.StatusOK, status)

		var response importResponse
		require.NoError(t, json.Unmarshal(data, &response))
		require.Equal(t, "b", response.BatchID)
		require.Equal(t, 2, response.ChunkID)
		require.Len(t, response.Items, 4)
		require.Equal(t, int64(40), response.Items[0].Sequence)
		require.True(t, response.Items[0].Success)
		require.NotEmpty(t, response.Items[0].LeadID)
		require.Equal(t, importResult{Sequence: 41, Error: "missing required field phoneNumber"}, response.Items[1])
		require.Equal(t, importResult{Sequence: 42, Error: "missing required field phoneNumber"}, response.Items[2])
		require.Equal(t, importResult{Sequence: 43, Error: "missing required field email"}, response.Items[3])
	})

	t.Run("counts duplicate sequences and replays", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, nil)
		chunks := []Chunk{
			{BatchID: "b", ChunkID: 1, Offset: 0, Items: makeRecords(3)},
			{BatchID: "b", ChunkID: 1, Offset: 0, Items: makeRecords(3)},
			{BatchID: "b", ChunkID: 2, Offset: 3, Items: makeRecords(2)},
			{BatchID: "b", ChunkID: 9, Offset: 3, Items: makeRecords(2)},
		}
		for _, chunk := range chunks {
			_, err := client.SendChunk(testContext(t), chunk)
			require.NoError(t, err)
		}

		stats := standIn.Stats()
		require.Equal(t, int64(4), stats.Requests)
		require.Equal(t, int64(10), stats.Records)
		require.Equal(t, map[int]int64{http.StatusOK: 4}, stats.StatusCounts)
		require.Equal(t, int64(1), stats.IdempotencyReplays)

		batch := stats.Batches["b"]
		require.Equal(t, "b", batch.BatchID)
		require.Equal(t, int64(4), batch.Requests)
		require.Equal(t, int64(10), batch.RecordsReceived)
		require.Equal(t, int64(10), batch.RecordsAccepted)
		require.Equal(t, int64(5), batch.DistinctSequences)
		require.Equal(t, int64(5), batch.DuplicateSequenceCount)
		require.Equal(t, int64(1), batch.IdempotencyReplays)
		require.Equal(t, DuplicateSequence{Sequence: 0, Times: 2, IdempotencyKeys: []string{"b:1"}}, batch.DuplicateSequences[0])
		require.Equal(t, DuplicateSequence{Sequence: 3, Times: 2, IdempotencyKeys: []string{"b:2", "b:9"}}, batch.DuplicateSequences[3])
		require.Equal(t, []ChunkStats{
			{ChunkID: 1, Offset: 0, Size: 3, IdempotencyKey: "b:1", Requests: 2, TimesReceived: 2},
			{ChunkID: 2, Offset: 3, Size: 2, IdempotencyKey: "b:2", Requests: 1, TimesReceived: 1},
			{ChunkID: 9, Offset: 3, Size: 2, IdempotencyKey: "b:9", Requests: 1, TimesReceived: 1},
		}, batch.Chunks)
	})

	t.Run("injects configured failures", func(t *testing.T) {
		cases := []struct {
			name           string
			cfg            StandInConfig
			wantStatuses   []int
			wantRetryAfter string
		}{
			{"fail first", StandInConfig{FailFirst: 2}, []int{503, 503, 200}, ""},
			{"unavailable window", StandInConfig{UnavailableFor: time.Hour, ErrorStatus: 502}, []int{502, 502}, ""},
			{"error rate", StandInConfig{ErrorRate: 1, ErrorStatus: 500}, []int{500, 500}, ""},
			{"rate limit", StandInConfig{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond}, []int{429}, "2"},
			{"invalid error status", StandInConfig{ErrorRate: 1, ErrorStatus: 200}, []int{503}, ""},
		}
		body := `{"batchId":"b","chunkId":1,"offset":0,"items":[{}]}`
		for _, tc := range cases {
			standIn, server := startStandIn(t, tc.cfg)
			for i, want := range tc.wantStatuses {
				req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, server.URL+DefaultImportPath, strings.NewReader(body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())

				require.Equal(t, want, resp.StatusCode, "%s request %d", tc.name, i)
				require.Equal(t, tc.wantRetryAfter, resp.Header.Get("Retry-After"), "%s request %d", tc.name, i)
			}
			require.Equal(t, int64(len(tc.wantStatuses)), standIn.Stats().Batches["b"].Requests, tc.name)
		}
	})

	t.Run("repeats failures for the same seed", func(t *testing.T) {
		statuses := func() []int {
			_, server := startStandIn(t, StandInConfig{ErrorRate: 0.5, Seed: 42})
			client, _ := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })
			var result []int
			for chunkID := 1; chunkID <= 100; chunkID++ {
				sent, _ := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: chunkID, Items: makeRecords(1)})
				result = append(result, sent.StatusCode)
			}
			return result
		}

		first, second := statuses(), statuses()
		require.Equal(t, first, second)

		failures := 0
		for _, status := range first {
			if status == http.StatusServiceUnavailable {
				failures++
			}
		}
		require.Greater(t, failures, 25)
		require.Less(t, failures, 75)
	})

	t.Run("tracks concurrent requests", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{Latency: time.Millisecond})
		arrived := make(chan struct{}, 10)
		release := make(chan struct{})
		standIn.sleep = func(ctx context.Context, _ time.Duration) error {
			arrived <- struct{}{}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		client, _ := newTestClient(t, server.URL, nil)

		chunks := []Chunk{
			{BatchID: "a", ChunkID: 1, Offset: 0, Items: makeRecords(2)},
			{BatchID: "a", ChunkID: 2, Offset: 2, Items: makeRecords(2)},
			{BatchID: "a", ChunkID: 3, Offset: 4, Items: makeRecords(2)},
			{BatchID: "a", ChunkID: 4, Offset: 6, Items: makeRecords(2)},
			{BatchID: "other", ChunkID: 1, Offset: 0, Items: makeRecords(1)},
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(chunks))
		for _, chunk := range chunks {
			wg.Go(func() {
				_, err := client.SendChunk(testContext(t), chunk)
				errs <- err
			})
		}
		released := false
		defer func() {
			if !released {
				close(release)
			}
		}()

		for range chunks {
			select {
			case <-arrived:
			case <-time.After(testTimeout):
				t.Fatal("requests did not reach the stand-in")
			}
		}
		require.Equal(t, len(chunks), standIn.Stats().InFlight)

		close(release)
		released = true
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		stats := standIn.Stats()
		require.Equal(t, 0, stats.InFlight)
		require.Equal(t, len(chunks), stats.MaxConcurrent)
		require.Equal(t, 4, stats.Batches["a"].MaxConcurrent)
		require.Equal(t, 1, stats.Batches["other"].MaxConcurrent)
		require.Len(t, stats.Batches["a"].Chunks, 4)
		for _, chunk := range stats.Batches["a"].Chunks {
			require.Equal(t, 2, chunk.Size)
		}
	})

	t.Run("serves inspection endpoints", func(t *testing.T) {
		_, server := startStandIn(t, StandInConfig{KeepRecords: true})
		client, _ := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })
		records := makeRecords(3)
		_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 2, Offset: 3, Items: records[2:]})
		require.NoError(t, err)
		_, err = client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Offset: 0, Items: records[:2]})
		require.NoError(t, err)

		var health map[string]string
		require.Equal(t, http.StatusOK, getJSON(t, server.URL+"/health", &health))
		require.Equal(t, "ok", health["status"])

		var stats Stats
		require.Equal(t, http.StatusOK, getJSON(t, server.URL+"/__standin/stats", &stats))
		require.Equal(t, int64(2), stats.Requests)
		require.Equal(t, int64(3), stats.Batches["b"].RecordsReceived)
		require.Equal(t, int64(2), stats.StatusCounts[http.StatusOK])

		var stored []StoredRecord
		require.Equal(t, http.StatusOK, getJSON(t, server.URL+"/__standin/batches/b/records", &stored))
		require.Len(t, stored, 3)
		for i, sequence := range []int64{0, 1, 3} {
			require.Equal(t, sequence, stored[i].Sequence)
		}
		require.JSONEq(t, string(records[2]), string(stored[2].Record))

		var notFound map[string]string
		require.Equal(t, http.StatusNotFound, getJSON(t, server.URL+"/__standin/batches/missing/records", &notFound))
		require.Contains(t, notFound["error"], `batch "missing" not found`)

		status, body := doRequest(t, http.MethodPut, server.URL+"/__standin/config", "application/json",
			`{"errorRate":1,"errorStatus":502,"requiredFields":["phoneNumber"]}`)
		require.Equal(t, http.StatusOK, status, string(body))
		var switches StandInSwitches
		require.NoError(t, json.Unmarshal(body, &switches))
		require.Equal(t, 1.0, *switches.ErrorRate)
		require.Equal(t, 502, *switches.ErrorStatus)
		require.Equal(t, []string{"phoneNumber"}, *switches.RequiredFields)

		result, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 3, Offset: 5, Items: records[:1]})
		require.ErrorIs(t, err, ErrUnavailable)
		require.Equal(t, http.StatusBadGateway, result.StatusCode)

		for _, invalid := range []string{`{"errorRate":2}`, `{"errorStatus":200}`, `{"latencyMs":-1}`, `{"unknown":1}`, `not json`} {
			status, body := doRequest(t, http.MethodPut, server.URL+"/__standin/config", "application/json", invalid)
			require.Equal(t, http.StatusBadRequest, status, "%s: %s", invalid, body)
		}

		status, _ = doRequest(t, http.MethodPut, server.URL+"/__standin/config", "application/json", `{"errorRate":0}`)
		require.Equal(t, http.StatusOK, status)
		status, _ = doRequest(t, http.MethodPost, server.URL+"/__standin/reset", "", "")
		require.Equal(t, http.StatusOK, status)
		var afterReset Stats
		require.Equal(t, http.StatusOK, getJSON(t, server.URL+"/__standin/stats", &afterReset))
		require.Equal(t, int64(0), afterReset.Requests)
		require.Empty(t, afterReset.Batches)
		require.Equal(t, http.StatusNotFound, getJSON(t, server.URL+"/__standin/batches/b/records", &notFound))

		var current StandInSwitches
		require.Equal(t, http.StatusOK, getJSON(t, server.URL+"/__standin/config", &current))
		require.Equal(t, 0.0, *current.ErrorRate)
		require.Equal(t, 502, *current.ErrorStatus)
	})

	t.Run("fails next requests after failFirst change", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })
		for chunkID := 1; chunkID <= 3; chunkID++ {
			_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: chunkID, Items: makeRecords(1)})
			require.NoError(t, err)
		}

		failFirst := 1
		require.NoError(t, standIn.Configure(StandInSwitches{FailFirst: &failFirst}))

		_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 4, Items: makeRecords(1)})
		require.ErrorIs(t, err, ErrUnavailable)
		_, err = client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 4, Items: makeRecords(1)})
		require.NoError(t, err)
	})

	t.Run("keeps no records by default", func(t *testing.T) {
		standIn, server := startStandIn(t, StandInConfig{})
		client, _ := newTestClient(t, server.URL, nil)
		_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(2)})
		require.NoError(t, err)

		require.Empty(t, standIn.Records("b"))
		require.Equal(t, int64(2), standIn.Stats().Batches["b"].RecordsReceived)
	})
}

func TestRunStandIn(t *testing.T) {
	t.Run("serves until context is cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- RunStandIn(ctx, "127.0.0.1:0", StandInConfig{}, zerolog.Nop(), func(addr string) { ready <- addr })
		}()

		var addr string
		select {
		case addr = <-ready:
		case <-time.After(testTimeout):
			t.Fatal("stand-in did not report its address")
		}

		var health map[string]string
		require.Equal(t, http.StatusOK, getJSON(t, "http://"+addr+"/health", &health))
		client, _ := newTestClient(t, "http://"+addr, nil)
		_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
		require.NoError(t, err)

		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(testTimeout):
			t.Fatal("stand-in did not stop")
		}
	})

	t.Run("answers 503 to requests during shutdown", func(t *testing.T) {
		standIn := NewStandIn(StandInConfig{Latency: time.Hour}, zerolog.Nop())
		arrived := make(chan struct{}, 1)
		standIn.sleep = func(ctx context.Context, d time.Duration) error {
			arrived <- struct{}{}
			return sleepContext(ctx, d)
		}
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- serveStandIn(ctx, "127.0.0.1:0", standIn, zerolog.Nop(), func(addr string) { ready <- addr })
		}()
		addr := <-ready

		sent := make(chan error, 1)
		client, _ := newTestClient(t, "http://"+addr, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })
		go func() {
			_, err := client.SendChunk(testContext(t), Chunk{BatchID: "b", ChunkID: 1, Items: makeRecords(1)})
			sent <- err
		}()
		select {
		case <-arrived:
		case <-time.After(testTimeout):
			t.Fatal("request did not reach the stand-in")
		}

		cancel()
		select {
		case err := <-sent:
			require.ErrorIs(t, err, ErrUnavailable)
			require.ErrorContains(t, err, "HTTP 503")
		case <-time.After(testTimeout):
			t.Fatal("request was not answered during shutdown")
		}
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(testTimeout):
			t.Fatal("stand-in did not stop")
		}
		require.Equal(t, int64(1), standIn.Stats().StatusCounts[http.StatusServiceUnavailable])
	})

	t.Run("fails on busy address", func(t *testing.T) {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer listener.Close()

		err = RunStandIn(testContext(t), listener.Addr().String(), StandInConfig{}, zerolog.Nop(), nil)
		require.ErrorContains(t, err, fmt.Sprintf("listening on %s for the OmniFlow stand-in", listener.Addr()))
	})
}
