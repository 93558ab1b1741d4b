package omniflow

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfterSeconds (about 136 years) keeps a huge Retry-After from
// overflowing time.Duration. Any such value exceeds every sensible
// MaxRetryAfter.
const maxRetryAfterSeconds = 1 << 32

// UnavailableError is the error SendChunk returns when OmniFlow did not
// accept a chunk. errors.Is(err, ErrUnavailable) is true for it, and
// errors.As gives the worker the Retry-After to pause the batch for.
type UnavailableError struct {
	BatchID string
	ChunkID int
	// StatusCode is the HTTP status of the last attempt, 0 when it got no
	// response.
	StatusCode int
	// Attempts is the number of HTTP requests sent.
	Attempts int
	// RetryAfter is the wait the last response asked for, 0 when it sent no
	// Retry-After header.
	RetryAfter time.Duration
	// Reason explains why the client stopped: retries ran out, Retry-After was
	// too long, or the response cannot succeed on retry (a redirect).
	Reason string
	// Cause is the last attempt's failure: a transport error or the status
	// with a body excerpt.
	Cause error
}

// Error describes the chunk, the reason and the last failure.
func (e *UnavailableError) Error() string {
	message := fmt.Sprintf("sending chunk %d of batch %s: %s: %s", e.ChunkID, e.BatchID, ErrUnavailable, e.Reason)
	if e.Cause != nil {
		message += ": " + e.Cause.Error()
	}

	return message
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool {
	return target == ErrUnavailable
}

// Unwrap returns the last attempt's failure.
func (e *UnavailableError) Unwrap() error {
	return e.Cause
}

// unavailableError builds the error for the last attempt of a chunk.
func unavailableError(chunk Chunk, last attemptResult, maxRetryAfter time.Duration) *UnavailableError {
	err := &UnavailableError{
		BatchID:    chunk.BatchID,
		ChunkID:    chunk.ChunkID,
		StatusCode: last.status,
		Attempts:   last.attempts,
		RetryAfter: last.retryAfter,
		Cause:      last.cause,
	}

	switch {
	case !last.retryable:
		err.Reason = "response cannot succeed on retry"
	case last.retryAfter > maxRetryAfter:
		err.Reason = fmt.Sprintf("Retry-After of %s is longer than MaxRetryAfter %s, so the batch should pause",
			last.retryAfter, maxRetryAfter)
	default:
		err.Reason = fmt.Sprintf("giving up after %d attempts", last.attempts)
	}

	return err
}

// backoffDelay returns the wait before retry number retry+1. The ceiling is
// base × 2^retry, capped at MaxBackoff, and equal jitter picks a wait
// between half the ceiling and the full ceiling. Jitter keeps workers that
// failed together from retrying together.
func backoffDelay(base time.Duration, retry int) time.Duration {
	delay := min(base, MaxBackoff)
	for i := 0; i < retry && delay < MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, MaxBackoff)

	half := delay / 2
	return half + time.Duration(rand.Int64N(int64(delay-half)+1))
}

// parseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP-date. A date in the past means no wait. It returns false when the
// header is missing or invalid.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}

	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		return time.Duration(min(seconds, maxRetryAfterSeconds)) * time.Second, true
	}

	if date, err := http.ParseTime(value); err == nil {
		return max(date.Sub(now), 0), true
	}

	return 0, false
}

// sleepContext waits for d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}

	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
