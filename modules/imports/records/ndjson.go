package records

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ndjsonReader reads NDJSON: one JSON value per line, lines ending in LF or
// CRLF. Blank lines are skipped. A line longer than the size limit is read
// in pieces and dropped, so it is never held whole in memory.
type ndjsonReader struct {
	r      *bufio.Reader
	limits Limits
	// skip is the number of file bytes before r's first byte (a BOM).
	skip int64
	// pos is the offset in r of the next line, and line the number of
	// lines read so far.
	// NOTE: when the file was transcoded (UTF-16 or an encoding label),
	// offsets count bytes of the UTF-8 text, not of the file.
	pos   int64
	line  int
	count int
	// err is io.EOF or the *FileError that stopped the reader, returned
	// again by every later call to Next.
	err  error
	scan valueScanner
	// buf holds a line longer than r's buffer, up to the size limit plus a
	// line ending.
	buf []byte
}

// newNDJSONReader reads f as NDJSON.
func newNDJSONReader(f *os.File, opts Options) (Reader, error) {
	src, err := openText(f, opts.Encoding, nil, "")
	if err != nil {
		return nil, err
	}

	return &ndjsonReader{r: src.r, skip: src.skip, limits: opts.Limits.withDefaults()}, nil
}

func (n *ndjsonReader) Next() (Record, error) {
	if n.err != nil {
		return Record{}, n.err
	}

	rec, err := n.next()
	if err != nil {
		n.err = err

		return Record{}, err
	}

	n.count++

	return rec, nil
}

// next reads lines up to the next one that is not blank, and returns its
// record.
func (n *ndjsonReader) next() (Record, error) {
	for {
		start := n.pos
		data, size, contentSize, err := n.readLine()
		if err != nil {
			return Record{}, err
		}

		n.pos += size
		n.line++
		rec := Record{Line: n.line, Offset: n.skip + start}
		if contentSize > int64(n.limits.MaxRecordBytes) {
			rec.Invalid = sizeReason(contentSize, n.limits.MaxRecordBytes)

			return rec, nil
		}

		value, lead := trimJSONSpace(data)
		if len(value) == 0 {
			continue
		}

		if (value[0] == '{' || value[0] == '[') && n.mayBreakLimits(value) {
			// Measure before validating, because json.Valid rejects
			// nesting deeper than 10,000 (maxNestingDepth in Go 1.26),
			// which must be an invalid record, not a syntax error.
			n.scan.reset(value[0])
			n.scan.scan(value)
			switch {
			case n.scan.maxDepth > n.limits.MaxDepth:
				rec.Invalid = depthReason(n.scan.maxDepth, n.limits.MaxDepth)

				return rec, nil
			case n.scan.keys > n.limits.MaxFields:
				rec.Invalid = fieldsReason(n.scan.keys, n.limits.MaxFields)

				return rec, nil
			}
		}

		if err := checkValue(value); err != nil {
			err.Record = n.count
			err.Line = n.line
			err.Offset += n.skip + start + int64(lead)

			return Record{}, err
		}

		rec.Payload = bytes.Clone(value)
		if value[0] != '{' {
			rec.Invalid = notObjectReason(value[0])
		}

		return rec, nil
	}
}

// mayBreakLimits reports whether value may be too deep or have too many
// keys. It counts bytes, which is faster than scanning: the depth is at most
// the number of '{' and '[', and the keys at most the number of ':'.
func (n *ndjsonReader) mayBreakLimits(value []byte) bool {
	return bytes.Count(value, colon) > n.limits.MaxFields ||
		bytes.Count(value, openBrace)+bytes.Count(value, openBracket) > n.limits.MaxDepth
}

var (
	colon       = []byte{':'}
	openBrace   = []byte{'{'}
	openBracket = []byte{'['}
)

// readLine reads the next line. It returns the line without its line
// ending, the number of bytes read, and the size of the line without its
// line ending. A line over the size limit is returned as nil, only
// counted. The data stays valid until the next read.
func (n *ndjsonReader) readLine() ([]byte, int64, int64, error) {
	b, err := n.r.ReadSlice('\n')
	switch {
	case err == nil, errors.Is(err, io.EOF) && len(b) > 0:
		line := trimLineEnd(b)

		return line, int64(len(b)), int64(len(line)), nil
	case errors.Is(err, io.EOF):
		return nil, 0, 0, io.EOF
	case !errors.Is(err, bufio.ErrBufferFull):
		return nil, 0, 0, fmt.Errorf("reading file: %w", err)
	}

	// The line is longer than r's buffer: collect it in buf while it may
	// still fit the limit (with up to two bytes of line ending), and count
	// the rest.
	size := int64(len(b))
	buffering := len(b) <= n.limits.MaxRecordBytes+2
	n.buf = n.buf[:0]
	if buffering {
		n.buf = append(n.buf, b...)
	}

	last := b[len(b)-1]
	for {
		b, err = n.r.ReadSlice('\n')
		if buffering && len(n.buf)+len(b) > n.limits.MaxRecordBytes+2 {
			buffering = false
			n.buf = n.buf[:0]
		}

		if buffering {
			n.buf = append(n.buf, b...)
		}

		ending := len(b) - len(trimLineEnd(b))
		if len(b) == 1 && b[0] == '\n' && last == '\r' {
			ending = 2
		}

		size += int64(len(b))
		if len(b) > 0 {
			last = b[len(b)-1]
		}

		switch {
		case err == nil, errors.Is(err, io.EOF):
			if buffering {
				line := trimLineEnd(n.buf)

				return line, size, int64(len(line)), nil
			}

			return nil, size, size - int64(ending), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, 0, 0, fmt.Errorf("reading file: %w", err)
		}
	}
}

// trimLineEnd removes a trailing LF or CRLF.
func trimLineEnd(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}

	return b
}

// trimJSONSpace removes JSON whitespace around b and returns the rest and the
// number of bytes removed before it.
func trimJSONSpace(b []byte) ([]byte, int) {
	start := 0
	for start < len(b) && isJSONSpace(b[start]) {
		start++
	}

	end := len(b)
	for end > start && isJSONSpace(b[end-1]) {
		end--
	}

	return b[start:end], start
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func (n *ndjsonReader) Close() error {
	n.buf = nil

	return nil
}
