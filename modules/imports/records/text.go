package records

import (
	"bufio"
	"bytes"
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
// which takes one extra pass over the file.
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

	valid, err := validUTF8(f)
	if err != nil {
		return nil, err
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding file: %w", err)
	}

	br.Reset(f)
	if valid {
		return &textSource{r: br, encoding: "utf-8"}, nil
	}

	return &textSource{r: bufio.NewReaderSize(transform.NewReader(br, fallback.NewDecoder()), 256<<10), transcoded: true, encoding: fallbackName}, nil
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(label)

	return l == "utf-8" || l == "utf8"
}

// validUTF8 reads f from the start and reports whether all of it is valid
// UTF-8.
func validUTF8(f io.ReadSeeker) (bool, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("rewinding file: %w", err)
	}

	buf := make([]byte, 256<<10)
	carry := 0
	for {
		n, err := f.Read(buf[carry:])
		n += carry
		// Keep an incomplete rune at the end for the next read.
		end := n
		for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
			if utf8.RuneStart(buf[i]) {
				if !utf8.FullRune(buf[i:n]) {
					end = i
				}

				break
			}
		}

		if err == io.EOF {
			return utf8.Valid(buf[:n]), nil
		}

		if err != nil {
			return false, fmt.Errorf("reading file: %w", err)
		}

		if !utf8.Valid(buf[:end]) {
			return false, nil
		}

		carry = copy(buf, buf[end:n])
	}
}
