package omniflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Messages stored as a record's error when OmniFlow did not give one.
const (
	errNoResult = "omniflow returned no result for this record"
	errNoReason = "omniflow rejected this record without a reason"
)

// Maximum lengths in bytes of text taken from a response, which ends up in
// the database and in logs.
const (
	maxExcerptBytes = 512
	maxErrorBytes   = 512
	maxLeadIDBytes  = 256
)

// responseItem is one per-record result. Fields are loose because OmniFlow
// versions differ: leadId may be a string or a number, and success may be
// missing when error gives the outcome.
type responseItem struct {
	Sequence json.Number     `json:"sequence"`
	Success  *bool           `json:"success"`
	LeadID   json.RawMessage `json:"leadId"`
	Error    json.RawMessage `json:"error"`
}

// parseDeliveredItems turns a 2xx body into one result per record, and
// returns how many per-record results matched no record.
//
// An empty body, a body that does not start with '{' or an object without an
// "items" array means that OmniFlow imported every record. A body that
// starts with '{' but is not valid JSON returns an error, because OmniFlow
// may have failed while writing it, so the chunk is retried.
func parseDeliveredItems(body []byte, chunk Chunk) ([]ItemResult, int, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return allImported(chunk), 0, nil
	}

	// The fast path decodes everything in one call. When valid JSON fails
	// to decode, some part has an unexpected shape, and the slow path below
	// tolerates it.
	var decoded struct {
		Items []responseItem `json:"items"`
	}
	err := json.Unmarshal(trimmed, &decoded)
	if err != nil && !json.Valid(trimmed) {
		return nil, 0, fmt.Errorf("decoding response body that starts like a JSON object: %w", err)
	}
	if err == nil {
		if decoded.Items == nil {
			return allImported(chunk), 0, nil
		}
		results, unmatched := matchResults(decoded.Items, chunk)
		return results, unmatched, nil
	}

	var envelope struct {
		Items json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(trimmed, &envelope); err != nil {
		return nil, 0, fmt.Errorf("decoding response body: %w", err)
	}
	rawItems := bytes.TrimSpace(envelope.Items)
	if len(rawItems) == 0 || rawItems[0] != '[' {
		return allImported(chunk), 0, nil
	}

	entries, ignored := decodeResponseItems(rawItems)
	results, unmatched := matchResults(entries, chunk)

	return results, ignored + unmatched, nil
}

func allImported(chunk Chunk) []ItemResult {
	items := make([]ItemResult, len(chunk.Items))
	for i := range items {
		items[i] = ItemResult{Sequence: chunk.Offset + int64(i), Success: true}
	}

	return items
}

// decodeResponseItems decodes the array entry by entry, so that entries
// with the wrong shape are skipped and the others still count.
func decodeResponseItems(rawItems []byte) ([]responseItem, int) {
	var raws []json.RawMessage
	if err := json.Unmarshal(rawItems, &raws); err != nil {
		return nil, 0
	}

	entries := make([]responseItem, 0, len(raws))
	ignored := 0
	for _, raw := range raws {
		var entry responseItem
		if err := json.Unmarshal(raw, &entry); err != nil {
			ignored++
			continue
		}
		entries = append(entries, entry)
	}

	return entries, ignored
}

// matchResults assigns each entry to a record by its sequence.
//
// The contract uses absolute sequences (offset+index), but some OmniFlow
// versions return the index within the chunk. When every sequence lies in
// [offset, offset+len) they are read as absolute, when every one lies in
// [0, len) they are read as indexes, and otherwise each value is read as
// absolute when it can be and as an index when offset > 0.
// NOTE: a partial response whose indexes all fall inside the absolute range
// cannot be distinguished from absolute sequences and is read as absolute.
func matchResults(entries []responseItem, chunk Chunk) ([]ItemResult, int) {
	count := int64(len(chunk.Items))
	offset := chunk.Offset

	sequences := make([]int64, len(entries))
	valid := make([]bool, len(entries))
	allAbsolute, allIndex := true, true
	for i, entry := range entries {
		sequence, ok := parseSequence(entry.Sequence)
		if !ok {
			continue
		}
		sequences[i], valid[i] = sequence, true
		if sequence < offset || sequence >= offset+count {
			allAbsolute = false
		}
		if sequence < 0 || sequence >= count {
			allIndex = false
		}
	}

	results := make([]ItemResult, count)
	filled := make([]bool, count)
	for i := range results {
		results[i] = ItemResult{Sequence: offset + int64(i), Error: errNoResult}
	}

	unmatched := 0
	for i, entry := range entries {
		index := int64(-1)
		if valid[i] {
			index = recordIndex(sequences[i], offset, count, allAbsolute, allIndex)
		}
		// The first result for a record wins, so a repeated entry cannot
		// turn a reported failure into a success.
		if index < 0 || filled[index] {
			unmatched++
			continue
		}
		filled[index] = true
		results[index] = itemResult(offset+index, entry)
	}

	return results, unmatched
}

// recordIndex returns the index within the chunk, or -1 when the sequence
// matches no record.
func recordIndex(sequence, offset, count int64, allAbsolute, allIndex bool) int64 {
	inAbsolute := sequence >= offset && sequence < offset+count
	inIndex := sequence >= 0 && sequence < count

	switch {
	case allAbsolute:
		return sequence - offset
	case allIndex:
		return sequence
	case inAbsolute:
		return sequence - offset
	case offset > 0 && inIndex:
		return sequence
	default:
		return -1
	}
}

// parseSequence accepts integers, also when written as 12.0 or 1.2e1.
func parseSequence(number json.Number) (int64, bool) {
	if number == "" {
		return 0, false
	}
	if value, err := number.Int64(); err == nil {
		return value, true
	}

	value, err := number.Float64()
	if err != nil || value != float64(int64(value)) {
		return 0, false
	}

	return int64(value), true
}

func itemResult(sequence int64, entry responseItem) ItemResult {
	message := looseString(entry.Error, maxErrorBytes)
	success := message == ""
	if entry.Success != nil {
		success = *entry.Success
	}

	result := ItemResult{Sequence: sequence, Success: success, LeadID: looseString(entry.LeadID, maxLeadIDBytes)}
	if !success {
		result.Error = message
		if result.Error == "" {
			result.Error = errNoReason
		}
	}

	return result
}

// looseString returns a JSON string's text, or the JSON text of a number or
// other value, cleaned by bodyExcerpt rules and cut to maxBytes. It returns
// "" for a missing value and null.
func looseString(raw json.RawMessage, maxBytes int) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return ""
	}

	if trimmed[0] != '"' {
		return cleanText(trimmed, maxBytes)
	}
	// Lead ids are plain strings, so most values need no unescaping.
	if inner := trimmed[1 : len(trimmed)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return cleanText(inner, maxBytes)
	}

	var text string
	if err := json.Unmarshal(trimmed, &text); err != nil {
		return ""
	}

	return cleanText([]byte(text), maxBytes)
}

// bodyExcerpt returns up to the first 512 bytes of a response body as valid
// UTF-8 without control characters, for error messages.
func bodyExcerpt(body []byte) string {
	return cleanText(body, maxExcerptBytes)
}

// cleanText cuts text to maxBytes, drops invalid UTF-8 (including a rune the
// cut split) and control characters, and turns tabs and line breaks into
// spaces so that a message stays on one log line.
func cleanText(text []byte, maxBytes int) string {
	if len(text) > maxBytes {
		text = text[:maxBytes]
	}
	if isPrintableASCII(text) {
		return strings.TrimSpace(string(text))
	}

	var builder strings.Builder
	builder.Grow(len(text))
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		text = text[size:]

		switch {
		case r == utf8.RuneError && size == 1:
			continue
		case r == '\t' || r == '\n' || r == '\r':
			builder.WriteByte(' ')
		case unicode.IsControl(r):
			continue
		default:
			builder.WriteRune(r)
		}
	}

	return strings.TrimSpace(builder.String())
}

func isPrintableASCII(text []byte) bool {
	for _, c := range text {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}

	return true
}
