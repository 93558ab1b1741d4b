package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonReader streams a JSON array of records, or a single object as one
// record. It splits the array itself instead of decoding it, so that it can
// measure each element (size, depth, keys) before holding it whole: an
// element that breaks a limit is skipped to its end without being kept in
// memory. An element that fits is then checked with json.Valid, which makes
// the reader exactly as strict as encoding/json.
type jsonReader struct {
	r      *bufio.Reader
	limits Limits
	// skip is the number of file bytes before r's first byte (a BOM).
	skip int64
	// transcoded is set when r is not the file's own bytes.
	// NOTE: offsets then count bytes of the UTF-8 text, not of the file.
	transcoded bool
	// pos is the number of bytes read from r so far.
	pos int64
	// line is the 1-based line of the byte at pos.
	line  int
	count int
	state jsonState
	// err is the *FileError that stopped the reader, returned again by
	// every later call to Next.
	err  error
	scan valueScanner
	// buf holds the element being read, up to limits.MaxRecordBytes.
	buf []byte
}

// jsonState is the position of a jsonReader in the top-level value.
type jsonState int

const (
	// jsonSingle: the file is one object, not read yet.
	jsonSingle jsonState = iota
	// jsonFirst: after the array's '[', before the first element.
	jsonFirst
	// jsonAfter: after an element, before its ',' or the closing ']'.
	jsonAfter
	// jsonEnd: after the top-level value, where only whitespace may follow.
	jsonEnd
	jsonDone
	jsonFailed
)

// newJSONReader reads f as a JSON array of records or a single object. It
// reads up to the first byte of the top-level value, so an empty file or a
// top-level value that is neither an array nor an object fails here with a
// *FileError.
func newJSONReader(f *os.File, opts Options) (Reader, error) {
	src, err := openText(f, opts.Encoding, nil, "")
	if err != nil {
		return nil, err
	}

	j := &jsonReader{r: src.r, skip: src.skip, transcoded: src.transcoded, limits: opts.Limits.withDefaults(), line: 1}
	c, err := j.skipSpace()
	if errors.Is(err, io.EOF) {
		return nil, j.fileError(-1, "the file is empty or contains only whitespace; upload a JSON array of objects or a single JSON object")
	}

	if err != nil {
		return nil, fmt.Errorf("reading file: %w", err)
	}

	switch c {
	case '[':
		j.advance(1)
		j.state = jsonFirst
	case '{':
		j.state = jsonSingle
	default:
		return nil, j.fileError(-1, topLevelReason(c, src.transcoded))
	}

	return j, nil
}

// utf16Hint ends a message about a NUL byte, which in a file read as UTF-8
// most often comes from UTF-16 text.
const utf16Hint = "; if the file is UTF-16 without a byte order mark, set the form field \"encoding\" (for example encoding=utf-16le)"

// topLevelReason explains why a file whose value starts with c is not a
// JSON array or object.
func topLevelReason(c byte, transcoded bool) string {
	const fix = "upload a JSON array of objects or a single JSON object"
	switch {
	case c == '"':
		return "the file contains a JSON string, not an array of records; " + fix
	case c == '-' || c >= '0' && c <= '9':
		return "the file contains a JSON number, not an array of records; " + fix
	case c == 't' || c == 'f':
		return "the file contains a JSON boolean, not an array of records; " + fix
	case c == 'n':
		return "the file contains JSON null, not an array of records; " + fix
	case c == 0 && !transcoded:
		return "the file starts with a NUL byte, which JSON does not allow" + utf16Hint
	default:
		return fmt.Sprintf("the file starts with %s, not with a JSON array or object; %s", quoteByte(c), fix)
	}
}

func (j *jsonReader) Next() (Record, error) {
	switch j.state {
	case jsonDone:
		return Record{}, io.EOF
	case jsonFailed:
		return Record{}, j.err
	}

	rec, err := j.next()
	if err == nil {
		j.count++

		return rec, nil
	}

	if errors.Is(err, io.EOF) {
		j.state = jsonDone
	} else {
		j.state = jsonFailed
		j.err = err
	}

	return Record{}, err
}

// next moves through the top-level value to the next element and reads it.
func (j *jsonReader) next() (Record, error) {
	switch j.state {
	case jsonSingle:
		j.state = jsonEnd

		return j.readElement()
	case jsonEnd:
		return Record{}, j.finish()
	}

	c, err := j.skipSpace()
	if err != nil {
		return Record{}, j.readError(err)
	}

	if j.state == jsonAfter {
		switch c {
		case ']':
			j.advance(1)

			return Record{}, j.finish()
		case ',':
			j.advance(1)
		default:
			return Record{}, j.fileError(j.count, fmt.Sprintf(
				"expected ',' or ']' after record %d but found %s; separate the records of the array with commas", j.count, quoteByte(c)))
		}

		if c, err = j.skipSpace(); err != nil {
			return Record{}, j.readError(err)
		}

		if c == ']' {
			return Record{}, j.fileError(j.count, "the array has a comma after its last record; remove the comma before ']'")
		}
	} else if c == ']' {
		j.advance(1)

		return Record{}, j.finish()
	}

	j.state = jsonAfter

	return j.readElement()
}

// finish checks that only whitespace follows the top-level value.
func (j *jsonReader) finish() error {
	c, err := j.skipSpace()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}

	if err != nil {
		return fmt.Errorf("reading file: %w", err)
	}

	reason := fmt.Sprintf("unexpected %s after the end of the JSON value; the file must contain one JSON array or object", quoteByte(c))
	if c == '{' {
		reason += ", and a file with one object per line must be uploaded as NDJSON"
	}

	return j.fileError(-1, reason)
}

// readElement reads the value that starts at the next byte. It streams the
// value through the scanner and keeps it in buf only while it stays within
// the limits. Past a limit it reads on to the value's end and returns the
// record as invalid, so that the next element can still be read.
func (j *jsonReader) readElement() (Record, error) {
	start, line := j.pos, j.line
	w, err := j.window()
	if err != nil {
		return Record{}, j.readError(err)
	}

	c := w[0]
	if !j.scan.reset(c) {
		reason := fmt.Sprintf("found %s where a record should start; each element of the array must be a JSON object", quoteByte(c))
		if c == 0 && !j.transcoded {
			reason += utf16Hint
		}

		return Record{}, j.fileError(j.count, reason)
	}

	j.buf = j.buf[:0]
	buffering := true
	var size int64
	for {
		w, err := j.window()
		if errors.Is(err, io.EOF) && j.scan.scalar {
			// A number or literal may end at the end of the file; the
			// missing ']' is reported by the next call.
			break
		}

		if err != nil {
			return Record{}, j.readError(err)
		}

		n, done := j.scan.scan(w)
		size += int64(n)
		if buffering && (len(j.buf)+n > j.limits.MaxRecordBytes || j.scan.maxDepth > j.limits.MaxDepth || j.scan.keys > j.limits.MaxFields) {
			buffering = false
			j.buf = j.buf[:0]
		}

		if buffering {
			j.buf = append(j.buf, w[:n]...)
		}

		j.line += bytes.Count(w[:n], newline)
		j.advance(n)
		if done {
			break
		}
	}

	rec := Record{Line: line, Offset: j.skip + start}
	if !buffering {
		rec.Invalid = j.limitReason(size)

		return rec, nil
	}

	if err := checkValue(j.buf); err != nil {
		err.Record = j.count
		err.Line = line + bytes.Count(j.buf[:err.Offset], newline)
		err.Offset += j.skip + start

		return Record{}, err
	}

	rec.Payload = bytes.Clone(j.buf)
	if j.buf[0] != '{' {
		rec.Invalid = notObjectReason(j.buf[0])
	}

	return rec, nil
}

// limitReason names a limit that the element just read breaks, checking
// the size first.
func (j *jsonReader) limitReason(size int64) string {
	switch {
	case size > int64(j.limits.MaxRecordBytes):
		return sizeReason(size, j.limits.MaxRecordBytes)
	case j.scan.maxDepth > j.limits.MaxDepth:
		return depthReason(j.scan.maxDepth, j.limits.MaxDepth)
	default:
		return fieldsReason(j.scan.keys, j.limits.MaxFields)
	}
}

// skipSpace skips JSON whitespace and returns the next byte without
// consuming it.
func (j *jsonReader) skipSpace() (byte, error) {
	for {
		w, err := j.window()
		if err != nil {
			return 0, err
		}

		for i, c := range w {
			switch c {
			case ' ', '\t', '\r':
			case '\n':
				j.line++
			default:
				j.advance(i)

				return c, nil
			}
		}

		j.advance(len(w))
	}
}

// window returns the bytes buffered in r, reading more when none are. The
// bytes stay valid until the next read.
func (j *jsonReader) window() ([]byte, error) {
	if j.r.Buffered() == 0 {
		if _, err := j.r.Peek(1); err != nil {
			return nil, err
		}
	}

	w, _ := j.r.Peek(j.r.Buffered())

	return w, nil
}

// advance consumes n buffered bytes.
func (j *jsonReader) advance(n int) {
	_, _ = j.r.Discard(n)
	j.pos += int64(n)
}

// readError turns an error from r into the error of the reader: the end of
// the file inside the top-level value means a truncated upload.
func (j *jsonReader) readError(err error) error {
	if errors.Is(err, io.EOF) {
		return j.fileError(j.count, "the file ends in the middle of a JSON value; the upload may be truncated")
	}

	return fmt.Errorf("reading file: %w", err)
}

// fileError returns a *FileError at the current position.
func (j *jsonReader) fileError(record int, reason string) *FileError {
	return &FileError{Record: record, Line: j.line, Offset: j.skip + j.pos, Reason: reason}
}

func (j *jsonReader) Close() error {
	j.buf = nil

	return nil
}

// valueScanner finds where one JSON value ends in a stream of chunks, and
// measures it on the way. It tracks only strings, escapes and brackets,
// which is enough to find the end of a valid value and to resynchronise
// after an invalid one, so a value it accepts must still be validated.
type valueScanner struct {
	// scalar is set for a number or literal, which ends at the first byte
	// that cannot be part of one.
	scalar bool
	// depth is the number of open objects and arrays, and maxDepth the
	// largest depth seen.
	depth    int
	maxDepth int
	// keys counts colons outside strings, which is the number of object
	// keys, nested ones included, when the value is valid.
	keys     int
	inString bool
	// escaped is set when a chunk ended just after a backslash in a string.
	escaped bool
}

// reset prepares the scanner for a value that starts with c, and reports
// whether a JSON value can start with c.
func (s *valueScanner) reset(c byte) bool {
	*s = valueScanner{}
	switch {
	case c == '{' || c == '[':
		return true
	case c == '"':
		return true
	default:
		s.scalar = true

		return scalarByte[c]
	}
}

// scan consumes the bytes of b that belong to the value. It returns how
// many it consumed and whether the value ended within them.
func (s *valueScanner) scan(b []byte) (int, bool) {
	if s.scalar {
		for i, c := range b {
			if !scalarByte[c] {
				return i, true
			}
		}

		return len(b), false
	}

	i := 0
	if s.escaped {
		s.escaped = false
		i++
	}

	for i < len(b) {
		if s.inString {
			rest := b[i:]
			quote := bytes.IndexByte(rest, '"')
			head := rest
			if quote >= 0 {
				head = rest[:quote]
			}

			if backslash := bytes.IndexByte(head, '\\'); backslash >= 0 {
				// Skip the escaped byte, which may be a quote.
				i += backslash + 2
				if i > len(b) {
					s.escaped = true
				}

				continue
			}

			if quote < 0 {
				return len(b), false
			}

			i += quote + 1
			s.inString = false
			if s.depth == 0 {
				return i, true
			}

			continue
		}

		for i < len(b) && !structuralByte[b[i]] {
			i++
		}

		if i == len(b) {
			break
		}

		switch b[i] {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
			if s.depth > s.maxDepth {
				s.maxDepth = s.depth
			}
		case '}', ']':
			s.depth--
			if s.depth <= 0 {
				return i + 1, true
			}
		case ':':
			s.keys++
		}

		i++
	}

	return min(i, len(b)), false
}

var (
	// structuralByte marks the bytes that the scanner acts on outside
	// strings.
	structuralByte [256]bool
	// scalarByte marks the bytes that may appear in a JSON number or in
	// true, false and null. The scanner also accepts other letters so that
	// a misspelt literal reaches json.Valid as one token.
	scalarByte [256]bool
	newline    = []byte{'\n'}
)

func init() {
	for _, c := range []byte(`"{}[]:`) {
		structuralByte[c] = true
	}

	for c := '0'; c <= '9'; c++ {
		scalarByte[c] = true
	}

	for c := 'a'; c <= 'z'; c++ {
		scalarByte[c] = true
		scalarByte[c-'a'+'A'] = true
	}

	scalarByte['-'] = true
	scalarByte['+'] = true
	scalarByte['.'] = true
}

// checkValue returns nil when b is one valid JSON value in valid UTF-8,
// and otherwise a *FileError whose Offset is the index of the problem in
// b. The caller fills in the position in the file.
func checkValue(b []byte) *FileError {
	if !utf8.Valid(b) {
		return &FileError{Offset: int64(invalidUTF8Index(b)), Reason: "the text is not valid UTF-8; if the file uses another encoding, " +
			"name it in the form field \"encoding\" (for example encoding=windows-1252)"}
	}

	if json.Valid(b) {
		return nil
	}

	// Unmarshal runs the same check as Valid and reports where it failed.
	var raw json.RawMessage
	err := json.Unmarshal(b, &raw)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		return &FileError{Reason: "the record is not valid JSON; correct it and upload the file again"}
	}

	// Offset counts the bytes read up to and including the invalid one. An
	// incomplete value fails at the end of b, either as "unexpected end" or
	// on the space that the scanner of encoding/json (Go 1.26) feeds itself
	// to end a literal or number. A real space cannot fail there, because
	// callers pass b without trailing whitespace: NDJSON trims each line
	// with trimJSONSpace, and the array splitter stops at the value's last
	// byte.
	at := syntax.Offset - 1
	detail := syntax.Error()
	if syntax.Offset >= int64(len(b)) && (strings.HasPrefix(detail, "unexpected end") || strings.HasPrefix(detail, "invalid character ' '")) {
		at = int64(len(b))
		detail = "unexpected end of JSON input"
	}

	return &FileError{Offset: max(at, 0), Reason: fmt.Sprintf("the record is not valid JSON (%s); correct it and upload the file again", detail)}
}

// invalidUTF8Index returns the index of the first byte of b that is not
// part of valid UTF-8.
func invalidUTF8Index(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++

			continue
		}

		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}

		i += size
	}

	return len(b)
}

// notObjectReason is the invalid message for a record whose JSON value,
// starting with c, is not an object.
func notObjectReason(c byte) string {
	kind := "a number"
	switch c {
	case '[':
		kind = "an array"
	case '"':
		kind = "a string"
	case 't', 'f':
		kind = "a boolean"
	case 'n':
		kind = "null"
	}

	return "the record is " + kind + ", not a JSON object"
}

func sizeReason(size int64, limit int) string {
	return fmt.Sprintf("the record is %s bytes, more than the limit of %s", groupDigits(size), groupDigits(int64(limit)))
}

func depthReason(depth, limit int) string {
	return fmt.Sprintf("the record nests objects and arrays %s levels deep, more than the limit of %s",
		groupDigits(int64(depth)), groupDigits(int64(limit)))
}

func fieldsReason(fields, limit int) string {
	return fmt.Sprintf("the record has %s fields (nested ones included), more than the limit of %s",
		groupDigits(int64(fields)), groupDigits(int64(limit)))
}

// groupDigits formats n with a comma between groups of three digits.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}

	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}

		out = append(out, s[i])
	}

	return sign + string(out)
}

// quoteByte quotes c for a message: a printable ASCII character as 'x',
// anything else as its hexadecimal value.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7F {
		return strconv.QuoteRune(rune(c))
	}

	return fmt.Sprintf("byte 0x%02X", c)
}
