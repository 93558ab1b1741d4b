package omniflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// userAgent identifies DataFlow in OmniFlow's access logs.
const userAgent = "dataflow"

// validateChunk rejects chunks that would produce an invalid request body or
// header. Checking here keeps such a chunk from being retried as if the
// network had failed. The messages name indexes, never record contents.
func validateChunk(chunk Chunk) error {
	prefix := fmt.Sprintf("validating chunk %d of batch %q", chunk.ChunkID, chunk.BatchID)

	if chunk.BatchID == "" {
		return fmt.Errorf("%s: batch id is missing", prefix)
	}
	if err := validateHeaderValue("BatchID", chunk.BatchID); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if err := validateHeaderValue("TraceID", chunk.TraceID); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if err := validateHeaderValue("TraceParent", chunk.TraceParent); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	if chunk.ChunkID < 1 {
		return fmt.Errorf("%s: chunk id must be 1 or more", prefix)
	}
	if chunk.Offset < 0 {
		return fmt.Errorf("%s: offset %d is negative", prefix, chunk.Offset)
	}
	if len(chunk.Items) == 0 {
		return fmt.Errorf("%s: chunk has no items", prefix)
	}

	for i, item := range chunk.Items {
		trimmed := bytes.TrimSpace(item)
		if len(trimmed) < 2 || trimmed[0] != '{' || trimmed[len(trimmed)-1] != '}' {
			return fmt.Errorf("%s: item %d (sequence %d) is not a JSON object", prefix, i, chunk.Offset+int64(i))
		}
	}

	return nil
}

// validateHeaderValue rejects control characters, which net/http refuses to
// send and which could otherwise split a header.
func validateHeaderValue(field, value string) error {
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 || value[i] == 0x7f {
			return fmt.Errorf("%s contains a control character at byte %d", field, i)
		}
	}

	return nil
}

// buildRequestBody concatenates the records as they are instead of decoding
// and encoding them again, which would cost more than the request itself.
// validateChunk has already checked that each one looks like a JSON object.
func buildRequestBody(chunk Chunk) []byte {
	batchID, _ := json.Marshal(chunk.BatchID) // json.Marshal of a string never fails: it replaces invalid UTF-8 with U+FFFD.

	size := 64 + len(batchID)
	for _, item := range chunk.Items {
		size += len(item) + 1
	}

	body := make([]byte, 0, size)
	body = append(body, `{"batchId":`...)
	body = append(body, batchID...)
	body = append(body, `,"chunkId":`...)
	body = strconv.AppendInt(body, int64(chunk.ChunkID), 10)
	body = append(body, `,"offset":`...)
	body = strconv.AppendInt(body, chunk.Offset, 10)
	body = append(body, `,"items":[`...)
	for i, item := range chunk.Items {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, item...)
	}
	body = append(body, "]}"...)

	return body
}

// resolveTraceID returns the chunk's trace id. Without one it takes the
// trace id field of a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"), and
// otherwise makes a random 32-hex id so OmniFlow's logs can still be matched
// to all attempts of this chunk.
func resolveTraceID(chunk Chunk) string {
	if chunk.TraceID != "" {
		return chunk.TraceID
	}

	parts := strings.Split(chunk.TraceParent, "-")
	if len(parts) >= 4 && len(parts[1]) == 32 && isLowerHex(parts[1]) {
		return parts[1]
	}

	return strings.ReplaceAll(uuid.NewString(), "-", "")
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}

	return true
}

// setHeaders sets the contract headers. Idempotency-Key stays the same for
// every attempt and every later resend of the chunk, so OmniFlow can drop
// records it already imported.
func setHeaders(req *http.Request, chunk Chunk, traceID string) {
	chunkID := strconv.Itoa(chunk.ChunkID)

	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("x-trace-id", traceID)
	req.Header.Set("x-batch-id", chunk.BatchID)
	req.Header.Set("x-chunk-id", chunkID)
	req.Header.Set("Idempotency-Key", chunk.BatchID+":"+chunkID)
	if chunk.TraceParent != "" {
		req.Header.Set("traceparent", chunk.TraceParent)
	}
}
