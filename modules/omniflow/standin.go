package omniflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Stand-in defaults applied by NewStandIn.
const (
	DefaultStandInErrorStatus = http.StatusServiceUnavailable
	DefaultStandInRetryAfter  = time.Second

	// maxStandInBodyBytes bounds one import request body. DataFlow's largest
	// chunk (ImportBatch:ChunkSize 5000) of 230-byte records is about 1.2 MB,
	// so this leaves room for much larger records.
	maxStandInBodyBytes = 64 << 20

	// statusClientClosedRequest is counted when the client went away during
	// the simulated latency, as nginx logs it. The connection is aborted
	// without a response.
	statusClientClosedRequest = 499
)

// errStandInShutdown cancels the requests of a stopping RunStandIn, so that
// they end their simulated latency early and respond with 503.
var errStandInShutdown = errors.New("omniflow stand-in is shutting down")

// StandInConfig sets the behaviour of a StandIn. The zero value is a healthy
// server without latency that does not keep records.
type StandInConfig struct {
	// ImportPath is the path of the import endpoint (default
	// "/api/leads/import").
	ImportPath string
	// Latency is added to each import request before the response.
	Latency time.Duration
	// LatencyJitter adds a random extra latency in [0, LatencyJitter].
	LatencyJitter time.Duration
	// ErrorRate is the fraction (0..1) of import requests that get
	// ErrorStatus. Values outside 0..1 are clamped.
	ErrorRate float64
	// ErrorStatus is the status of injected failures (default 503). Values
	// outside 400..599 are replaced by the default.
	ErrorStatus int
	// RateLimitRate is the fraction (0..1) of import requests that get 429.
	RateLimitRate float64
	// RetryAfter is sent with each 429, rounded up to whole seconds (default
	// 1s).
	RetryAfter time.Duration
	// FailFirst makes the first N import requests get ErrorStatus, to
	// simulate an outage that ends.
	FailFirst int
	// UnavailableFor makes import requests get ErrorStatus during this
	// long after NewStandIn.
	UnavailableFor time.Duration
	// RequiredFields lists record fields that must have a non-empty value. A
	// record without one fails on its own with "missing required field
	// <name>" while the rest of the chunk is imported. A value is empty when
	// it is missing, null, or a string of only whitespace.
	RequiredFields []string
	// KeepRecords keeps the last received copy of every imported record,
	// by batch and sequence, for Records and the records endpoint. It costs
	// memory for every record, so benchmarks leave it off.
	KeepRecords bool
	// Seed seeds the random source for ErrorRate, RateLimitRate and
	// LatencyJitter, so a run with the same requests in the same order
	// injects the same failures.
	Seed int64
}

// StandIn is an in-process OmniFlow import API for demos and tests. It
// responds like OmniFlow, can inject latency, failures and rate limits, and
// counts what it received so that tests can check retries, resends and
// concurrency. It is safe for concurrent use.
type StandIn struct {
	log        zerolog.Logger
	importPath string
	handler    http.Handler
	// sleep waits out the simulated latency. Tests replace it to hold
	// requests in flight.
	sleep func(ctx context.Context, d time.Duration) error

	mu  sync.Mutex
	cfg StandInConfig
	rng *rand.Rand
	// unavailableSince starts the UnavailableFor window.
	unavailableSince time.Time
	// served counts import requests that reached fault injection since start
	// or reset. failFirstFrom is its value when FailFirst was last set, so a
	// runtime change fails the next N requests.
	served        int64
	failFirstFrom int64
	counters      standInCounters
}

// NewStandIn returns a stand-in with cfg's switches. Serve its Handler with
// net/http or httptest, or use RunStandIn.
func NewStandIn(cfg StandInConfig, log zerolog.Logger) *StandIn {
	cfg = normalizeStandInConfig(cfg)

	s := &StandIn{
		log:              log,
		importPath:       cfg.ImportPath,
		sleep:            sleepContext,
		cfg:              cfg,
		rng:              rand.New(rand.NewPCG(uint64(cfg.Seed), 0)),
		unavailableSince: time.Now(),
		counters:         newStandInCounters(),
	}
	s.handler = s.newHandler()

	return s
}

func normalizeStandInConfig(cfg StandInConfig) StandInConfig {
	if cfg.ImportPath == "" {
		cfg.ImportPath = DefaultImportPath
	}
	if !strings.HasPrefix(cfg.ImportPath, "/") {
		cfg.ImportPath = "/" + cfg.ImportPath
	}
	if cfg.ErrorStatus < 400 || cfg.ErrorStatus > 599 {
		cfg.ErrorStatus = DefaultStandInErrorStatus
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultStandInRetryAfter
	}
	cfg.ErrorRate = min(max(cfg.ErrorRate, 0), 1)
	cfg.RateLimitRate = min(max(cfg.RateLimitRate, 0), 1)
	cfg.Latency = max(cfg.Latency, 0)
	cfg.LatencyJitter = max(cfg.LatencyJitter, 0)
	cfg.FailFirst = max(cfg.FailFirst, 0)
	cfg.RequiredFields = append([]string(nil), cfg.RequiredFields...)

	return cfg
}

// Handler returns the HTTP handler for the import endpoint, the inspection
// endpoints under /__standin/ and GET /health.
func (s *StandIn) Handler() http.Handler {
	return s.handler
}

func (s *StandIn) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /__standin/stats", s.serveStats)
	mux.HandleFunc("GET /__standin/batches/{batchId}/records", s.serveRecords)
	mux.HandleFunc("POST /__standin/reset", s.serveReset)
	mux.HandleFunc("GET /__standin/config", s.serveConfig)
	mux.HandleFunc("PUT /__standin/config", s.serveConfigUpdate)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	// The import path is matched first and by hand, so that any configured
	// path works, even one that looks like a mux wildcard, and a wrong
	// method gets the same JSON error as other malformed requests.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == s.importPath {
			s.serveImport(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// importRequest is the body DataFlow sends. Pointers tell a missing field
// from a zero value.
type importRequest struct {
	BatchID *string           `json:"batchId"`
	ChunkID *int              `json:"chunkId"`
	Offset  *int64            `json:"offset"`
	Items   []json.RawMessage `json:"items"`
}

type importResponse struct {
	BatchID string         `json:"batchId"`
	ChunkID int            `json:"chunkId"`
	Items   []importResult `json:"items"`
}

type importResult struct {
	Sequence int64  `json:"sequence"`
	Success  bool   `json:"success"`
	LeadID   string `json:"leadId,omitempty"`
	Error    string `json:"error,omitempty"`
}

// chunkRequest is a validated import request.
type chunkRequest struct {
	batchID        string
	chunkID        int
	offset         int64
	items          []json.RawMessage
	idempotencyKey string
}

func (s *StandIn) serveImport(w http.ResponseWriter, r *http.Request) {
	s.beginRequest()
	// handleImport aborts the connection by panicking when the client went
	// away, which leaves the status at 499.
	status := statusClientClosedRequest
	defer func() { s.endRequest(status) }()

	status = s.handleImport(w, r)
}

// handleImport handles one import request and returns the status it wrote.
func (s *StandIn) handleImport(w http.ResponseWriter, r *http.Request) int {
	chunk, status, err := readChunkRequest(w, r)
	if err != nil {
		s.log.Warn().Err(err).Int("status", status).Msg("omniflow: stand-in rejected a malformed import request")
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		return writeJSON(w, status, map[string]string{"error": err.Error()})
	}

	s.beginBatchRequest(chunk)
	defer s.endBatchRequest(chunk.batchID)

	if delay := s.nextLatency(); delay > 0 {
		if err := s.sleep(r.Context(), delay); err != nil {
			// Returning without a write would make net/http send an empty
			// 200, which the client reads as "all imported".
			if errors.Is(context.Cause(r.Context()), errStandInShutdown) {
				return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "stand-in is shutting down"})
			}
			panic(http.ErrAbortHandler)
		}
	}

	if status, retryAfter, injected := s.nextFault(); injected {
		s.log.Debug().Str("batch_id", chunk.batchID).Int("chunk_id", chunk.chunkID).Int("status", status).
			Msg("omniflow: stand-in injected a failure")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.FormatInt(retryAfter, 10))
		}
		return writeJSON(w, status, map[string]string{
			"error": fmt.Sprintf("injected failure: HTTP %d %s", status, http.StatusText(status)),
		})
	}

	results := s.importRecords(chunk)
	s.recordChunk(chunk, results)
	s.log.Debug().Str("batch_id", chunk.batchID).Int("chunk_id", chunk.chunkID).Int("records", len(results)).
		Msg("omniflow: stand-in imported a chunk")

	return writeJSON(w, http.StatusOK, importResponse{BatchID: chunk.batchID, ChunkID: chunk.chunkID, Items: results})
}

// readChunkRequest validates the method, content type and body shape, and
// returns the status to respond with when they are invalid.
func readChunkRequest(w http.ResponseWriter, r *http.Request) (chunkRequest, int, error) {
	if r.Method != http.MethodPost {
		return chunkRequest{}, http.StatusMethodNotAllowed, fmt.Errorf("method %s is not allowed, use POST", r.Method)
	}

	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return chunkRequest{}, http.StatusUnsupportedMediaType,
			fmt.Errorf("content type %q is not supported, use application/json", r.Header.Get("Content-Type"))
	}

	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStandInBodyBytes))
	if err != nil {
		if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
			return chunkRequest{}, http.StatusRequestEntityTooLarge,
				fmt.Errorf("body is larger than %d bytes, send smaller chunks", maxStandInBodyBytes)
		}
		return chunkRequest{}, http.StatusBadRequest, fmt.Errorf("reading body: %w", err)
	}

	chunk, err := parseChunkRequest(data)
	if err != nil {
		return chunkRequest{}, http.StatusBadRequest, err
	}
	chunk.idempotencyKey = r.Header.Get("Idempotency-Key")

	return chunk, http.StatusOK, nil
}

func parseChunkRequest(data []byte) (chunkRequest, error) {
	var body importRequest
	if err := json.Unmarshal(data, &body); err != nil {
		if typeErr := (*json.UnmarshalTypeError)(nil); errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return chunkRequest{}, errors.New("body must be a JSON object")
			}
			return chunkRequest{}, fmt.Errorf("field %s has the wrong type: %s", typeErr.Field, describeField(typeErr.Field))
		}
		return chunkRequest{}, fmt.Errorf("body is not valid JSON: %w", err)
	}

	switch {
	case body.BatchID == nil || strings.TrimSpace(*body.BatchID) == "":
		return chunkRequest{}, errors.New("batchId is missing")
	case body.ChunkID == nil || *body.ChunkID < 1:
		return chunkRequest{}, errors.New("chunkId is missing or less than 1")
	case body.Offset == nil || *body.Offset < 0:
		return chunkRequest{}, errors.New("offset is missing or negative")
	case body.Items == nil:
		return chunkRequest{}, errors.New("items must be an array of JSON objects")
	}

	for i, item := range body.Items {
		if len(item) == 0 || item[0] != '{' {
			return chunkRequest{}, fmt.Errorf("items[%d] is not a JSON object", i)
		}
	}

	return chunkRequest{batchID: *body.BatchID, chunkID: *body.ChunkID, offset: *body.Offset, items: body.Items}, nil
}

func describeField(field string) string {
	switch field {
	case "batchId":
		return "batchId must be a string"
	case "chunkId", "offset":
		return field + " must be an integer"
	default:
		return "items must be an array of JSON objects"
	}
}

// nextLatency returns Latency plus a random part of LatencyJitter.
func (s *StandIn) nextLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()

	delay := s.cfg.Latency
	if s.cfg.LatencyJitter > 0 {
		delay += time.Duration(s.rng.Int64N(int64(s.cfg.LatencyJitter) + 1))
	}

	return delay
}

// nextFault decides whether to fail this request: FailFirst first, then
// UnavailableFor, RateLimitRate and ErrorRate. It returns the status and,
// for 429, the Retry-After in seconds.
func (s *StandIn) nextFault() (status int, retryAfterSeconds int64, injected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	position := s.served - s.failFirstFrom
	s.served++

	switch {
	case position < int64(s.cfg.FailFirst):
		return s.cfg.ErrorStatus, 0, true
	case s.cfg.UnavailableFor > 0 && time.Since(s.unavailableSince) < s.cfg.UnavailableFor:
		return s.cfg.ErrorStatus, 0, true
	case s.cfg.RateLimitRate > 0 && s.rng.Float64() < s.cfg.RateLimitRate:
		seconds := int64((s.cfg.RetryAfter + time.Second - 1) / time.Second)
		return http.StatusTooManyRequests, seconds, true
	case s.cfg.ErrorRate > 0 && s.rng.Float64() < s.cfg.ErrorRate:
		return s.cfg.ErrorStatus, 0, true
	default:
		return 0, 0, false
	}
}

// importRecords checks the required fields and gives every accepted record
// a new lead id.
func (s *StandIn) importRecords(chunk chunkRequest) []importResult {
	s.mu.Lock()
	required := s.cfg.RequiredFields
	s.mu.Unlock()

	results := make([]importResult, len(chunk.items))
	for i, item := range chunk.items {
		sequence := chunk.offset + int64(i)
		if field := firstMissingField(item, required); field != "" {
			results[i] = importResult{Sequence: sequence, Error: "missing required field " + field}
			continue
		}
		results[i] = importResult{Sequence: sequence, Success: true, LeadID: uuid.NewString()}
	}

	return results
}

// firstMissingField returns the first required field that is missing or
// empty in record, or "" when all are present.
func firstMissingField(record json.RawMessage, required []string) string {
	if len(required) == 0 {
		return ""
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(record, &fields); err != nil {
		return required[0]
	}

	for _, name := range required {
		if isEmptyJSONValue(fields[name]) {
			return name
		}
	}

	return ""
}

func isEmptyJSONValue(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	if raw[0] != '"' {
		return false
	}

	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return true
	}

	return strings.TrimSpace(text) == ""
}

// writeJSON writes v with status and returns status, so handlers can count
// their responses.
func writeJSON(w http.ResponseWriter, status int, v any) int {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":"encoding the response failed"}`)
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)

	return status
}
