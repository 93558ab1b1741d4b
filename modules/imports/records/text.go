package records

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// textSource is a text file decoded to UTF-8.
type textSource struct {
	// r reads the text as UTF-8, without a byte order mark.
	r *bufio.Reader
	// skip is the number of bytes of the file before r's first byte (a BOM).
	skip int64
	// transcoded is true when r is not the file's own bytes, so offsets
	// count bytes of the UTF-8 text rather than of the file.
	transcoded bool
	// encoding names what the text was read as.
	encoding string
}

// openText decodes f as text. A BOM decides the encoding unless label
// names one. Without either, the text is taken as UTF-8 as is, and
// fallback (when not nil) is used instead if the file is not valid UTF-8,
// which takes one extra pass over the file. A file that also contains valid
// multi-byte UTF-8 mixes encodings, and fails with a *FileError rather
// than have its UTF-8 text garbled by the fallback.
func openText(f io.ReadSeeker, label string, fallback encoding.Encoding, fallbackName string) (*textSource, error) {
	br := bufio.NewReaderSize(f, 256<<10)
	head, _ := br.Peek(3)
	label = strings.TrimSpace(label)

	switch {
	case bytes.HasPrefix(head, bomUTF8):
		_, _ = br.Discard(3)
		if label != "" && !isUTF8Label(label) {
			return nil, &FileError{Record: -1, Offset: 0, Reason: fmt.Sprintf(
				"the file starts with a UTF-8 byte order mark but the encoding %q was requested; leave the field \"encoding\" out", label)}
		}

		return &textSource{r: br, skip: 3, encoding: "utf-8"}, nil
	case bytes.HasPrefix(head, bomUTF16LE), bytes.HasPrefix(head, bomUTF16BE):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		return &textSource{r: bufio.NewReaderSize(transform.NewReader(br, dec), 256<<10), transcoded: true, encoding: "utf-16"}, nil
	}

	if label != "" {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
				"unknown encoding %q; use a standard name such as utf-8, windows-1252, iso-8859-1 or utf-16le", label)}
		}

		name, _ := htmlindex.Name(enc)
		if isUTF8Label(name) {
			return &textSource{r: br, encoding: "utf-8"}, nil
		}

		return &textSource{r: bufio.NewReaderSize(transform.NewReader(br, enc.NewDecoder()), 256<<10), transcoded: true, encoding: name}, nil
	}

	if fallback == nil {
		return &textSource{r: br, encoding: "utf-8"}, nil
	}

	scan, err := scanUTF8(f)
	if err != nil {
		return nil, err
	}

	// NOTE: text in the fallback encoding can contain byte pairs that happen
	// to be valid UTF-8 (Windows-1252 "É’" is C9 92), so such a file fails
	// here too and needs its encoding named.
	if scan.invalid >= 0 && scan.multiByte {
		return nil, &FileError{Record: -1, Line: scan.line, Offset: scan.invalid, Reason: fmt.Sprintf(
			"the file mixes UTF-8 text with bytes of another encoding, starting with byte 0x%02X at this position; "+
				"save it as UTF-8, or send encoding=utf-8 to import it with the rows that contain those bytes marked Error, "+
				"or encoding=%s to read it all as %s", scan.invalidByte, fallbackName, fallbackName)}
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding file: %w", err)
	}

	br.Reset(f)
	if scan.invalid < 0 {
		return &textSource{r: br, encoding: "utf-8"}, nil
	}

	return &textSource{r: bufio.NewReaderSize(transform.NewReader(br, fallback.NewDecoder()), 256<<10), transcoded: true, encoding: fallbackName}, nil
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(label)

	return l == "utf-8" || l == "utf8"
}

// utf8Scan is what scanUTF8 finds in a file.
type utf8Scan struct {
	// invalid is the offset of the first byte that is not part of valid
	// UTF-8, or -1 when the whole file is valid.
	invalid     int64
	invalidByte byte
	// line is the 1-based line of that byte. Lines end at LF, or at CR in
	// a file without LF before that byte.
	line int
	// multiByte is set when the file contains a valid UTF-8 sequence of
	// more than one byte, which text in a single-byte encoding rarely does.
	multiByte bool
}

// scanUTF8 reads f from the start, in one pass, for its first invalid UTF-8
// byte and for a valid multi-byte sequence. It stops once it has found both.
func scanUTF8(f io.ReadSeeker) (utf8Scan, error) {
	scan := utf8Scan{invalid: -1}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return scan, fmt.Errorf("rewinding file: %w", err)
	}

	buf := make([]byte, 256<<10)
	carry := 0
	var pos int64 // file offset of buf[0]
	var lineFeeds, carriageReturns int
	for {
		n, err := f.Read(buf[carry:])
		n += carry
		if err != nil && err != io.EOF {
			return scan, fmt.Errorf("reading file: %w", err)
		}

		// Keep an incomplete rune at the end for the next read, unless the
		// file ends there.
		end := n
		if err != io.EOF {
			end = completeRunes(buf[:n])
		}

		chunk := buf[:end]
		if utf8.Valid(chunk) {
			if !scan.multiByte && !isASCII(chunk) {
				scan.multiByte = true
			}
		} else {
			scan.findInvalid(chunk, pos, lineFeeds, carriageReturns)
		}

		if scan.invalid < 0 {
			lineFeeds += bytes.Count(chunk, lineFeed)
			carriageReturns += bytes.Count(chunk, carriageReturn)
		}

		if err == io.EOF || scan.invalid >= 0 && scan.multiByte {
			return scan, nil
		}

		carry = copy(buf, buf[end:n])
		pos += int64(end)
	}
}

// findInvalid scans chunk, which starts at offset pos of the file after
// the given numbers of LF and CR, for its first invalid byte and for a
// valid multi-byte sequence.
func (s *utf8Scan) findInvalid(chunk []byte, pos int64, lineFeeds, carriageReturns int) {
	for i := 0; i < len(chunk); {
		if chunk[i] < utf8.RuneSelf {
			i++

			continue
		}

		r, size := utf8.DecodeRune(chunk[i:])
		if r != utf8.RuneError || size > 1 {
			s.multiByte = true
		} else if s.invalid < 0 {
			s.invalid, s.invalidByte = pos+int64(i), chunk[i]
			lineFeeds += bytes.Count(chunk[:i], lineFeed)
			carriageReturns += bytes.Count(chunk[:i], carriageReturn)
			s.line = 1 + lineFeeds
			if lineFeeds == 0 {
				s.line = 1 + carriageReturns
			}
		}

		if s.multiByte && s.invalid >= 0 {
			return
		}

		i += size
	}
}

// completeRunes returns the length of the longest prefix of b that does
// not end inside a rune.
func completeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}

			break
		}
	}

	return len(b)
}

// isASCII reports whether every byte of b is below 0x80, eight at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}

		b = b[8:]
	}

	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}

	return true
}

var (
	lineFeed       = []byte{'\n'}
	carriageReturn = []byte{'\r'}
)
