package imports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// FileError is a problem with the content of an uploaded file. The worker
// fails the batch with its message, which names where the problem is.
type FileError struct {
	// Record is the 0-based index of the record being read, -1 when the
	// problem is not inside a record.
	Record int
	// Offset is the byte offset in the file.
	Offset int64
	Reason string
}

func (e *FileError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("invalid record %d: %s", e.Record, e.Reason)
	}

	if e.Record >= 0 {
		return fmt.Sprintf("invalid file at byte offset %d (record %d): %s", e.Offset, e.Record, e.Reason)
	}

	return fmt.Sprintf("invalid file at byte offset %d: %s", e.Offset, e.Reason)
}

// recordReader yields the records of a file one at a time.
type recordReader interface {
	// Next returns the next record as a JSON object, io.EOF after the last
	// one, or a *FileError.
	Next() (json.RawMessage, error)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// jsonRecords streams a JSON array of objects, or a single object as one
// record. It holds one record in memory at a time.
type jsonRecords struct {
	dec    *json.Decoder
	skip   int64 // bytes before the decoder's input (a BOM)
	single bool
	done   bool
	count  int
}

func newJSONRecords(r io.Reader) (*jsonRecords, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var skip int64
	if head, _ := br.Peek(3); bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(3)
		skip = 3
	}

	if head, _ := br.Peek(2); len(head) == 2 && (head[0] == 0xFF && head[1] == 0xFE || head[0] == 0xFE && head[1] == 0xFF) {
		return nil, &FileError{Record: -1, Offset: 0, Reason: "the file is UTF-16; save it as UTF-8 and upload it again"}
	}

	first, offset, err := firstByte(br)
	if errors.Is(err, io.EOF) {
		return nil, &FileError{Record: -1, Offset: skip + offset, Reason: "the file is empty; upload a JSON array of objects"}
	}

	if err != nil {
		return nil, fmt.Errorf("reading file: %w", err)
	}

	jr := &jsonRecords{dec: json.NewDecoder(br), skip: skip}
	switch first {
	case '[':
		if _, err := jr.dec.Token(); err != nil {
			return nil, jr.syntaxError(err)
		}
	case '{':
		jr.single = true
	default:
		return nil, &FileError{Record: -1, Offset: skip + offset,
			Reason: fmt.Sprintf("the file starts with %q; upload a JSON array of objects or a single JSON object", rune(first))}
	}

	return jr, nil
}

// firstByte returns the first byte that is not JSON whitespace, without
// consuming it, and its offset.
func firstByte(br *bufio.Reader) (byte, int64, error) {
	var offset int64
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, offset, err
		}

		switch b {
		case ' ', '\t', '\r', '\n':
			offset++

			continue
		}

		return b, offset, br.UnreadByte()
	}
}

func (jr *jsonRecords) Next() (json.RawMessage, error) {
	if jr.done {
		return nil, io.EOF
	}

	if jr.single {
		jr.done = true
		raw, err := jr.decodeRecord()
		if err != nil {
			return nil, err
		}

		if err := jr.expectEnd(); !errors.Is(err, io.EOF) {
			return nil, err
		}

		return raw, nil
	}

	if !jr.dec.More() {
		jr.done = true
		if _, err := jr.dec.Token(); err != nil {
			return nil, jr.syntaxError(err)
		}

		return nil, jr.expectEnd()
	}

	return jr.decodeRecord()
}

func (jr *jsonRecords) decodeRecord() (json.RawMessage, error) {
	var raw json.RawMessage
	if err := jr.dec.Decode(&raw); err != nil {
		return nil, jr.syntaxError(err)
	}

	// After Decode the input offset is the end of the value.
	start := jr.skip + jr.dec.InputOffset() - int64(len(raw))

	record := jr.count
	jr.count++
	if !utf8.Valid(raw) {
		return nil, &FileError{Record: record, Offset: start + int64(invalidUTF8At(raw)),
			Reason: "the record is not valid UTF-8; save the file as UTF-8"}
	}

	if len(raw) == 0 || raw[0] != '{' {
		return nil, &FileError{Record: record, Offset: start,
			Reason: "the record is not a JSON object; every element of the array must be an object"}
	}

	return raw, nil
}

// invalidUTF8At returns the index of the first byte that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}

		i += size
	}

	return len(b)
}

// expectEnd fails when anything but whitespace follows the top-level value.
func (jr *jsonRecords) expectEnd() error {
	tok, err := jr.dec.Token()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}

	if err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return &FileError{Record: -1, Offset: jr.skip + jr.dec.InputOffset(),
				Reason: "unexpected data after the end of the JSON value: " + syntax.Error()}
		}

		return jr.syntaxError(err)
	}

	return &FileError{Record: -1, Offset: jr.skip + jr.dec.InputOffset(),
		Reason: fmt.Sprintf("unexpected %v after the end of the JSON value", tok)}
}

func (jr *jsonRecords) syntaxError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return &FileError{Record: jr.count, Offset: jr.skip + syntax.Offset, Reason: syntax.Error()}
	}

	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &FileError{Record: jr.count, Offset: jr.skip + jr.dec.InputOffset(),
			Reason: "the file ends in the middle of a JSON value; the upload may be truncated"}
	}

	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &FileError{Record: jr.count, Offset: jr.skip + typeErr.Offset, Reason: typeErr.Error()}
	}

	return fmt.Errorf("reading file: %w", err)
}

// applyOriginDefault sets "origin" to origin when the record has no
// non-empty string origin. The record is returned unchanged otherwise.
func applyOriginDefault(record json.RawMessage, origin string) (json.RawMessage, error) {
	if origin == "" {
		return record, nil
	}

	var probe struct {
		Origin json.RawMessage `json:"origin"`
	}
	if err := json.Unmarshal(record, &probe); err != nil {
		return nil, fmt.Errorf("reading record origin: %w", err)
	}

	if len(probe.Origin) > 0 {
		var s string
		if json.Unmarshal(probe.Origin, &s) == nil && trimSpace(s) != "" {
			return record, nil
		}

		if s == "" && string(probe.Origin) != "null" && probe.Origin[0] != '"' {
			// A non-string origin (a number, an object) is the client's
			// own value; leave it for OmniFlow to judge.
			return record, nil
		}

		// An empty or null origin: rewrite the object with the default.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(record, &fields); err != nil {
			return nil, fmt.Errorf("reading record: %w", err)
		}

		value, _ := json.Marshal(origin)
		fields["origin"] = value

		return json.Marshal(fields)
	}

	value, _ := json.Marshal(origin)
	trimmed := bytes.TrimRight(record, " \t\r\n")
	body := bytes.TrimSpace(trimmed[1 : len(trimmed)-1])
	out := make([]byte, 0, len(trimmed)+len(value)+12)
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}

	out = append(out, `"origin":`...)
	out = append(out, value...)
	out = append(out, '}')

	return out, nil
}

func trimSpace(s string) string { return string(bytes.TrimSpace([]byte(s))) }
