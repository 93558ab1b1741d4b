package records

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// xlsxFuzzLimits keep one run small: the reader's buffers scale with
// MaxRecordBytes.
var xlsxFuzzLimits = Limits{MaxRecordBytes: 64 << 10}.withDefaults()

// FuzzXLSX reads mutated workbooks. Most mutations of a compressed
// archive fail the ZIP checks at once, so the seeds include workbooks
// stored without compression, whose XML the mutations reach.
func FuzzXLSX(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(xlsxConformance, "*", "*.xlsx"))
	if err != nil {
		f.Fatal(err)
	}

	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}

		f.Add(data)
	}

	for _, rows := range xlsxFuzzSheets {
		f.Add(storedXLSX(f, xlsxOneSheet(rows, xlsxStrings("name", "a&b", "ü"), xlsxStyles("id:14", "0.00%", "h:mm", "00000"))))
	}

	saved := xlsxStringMemory
	xlsxStringMemory = 64
	f.Cleanup(func() { xlsxStringMemory = saved })

	f.Fuzz(func(t *testing.T, data []byte) {
		checkXLSXFuzz(t, data)
	})
}

// FuzzXLSXSheet reads workbooks built around a mutated sheet part, so the
// mutations exercise the row and cell reading rather than the ZIP layer.
func FuzzXLSXSheet(f *testing.F) {
	for _, rows := range xlsxFuzzSheets {
		f.Add(xlsxSheet(rows), `<sst><si><t>name</t></si><si><r><t>a</t></r><r><t>b</t></r><rPh><t>x</t></rPh></si></sst>`)
	}

	saved := xlsxStringMemory
	xlsxStringMemory = 64
	f.Cleanup(func() { xlsxStringMemory = saved })

	f.Fuzz(func(t *testing.T, sheet, sst string) {
		parts := xlsxBook(true, [][2]string{{"Sheet1", sheet}},
			xlsxPart{"xl/sharedStrings.xml", sst}, xlsxStyles("id:14", "0.0%", "[h]:mm", "#,##0.00;(#,##0.00)", "id:22"))
		checkXLSXFuzz(t, storedXLSX(t, parts))
	})
}

var xlsxFuzzSheets = []string{
	`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>x.y</t></is></c></row>` +
		`<row r="2"><c r="A2" s="1"><v>45658.25</v></c><c r="B2" t="s"><v>1</v></c><c r="D2"><v>1</v></c></row>` +
		`<row r="4"><c s="2"><v>0.5</v></c><c t="b"><v>1</v></c></row><row><c t="e"><v>#N/A</v></c><c s="4"><v>2134</v></c></row>`,
	`<row><c r="B1" t="s"><v>2</v></c></row><row><c r="A2"><v>1</v></c><c r="B2" s="3"><v>-3.5</v></c></row>`,
}

// storedXLSX returns a ZIP archive of the parts without compression.
func storedXLSX(tb testing.TB, parts []xlsxPart) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}

		if _, err := io.WriteString(w, p.body); err != nil {
			tb.Fatal(err)
		}
	}

	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}

	return buf.Bytes()
}

// checkXLSXFuzz reads a workbook and checks the reader's contract: errors
// are *FileError, records are JSON objects or invalid, and Close removes
// the temporary file.
func checkXLSXFuzz(t *testing.T, data []byte) {
	path := filepath.Join(t.TempDir(), "fuzz.xlsx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	r, err := newXLSXReader(f, int64(len(data)), Options{Limits: xlsxFuzzLimits})
	if err != nil {
		checkXLSXFuzzError(t, err)

		return
	}

	spilled := ""
	if table := r.(*xlsxReader).strings; table != nil && table.file != nil {
		spilled = table.file.Name()
	}

	for range 100_000 {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			checkXLSXFuzzError(t, err)

			break
		}

		if rec.Line < 1 || rec.Offset != -1 {
			t.Fatalf("record at line %d, offset %d", rec.Line, rec.Offset)
		}

		if rec.Invalid != "" {
			continue
		}

		if len(rec.Payload) == 0 || rec.Payload[0] != '{' || !json.Valid(rec.Payload) || !utf8.Valid(rec.Payload) {
			t.Fatalf("row %d: payload is not a JSON object: %q", rec.Line, rec.Payload)
		}
	}

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if spilled != "" {
		if _, err := os.Stat(spilled); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the shared strings file %s is left after Close", spilled)
		}
	}
}

func checkXLSXFuzzError(t *testing.T, err error) {
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error is %T, not *FileError: %v", err, err)
	}

	if fe.Reason == "" {
		t.Fatal("FileError without a reason")
	}
}
