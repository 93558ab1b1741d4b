package records

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCSV reads arbitrary bytes as a CSV file, with detection or as UTF-8
// by request, and small limits so that the limit checks run. Reading must
// end without a panic, every payload, an Invalid record's included, must be
// a valid JSON object, records must start on increasing lines and offsets,
// and every error must be a *FileError. A file that encoding/csv reads without
// LazyQuotes must also give the same rows, and a file that it rejects for a
// quote inside a quoted field must be rejected too.
func FuzzCSV(f *testing.F) {
	for _, dir := range []string{csvConformance, "testdata/conformance/leads"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".tsv")) {
				return err
			}

			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}

			f.Add(data, false)
			f.Add(data, true)

			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
	}

	f.Add([]byte("a.b,a.c,d\n1,2,3\n\"x\"\"\n"), false)
	f.Add([]byte("a;b\r\n\x00;\"\r\"\r\n;;\r\n"), true)
	f.Add([]byte("\"sep=;\";;\r\na,b;c\r\n1,2;\"x\"\"y\"\r\n"), false)
	f.Add([]byte("  \nnome;cidade\nJoão;S\xe3o Paulo\n"), false)
	f.Add([]byte("  \nnome;cidade\nJoão;S\xe3o Paulo\n"), true)

	f.Fuzz(func(t *testing.T, data []byte, asUTF8 bool) {
		path := filepath.Join(t.TempDir(), "input.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}

		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()

		opts := Options{Limits: Limits{MaxRecordBytes: 512, MaxFields: 16, MaxDepth: 3}}
		if asUTF8 {
			opts.Encoding = "utf-8"
		}

		checkStrictRows(t, path, data, opts)

		r, err := newCSVReader(file, opts)
		if err != nil {
			checkFuzzError(t, err)

			return
		}
		defer r.Close()

		// Every record takes at least one byte of the file, so a reader that
		// returns more records than that is not making progress.
		lastLine, lastOffset := 0, int64(-1)
		for i := 0; ; i++ {
			if i > len(data)*4+2 {
				t.Fatalf("more than %d records from %d bytes", i, len(data))
			}

			rec, err := r.Next()
			if err == io.EOF {
				return
			}

			if err != nil {
				checkFuzzError(t, err)

				return
			}

			if rec.Line <= lastLine || rec.Offset <= lastOffset {
				t.Fatalf("record %d starts at line %d, offset %d, after line %d, offset %d",
					i, rec.Line, rec.Offset, lastLine, lastOffset)
			}

			lastLine, lastOffset = rec.Line, rec.Offset
			if rec.Invalid != "" && rec.Payload == nil {
				continue
			}

			// An invalid record keeps its payload for the error report, so
			// that payload must be stored as valid JSON too.
			if !bytes.HasPrefix(rec.Payload, []byte("{")) || !utf8.Valid(rec.Payload) || !json.Valid(rec.Payload) {
				t.Fatalf("record %d is not a valid JSON object: %q", i, rec.Payload)
			}
		}
	})
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	var fileErr *FileError
	if !errors.As(err, &fileErr) {
		t.Fatalf("error %v is %T, not a *FileError", err, err)
	}
}

// checkStrictRows compares the rows of readCSVRows with those of
// encoding/csv without LazyQuotes, when the latter reads the file. Only
// UTF-8 text without a BOM and with LF line ends is compared, since the
// reader changes the others before parsing. A "sep=" first line is left
// out, as the reader drops it.
func checkStrictRows(t *testing.T, path string, data []byte, opts Options) {
	t.Helper()
	if !utf8.Valid(data) || bytes.HasPrefix(data, bomUTF8) || len(data) > csvSampleSize ||
		(bytes.IndexByte(data, '\r') >= 0 && bytes.IndexByte(data, '\n') < 0) {
		return
	}

	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	r, err := openCSV(file, opts)
	if err != nil {
		return
	}

	_, sepLength := parseSepLine(data, true)
	strict := csv.NewReader(bytes.NewReader(data[sepLength:]))
	strict.Comma = r.delimiter
	strict.FieldsPerRecord = -1
	want, strictErr := strict.ReadAll()

	if _, err := file.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}

	got, err := readCSVRows(file, opts)
	if errors.Is(strictErr, csv.ErrQuote) {
		// The first error of strict quoting is a quote inside a quoted
		// field, with no bare quote before it, so quoteGuard must stop too.
		if err == nil {
			t.Fatalf("encoding/csv fails with %v, but readCSVRows reads the file", strictErr)
		}

		return
	}

	if strictErr != nil {
		return
	}

	if err != nil {
		t.Fatalf("encoding/csv reads the file, but readCSVRows fails: %v", err)
	}

	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows differ from encoding/csv's:\n got %q\nwant %q", got, want)
	}
}
