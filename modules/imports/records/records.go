// Package records reads the records of an uploaded lead file, one at a time
// and with bounded memory, whatever its format: a JSON array or object,
// NDJSON, CSV/TSV in any common encoding, or an XLSX workbook. Every record
// comes out as a JSON object, ready to store as an item's payload.
package records

import (
	"encoding/json"
	"fmt"
	"os"
)

// Formats, named as ImportBatches.FileType stores them.
const (
	JSON   = "Json"
	NDJSON = "Ndjson"
	CSV    = "Csv"
	Excel  = "Excel"
)

// Record is one record of a file.
type Record struct {
	// Payload is the record as a JSON object. It is nil when Invalid is set
	// and the record could not be kept (for example, over the size limit).
	Payload json.RawMessage
	// Invalid is set when the record breaks a rule that does not stop the
	// rest of the file from being read: a limit, or a CSV row with more
	// cells than the header. The record is stored as an Error with this
	// message and never sent.
	Invalid string
	// Line is the 1-based line of the file where the record starts (CSV,
	// NDJSON, JSON), or its 1-based row number in the sheet (XLSX).
	Line int
	// Offset is the byte offset of the record's start in the file as
	// uploaded, or -1 when it has none (XLSX).
	Offset int64
}

// FileError is a problem with the content of a file that stops it from
// being read any further, such as a syntax error. The batch fails with its
// message, which names where the problem is.
type FileError struct {
	// Record is the 0-based index of the record being read, -1 when the
	// problem is not inside a record.
	Record int
	// Line is the 1-based line (or sheet row), 0 when unknown.
	Line int
	// Offset is the byte offset in the file, -1 when unknown.
	Offset int64
	Reason string
}

func (e *FileError) Error() string {
	where := ""
	if e.Offset >= 0 {
		where = fmt.Sprintf(" at byte offset %d", e.Offset)
	}

	if e.Line > 0 {
		where += fmt.Sprintf(", line %d", e.Line)
	}

	if e.Record >= 0 {
		where += fmt.Sprintf(" (record %d)", e.Record+1)
	}

	return "invalid file" + where + ": " + e.Reason
}

// Limits bound what one record may hold. Zero fields take the defaults.
type Limits struct {
	// MaxRecordBytes is the largest payload of one record, in bytes.
	MaxRecordBytes int
	// MaxFields is the largest number of fields of one record, counting the
	// fields of nested objects.
	MaxFields int
	// MaxDepth is the deepest nesting of objects and arrays in a record; the
	// record object itself is depth 1.
	MaxDepth int
}

// Default limits.
const (
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxFields      = 1000
	DefaultMaxDepth       = 32
)

// withDefaults returns l with zero fields set to the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = DefaultMaxRecordBytes
	}

	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}

	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}

	return l
}

// Options tune how a file is read. The zero value detects everything.
type Options struct {
	// Delimiter is the CSV field separator; 0 detects it among , ; tab and |.
	Delimiter rune
	// Encoding is a WHATWG encoding label ("utf-8", "windows-1252",
	// "iso-8859-1", "utf-16le", "shift_jis"...). Empty detects it: a BOM
	// decides, and a CSV that is not valid UTF-8 is read as Windows-1252,
	// unless it also contains valid multi-byte UTF-8, which fails as a mix
	// of encodings.
	Encoding string
	// Sheet is the XLSX sheet to read by name; empty reads the first one.
	Sheet  string
	Limits Limits
}

// Reader yields the records of a file one at a time.
type Reader interface {
	// Next returns the next record, io.EOF after the last one, or a
	// *FileError when the file cannot be read further.
	Next() (Record, error)
	// Close releases what the reader holds (temporary files, buffers). It
	// does not close the file the reader was opened on.
	Close() error
}

// Open returns a reader of the records of f in the given format. The
// caller keeps f open until the reader is closed.
func Open(f *os.File, format string, opts Options) (Reader, error) {
	opts.Limits = opts.Limits.withDefaults()
	switch format {
	case JSON:
		return newJSONReader(f, opts)
	case NDJSON:
		return newNDJSONReader(f, opts)
	case CSV:
		return newCSVReader(f, opts)
	case Excel:
		info, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("reading file size: %w", err)
		}

		return newXLSXReader(f, info.Size(), opts)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
}
