package omniflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxDrainBytes is how much of an unread response body is discarded before
// closing it. Draining lets the transport reuse the connection, and a body
// longer than this closes the connection instead of costing more reads.
const maxDrainBytes = 256 << 10

// attemptResult describes one HTTP attempt.
type attemptResult struct {
	attempts int
	status   int
	outcome  Outcome
	items    []ItemResult

	// retryable is true for 408, 429, 5xx, transport failures and 2xx bodies
	// that could not be parsed.
	retryable  bool
	retryAfter time.Duration
	// cause explains why the attempt did not deliver the chunk.
	cause error
	// transportErr is set when no complete response arrived.
	transportErr error
	// contextErr is set when the caller's context ended.
	contextErr error
	// ignoredResults counts per-record results that matched no record.
	ignoredResults int
}

// attempt sends one request and classifies the response.
func (c *Client) attempt(ctx context.Context, chunk Chunk, body []byte, traceID string) attemptResult {
	attemptCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, c.importURL, bytes.NewReader(body))
	if err != nil {
		return attemptResult{cause: fmt.Errorf("creating request: %w", err)}
	}
	setHeaders(req, chunk, traceID)

	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return c.transportFailure(ctx, 0, fmt.Errorf("posting chunk: %w", err))
	}

	data, tooLarge, err := readResponseBody(resp.Body)
	if err != nil {
		return c.transportFailure(ctx, resp.StatusCode, fmt.Errorf("reading response body: %w", err))
	}

	return classifyResponse(resp, data, tooLarge, chunk)
}

// transportFailure classifies an error without a complete response. It is
// retryable unless the caller's context ended, which the per-attempt
// timeout alone does not.
func (c *Client) transportFailure(ctx context.Context, status int, err error) attemptResult {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return attemptResult{status: status, contextErr: ctxErr}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("request timed out after %s: %w", c.cfg.Timeout, err)
	}

	return attemptResult{status: status, retryable: true, cause: err, transportErr: err}
}

// readResponseBody reads at most MaxResponseBytes, then drains and closes the
// body so that the connection can be reused.
func readResponseBody(body io.ReadCloser) (data []byte, tooLarge bool, err error) {
	defer body.Close()

	data, err = io.ReadAll(io.LimitReader(body, MaxResponseBytes+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > MaxResponseBytes {
		_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
		return data[:MaxResponseBytes], true, nil
	}

	return data, false, nil
}

// classifyResponse maps a complete response to an attempt result.
func classifyResponse(resp *http.Response, data []byte, tooLarge bool, chunk Chunk) attemptResult {
	status := resp.StatusCode
	result := attemptResult{status: status}

	switch {
	case status >= 200 && status < 300:
		if tooLarge {
			result.retryable = true
			result.cause = fmt.Errorf("HTTP %d: response body is larger than %d bytes", status, MaxResponseBytes)
			return result
		}
		items, ignored, err := parseDeliveredItems(data, chunk)
		if err != nil {
			result.retryable = true
			result.cause = fmt.Errorf("HTTP %d: %w", status, err)
			return result
		}
		result.outcome = OutcomeDelivered
		result.items = items
		result.ignoredResults = ignored

	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		result.retryable = true
		result.cause = statusError(status, data)
		if retryAfter, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			result.retryAfter = retryAfter
		}

	case status >= 400:
		result.outcome = OutcomeRejected
		result.items = rejectedItems(chunk, "omniflow rejected the chunk: "+statusError(status, data).Error())

	case status >= 300:
		// The default client does not follow redirects, because that would
		// send lead data to an address that is not configured. Retrying would get
		// the same redirect, so the batch is paused until the URL is fixed.
		result.cause = fmt.Errorf("HTTP %d redirect to %q (set OmniFlow:BaseUrl to the final address)",
			status, resp.Header.Get("Location"))

	default:
		result.cause = fmt.Errorf("unexpected HTTP status %d", status)
	}

	return result
}

// statusError formats "HTTP <status>: <body excerpt>".
func statusError(status int, body []byte) error {
	excerpt := bodyExcerpt(body)
	if excerpt == "" {
		return fmt.Errorf("HTTP %d", status)
	}

	return fmt.Errorf("HTTP %d: %s", status, excerpt)
}

func rejectedItems(chunk Chunk, message string) []ItemResult {
	items := make([]ItemResult, len(chunk.Items))
	for i := range items {
		items[i] = ItemResult{Sequence: chunk.Offset + int64(i), Error: message}
	}

	return items
}
