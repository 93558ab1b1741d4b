package omniflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/metrics"
)

// Defaults applied by NewClient to zero or negative ClientConfig fields.
const (
	DefaultImportPath     = "/api/leads/import"
	DefaultTimeout        = 30 * time.Second
	DefaultRetryBaseDelay = time.Second
	DefaultMaxRetryAfter  = 5 * time.Minute
)

// Limits of the client that no ClientConfig field changes.
const (
	// MaxBackoff caps one computed backoff wait. A Retry-After header can
	// still ask for a longer wait, up to ClientConfig.MaxRetryAfter.
	MaxBackoff = 5 * time.Minute

	// MaxResponseBytes is the maximum number of response body bytes the client
	// reads. A longer 2xx body cannot be parsed and is retried like a
	// malformed one.
	MaxResponseBytes = 16 << 20
)

// ErrUnavailable is wrapped by the SendChunk error when OmniFlow did not accept
// the chunk: retries ran out, Retry-After asked for a wait longer than
// ClientConfig.MaxRetryAfter, or the response cannot succeed on retry, such
// as a redirect. The caller
// should pause the batch and resend the chunk later with the same ChunkID,
// which keeps the Idempotency-Key unchanged.
var ErrUnavailable = errors.New("omniflow unavailable")

// ClientConfig configures a Client. Only BaseURL is required.
type ClientConfig struct {
	// BaseURL is the absolute http or https URL of OmniFlow, such as
	// https://crm.example.com. A trailing slash is ignored.
	BaseURL string
	// ImportPath is appended to BaseURL (default "/api/leads/import").
	ImportPath string
	// Timeout bounds one HTTP attempt, including reading the response body
	// (default 30s). Backoff waits are not part of it.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt, so a chunk
	// gets at most MaxRetries+1 attempts. Zero disables retries and a
	// negative value counts as zero.
	MaxRetries int
	// RetryBaseDelay is the backoff before the first retry (default 1s).
	// Retry n waits RetryBaseDelay × 2^(n-1) with equal jitter, at most
	// MaxBackoff.
	RetryBaseDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for (default
	// 5m). A longer one makes SendChunk return ErrUnavailable at once, so that
	// the worker pauses the batch instead of blocking.
	MaxRetryAfter time.Duration
	// HTTPClient sends the requests. The default keeps connections alive and
	// does not follow redirects. Its own Timeout, if any, applies on top of
	// the Timeout above.
	HTTPClient *http.Client
	// Logger receives one Warn entry per retry. The zero value logs nothing.
	Logger zerolog.Logger
	// Sleep waits between attempts and must return early with an error when
	// ctx is done. Tests replace it to record waits without sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends chunks of lead records to OmniFlow. It is safe for concurrent
// use by multiple goroutines.
type Client struct {
	cfg       ClientConfig
	importURL string
}

// NewClient validates cfg, applies the defaults and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := validateBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}

	if cfg.ImportPath == "" {
		cfg.ImportPath = DefaultImportPath
	}
	if !strings.HasPrefix(cfg.ImportPath, "/") {
		cfg.ImportPath = "/" + cfg.ImportPath
	}
	if _, err := url.Parse(base + cfg.ImportPath); err != nil {
		return nil, fmt.Errorf("parsing OmniFlow import path %q: %w (set ImportPath to a URL path such as %s)",
			cfg.ImportPath, err, DefaultImportPath)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newDefaultHTTPClient()
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}

	return &Client{cfg: cfg, importURL: base + cfg.ImportPath}, nil
}

// validateBaseURL returns the base URL without a trailing slash.
func validateBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("creating OmniFlow client: BaseURL is missing (set OmniFlow:BaseUrl to the CRM address, such as https://crm.example.com)")
	}

	parsed, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parsing OmniFlow BaseURL: %w (use an absolute http or https URL)", err)
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return "", fmt.Errorf("validating OmniFlow BaseURL %q: scheme must be http or https", parsed.Redacted())
	}
	if parsed.Host == "" {
		return "", fmt.Errorf("validating OmniFlow BaseURL %q: host is missing (use an absolute URL such as https://crm.example.com)", parsed.Redacted())
	}
	if parsed.RawQuery != "" || parsed.Fragment != "" {
		return "", fmt.Errorf("validating OmniFlow BaseURL %q: query and fragment are not allowed (put the path in ImportPath)", parsed.Redacted())
	}

	return strings.TrimRight(raw, "/"), nil
}

// newDefaultHTTPClient returns a client that keeps enough idle connections
// for concurrent chunk workers and returns redirects as responses, because
// following one would send lead data to an address that is not configured.
func newDefaultHTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 100
	transport.MaxIdleConnsPerHost = 64
	transport.IdleConnTimeout = 90 * time.Second

	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Chunk is one request's worth of records from a batch.
type Chunk struct {
	// BatchID identifies the import batch, usually a UUID.
	BatchID string
	// ClientID identifies the client that uploaded the batch. It is only
	// logged, never sent to OmniFlow.
	ClientID string
	// ChunkID is the 1-based chunk number within the batch. Together with
	// BatchID it forms the Idempotency-Key, so a resent chunk must keep it.
	ChunkID int
	// Offset is the sequence (0-based position in the file) of Items[0].
	Offset int64
	// Items are the records, each a JSON object. They are sent as they are.
	Items []json.RawMessage
	// TraceID is sent as x-trace-id. When empty, the client uses the trace
	// id of TraceParent, or a new random one.
	TraceID string
	// TraceParent is the W3C traceparent header. It is sent only when set.
	TraceParent string
}

// Outcome is the result of a chunk as a whole.
type Outcome int

const (
	// OutcomeNotDelivered means OmniFlow did not process the chunk: SendChunk
	// returned an error and the chunk should be resent later.
	OutcomeNotDelivered Outcome = iota
	// OutcomeDelivered means OmniFlow responded with 2xx. Individual records may
	// still have failed, see ItemResult.Success.
	OutcomeDelivered
	// OutcomeRejected means OmniFlow responded with 4xx (other than 408 and 429),
	// so every record failed and resending the chunk would not help.
	OutcomeRejected
)

// String returns the outcome's name for logs.
func (o Outcome) String() string {
	switch o {
	case OutcomeNotDelivered:
		return "not_delivered"
	case OutcomeDelivered:
		return "delivered"
	case OutcomeRejected:
		return "rejected"
	default:
		return fmt.Sprintf("outcome(%d)", int(o))
	}
}

// ItemResult is the outcome of one record.
type ItemResult struct {
	// Sequence is the record's 0-based position in the file.
	Sequence int64
	// Success is true when OmniFlow imported the record.
	Success bool
	// LeadID is the id OmniFlow gave the lead, empty when it returned none.
	LeadID string
	// Error explains a failed record. It is empty when Success is true.
	Error string
}

// Result is the outcome of one SendChunk call: the chunk status and one
// result per record.
type Result struct {
	Outcome Outcome
	// StatusCode is the HTTP status of the last attempt, 0 when it got no
	// response.
	StatusCode int
	// Attempts is the number of HTTP requests sent for the chunk.
	Attempts int
	// Items has one entry per chunk record, in chunk order, with
	// Sequence = Offset + index. When SendChunk returns an error, every entry
	// has Success false and carries the error text.
	Items []ItemResult
}

// SendChunk posts chunk to OmniFlow, retrying 408, 429, 5xx, timeouts and
// connection errors, and returns the outcome of every record.
//
// A 4xx rejection is not an error: the Result has OutcomeRejected and every
// record fails. The error wraps ErrUnavailable when OmniFlow stayed
// unavailable (see UnavailableError for the Retry-After it asked for), wraps
// ctx.Err() when ctx ended first, and wraps neither for an invalid chunk.
func (c *Client) SendChunk(ctx context.Context, chunk Chunk) (Result, error) {
	if err := validateChunk(chunk); err != nil {
		return failedResult(chunk, 0, 0, err), err
	}

	body := buildRequestBody(chunk)
	traceID := resolveTraceID(chunk)
	log := c.cfg.Logger.With().Str("batch_id", chunk.BatchID).Str("client_id", chunk.ClientID).Int("chunk_id", chunk.ChunkID).Logger()

	var last attemptResult
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c.fail(chunk, last, fmt.Errorf("sending chunk %d of batch %s: %w", chunk.ChunkID, chunk.BatchID, err))
		}
		started := time.Now()
		last = c.attempt(ctx, chunk, body, traceID)
		last.attempts = attempt
		status := metrics.StatusLabel(last.status)
		metrics.OmniFlowRequests.WithLabelValues(status).Inc()
		metrics.OmniFlowDuration.WithLabelValues(status).Observe(time.Since(started).Seconds())

		if last.contextErr != nil {
			return c.fail(chunk, last, fmt.Errorf("sending chunk %d of batch %s: %w", chunk.ChunkID, chunk.BatchID, last.contextErr))
		}
		if last.outcome == OutcomeDelivered || last.outcome == OutcomeRejected {
			if last.ignoredResults > 0 {
				log.Warn().Int("ignored_results", last.ignoredResults).
					Msg("omniflow: ignored per-record results with an invalid, out-of-range or repeated sequence")
			}
			return Result{Outcome: last.outcome, StatusCode: last.status, Attempts: attempt, Items: last.items}, nil
		}
		if !last.retryable || last.retryAfter > c.cfg.MaxRetryAfter || attempt > c.cfg.MaxRetries {
			return c.fail(chunk, last, unavailableError(chunk, last, c.cfg.MaxRetryAfter))
		}

		// Retry-After is a minimum, so it wins over a shorter backoff.
		delay := max(backoffDelay(c.cfg.RetryBaseDelay, attempt-1), last.retryAfter)
		event := log.Warn().Int("attempt", attempt).Int("status", last.status).Int64("delay_ms", delay.Milliseconds())
		if last.transportErr != nil {
			event = event.Err(last.transportErr)
		}
		event.Msg("omniflow: retrying chunk")

		if err := c.cfg.Sleep(ctx, delay); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return c.fail(chunk, last, fmt.Errorf("waiting to retry chunk %d of batch %s: %w", chunk.ChunkID, chunk.BatchID, err))
		}
	}
}

func (c *Client) fail(chunk Chunk, last attemptResult, err error) (Result, error) {
	return failedResult(chunk, last.status, last.attempts, err), err
}

// failedResult marks every record as not delivered with err's text.
func failedResult(chunk Chunk, status, attempts int, err error) Result {
	items := make([]ItemResult, len(chunk.Items))
	message := err.Error()
	for i := range items {
		items[i] = ItemResult{Sequence: chunk.Offset + int64(i), Error: message}
	}

	return Result{Outcome: OutcomeNotDelivered, StatusCode: status, Attempts: attempts, Items: items}
}
