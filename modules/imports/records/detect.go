package records

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// DetectError is the reason a file was rejected at upload. Code is stable
// and becomes part of the API error.
type DetectError struct {
	Code string
	// Format is the format the name or the content announced, when known.
	Format string
}

// Codes of DetectError.
const (
	// DetectEmpty: nothing but whitespace.
	DetectEmpty = "empty"
	// DetectXLS: the old binary Excel format (or another OLE2 document).
	DetectXLS = "xls"
	// DetectBinary: a known binary format (PDF, image, archive) or NUL bytes in text.
	DetectBinary = "binary"
	// DetectMismatch: the name announces one format and the content is not it.
	DetectMismatch = "mismatch"
	// DetectUTF16NoBOM: text with a NUL beside every other byte, which is
	// UTF-16 without a byte order mark.
	DetectUTF16NoBOM = "utf16_without_bom"
	// DetectUnknownEncoding: the requested encoding has no standard name.
	DetectUnknownEncoding = "unknown_encoding"
)

func (e *DetectError) Error() string { return "file rejected at upload: " + e.Code }

// HeadSize is how much of the start of a file Detect wants to see.
const HeadSize = 64 << 10

var (
	zipMagic  = []byte("PK\x03\x04")
	ole2Magic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// binaryMagics are the starts of formats that are never lead files.
var binaryMagics = [][]byte{
	[]byte("%PDF-"), []byte("\x89PNG"), []byte("GIF8"), {0xFF, 0xD8, 0xFF}, {0x1F, 0x8B},
	[]byte("Rar!"), []byte("7z\xBC\xAF"), []byte("BZh"), {0x00, 0x00, 0x00}, []byte("SQLite format 3"),
}

// Detect decides the format of a file from its first bytes (up to
// HeadSize) and its name. The content decides, and the name only breaks a
// tie (a single JSON object that is also a one-line NDJSON file). A name
// that announces JSON or XLSX while the content is something else is an
// error, so a mislabelled file is rejected at once rather than read as CSV.
// A non-empty encoding label decodes the head before the text is sniffed.
func Detect(head []byte, fileName, encodingLabel string) (string, error) {
	ext := strings.ToLower(filepath.Ext(strings.TrimSpace(fileName)))
	named := formatOfExtension(ext)

	switch {
	case bytes.HasPrefix(head, zipMagic):
		if bytes.Contains(head, []byte("xl/")) || bytes.Contains(head, []byte("[Content_Types].xml")) && named == Excel {
			return Excel, nil
		}

		return "", &DetectError{Code: DetectBinary}
	case bytes.HasPrefix(head, ole2Magic):
		return "", &DetectError{Code: DetectXLS}
	}

	for _, magic := range binaryMagics {
		if bytes.HasPrefix(head, magic) {
			return "", &DetectError{Code: DetectBinary}
		}
	}

	if named == Excel {
		return "", &DetectError{Code: DetectMismatch, Format: Excel}
	}

	text, err := textHead(head, encodingLabel)
	if err != nil {
		return "", err
	}

	if bytes.IndexByte(text, 0) >= 0 {
		if looksLikeUTF16(text) {
			return "", &DetectError{Code: DetectUTF16NoBOM}
		}

		return "", &DetectError{Code: DetectBinary}
	}

	text = bytes.TrimLeft(text, " \t\r\n")
	if len(text) == 0 {
		return "", &DetectError{Code: DetectEmpty}
	}

	switch text[0] {
	case '[':
		return JSON, nil
	case '{':
		if named == NDJSON || looksLikeNDJSON(text) {
			return NDJSON, nil
		}

		return JSON, nil
	}

	if named == JSON || named == NDJSON {
		return "", &DetectError{Code: DetectMismatch, Format: named}
	}

	return CSV, nil
}

func formatOfExtension(ext string) string {
	switch ext {
	case ".json":
		return JSON
	case ".ndjson", ".jsonl":
		return NDJSON
	case ".xlsx", ".xlsm":
		return Excel
	case ".csv", ".tsv", ".tab":
		return CSV
	}

	return ""
}

// textHead returns the start of the text as UTF-8 without a BOM. UTF-16
// is decoded so that its NUL bytes do not read as binary.
func textHead(head []byte, label string) ([]byte, error) {
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		return head[3:], nil
	case bytes.HasPrefix(head, bomUTF16LE), bytes.HasPrefix(head, bomUTF16BE):
		// The head may end inside a character pair, so drop an odd byte.
		even := head[:len(head)&^1]
		out, _ := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(even)

		return out, nil
	}

	label = strings.TrimSpace(label)
	if label == "" || isUTF8Label(label) {
		return head, nil
	}

	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, &DetectError{Code: DetectUnknownEncoding}
	}

	// A multi-byte encoding may leave a partial character at the end of the
	// head, which decodes to a replacement character and does no harm here.
	out, _, _ := transform.Bytes(enc.NewDecoder(), head[:len(head)&^1])

	return out, nil
}

// looksLikeUTF16 reports whether at least half of the first bytes at even
// or at odd positions are NUL, as in ASCII text saved as UTF-16.
func looksLikeUTF16(text []byte) bool {
	n := min(len(text), 512)
	var even, odd int
	for i := 0; i < n; i++ {
		if text[i] == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}

	return max(even, odd)*4 >= n
}

// ValidEncoding reports whether label is a standard encoding name that
// decodes text. The WHATWG "replacement" encoding, which some old labels
// map to, turns any input into one error character, so it is refused.
func ValidEncoding(label string) bool {
	enc, err := htmlindex.Get(strings.TrimSpace(label))
	if err != nil {
		return false
	}

	name, err := htmlindex.Name(enc)

	return err == nil && name != "replacement"
}

// looksLikeNDJSON reports whether the first line is a whole JSON value and
// another value starts on a later line.
func looksLikeNDJSON(text []byte) bool {
	end := bytes.IndexByte(text, '\n')
	if end < 0 {
		return false
	}

	if !json.Valid(bytes.TrimSpace(text[:end])) {
		return false
	}

	rest := bytes.TrimLeft(text[end+1:], " \t\r\n")

	return len(rest) > 0 && rest[0] == '{'
}
