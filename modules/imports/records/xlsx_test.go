package records

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const xlsxConformance = "testdata/conformance/xlsx"

// openXLSXFile opens a workbook the way Open does, closing both the file
// and the reader at the end of the test.
func openXLSXFile(t testing.TB, path string, opts Options) (Reader, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	info, err := f.Stat()
	require.NoError(t, err)

	opts.Limits = opts.Limits.withDefaults()
	r, err := newXLSXReader(f, info.Size(), opts)
	if err == nil {
		t.Cleanup(func() { _ = r.Close() })
	}

	return r, err
}

// readXLSXFile returns all records of a sheet and fails on any error.
func readXLSXFile(t testing.TB, path string, opts Options) []Record {
	t.Helper()
	r, err := openXLSXFile(t, path, opts)
	require.NoError(t, err)

	var records []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return records
		}

		require.NoError(t, err)
		records = append(records, rec)
	}
}

// xlsxFileError returns the *FileError that opening or reading a sheet
// ends with.
func xlsxFileError(t *testing.T, path string, opts Options) *FileError {
	t.Helper()
	r, err := openXLSXFile(t, path, opts)
	for err == nil {
		_, err = r.Next()
	}

	require.NotErrorIs(t, err, io.EOF, "the sheet was read without error")

	var fe *FileError
	require.ErrorAs(t, err, &fe)

	return fe
}

func xlsxPayload(t *testing.T, rec Record) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Payload, &m), "payload %s", rec.Payload)

	return m
}

// xlsxPart is one file of a workbook built by a test.
type xlsxPart struct {
	name string
	body string
}

// writeXLSX writes a ZIP archive of the parts and returns its path.
func writeXLSX(t testing.TB, parts ...xlsxPart) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "book.xlsx")
	f, err := os.Create(path)
	require.NoError(t, err)

	zw := zip.NewWriter(f)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}

	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	return path
}

const xlsxMainNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`

// xlsxBook returns the parts of a workbook whose sheets are the given
// (name, XML) pairs, with shared strings and styles parts when extra
// holds them.
func xlsxBook(date1904 bool, sheets [][2]string, extra ...xlsxPart) []xlsxPart {
	var list, rels strings.Builder
	var parts []xlsxPart
	for i, s := range sheets {
		fmt.Fprintf(&list, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, s[0], i+1, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, i+1)
		parts = append(parts, xlsxPart{fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1), s[1]})
	}

	rels.WriteString(`<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>`)
	rels.WriteString(`<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`)

	pr := ""
	if date1904 {
		pr = `<workbookPr date1904="1"/>`
	}

	head := []xlsxPart{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook ` + xlsxMainNS + `>` + pr + `<sheets>` + list.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() + `</Relationships>`},
	}

	return append(append(head, parts...), extra...)
}

// xlsxOneSheet returns a workbook of one sheet, "Sheet1", with the rows.
func xlsxOneSheet(rows string, extra ...xlsxPart) []xlsxPart {
	return xlsxBook(false, [][2]string{{"Sheet1", xlsxSheet(rows)}}, extra...)
}

func xlsxSheet(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><worksheet ` + xlsxMainNS + `><sheetData>` + rows + `</sheetData></worksheet>`
}

// xlsxStrings returns a shared strings part of plain items.
func xlsxStrings(items ...string) xlsxPart {
	var b strings.Builder
	for _, s := range items {
		b.WriteString("<si><t>")
		_ = xmlEscape(&b, s)
		b.WriteString("</t></si>")
	}

	return xlsxPart{"xl/sharedStrings.xml", `<sst ` + xlsxMainNS + `>` + b.String() + `</sst>`}
}

func xmlEscape(w io.Writer, s string) error {
	_, err := io.WriteString(w, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s))

	return err
}

// xlsxStyles returns a styles part whose cell format i has the number
// format codes[i]. A code "id:N" is the built-in numFmtId N.
func xlsxStyles(codes ...string) xlsxPart {
	var fmts, xfs strings.Builder
	for i, code := range codes {
		id, err := strconv.Atoi(strings.TrimPrefix(code, "id:"))
		if !strings.HasPrefix(code, "id:") || err != nil {
			id = 164 + i
			fmt.Fprintf(&fmts, `<numFmt numFmtId="%d" formatCode="%s"/>`, id, strings.ReplaceAll(code, `"`, "&quot;"))
		}

		fmt.Fprintf(&xfs, `<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0"/>`, id)
	}

	return xlsxPart{"xl/styles.xml", `<styleSheet ` + xlsxMainNS + `><numFmts>` + fmts.String() +
		`</numFmts><cellXfs>` + xfs.String() + `</cellXfs></styleSheet>`}
}

func TestXLSXCsvkitData(t *testing.T) {
	f, err := os.Open(filepath.Join(xlsxConformance, "csvkit/testxlsx_converted.csv"))
	require.NoError(t, err)
	defer f.Close()

	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)

	records := readXLSXFile(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{Sheet: "data"})
	require.Len(t, records, len(rows)-1)

	header := rows[0]
	for i, row := range rows[1:] {
		rec := records[i]
		assert.Equal(t, i+2, rec.Line, "row %d", i+2)
		assert.Equal(t, int64(-1), rec.Offset, "row %d", i+2)

		// csvkit names the unnamed 8th column "h"; here it is outside the
		// header, so only the first seven columns make the record.
		want := map[string]any{}
		for j, v := range row[:7] {
			if v == "" {
				continue
			}

			// csvkit writes booleans as True/False, Excel as TRUE/FALSE.
			if header[j] == "boolean" {
				v = strings.ToUpper(v)
			}

			want[header[j]] = v
		}

		assert.Equal(t, want, xlsxPayload(t, rec), "row %d", i+2)
	}

	assert.Empty(t, records[0].Invalid)
	assert.Contains(t, records[1].Invalid, "column H")
	assert.Empty(t, records[2].Invalid)
}

func TestXLSXCsvkitValues(t *testing.T) {
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{Sheet: "data"})
	require.Len(t, records, 5)

	first := xlsxPayload(t, records[0])
	assert.Equal(t, "1971-01-01", first["date"])
	assert.Equal(t, "1971-01-01T04:14:00", first["datetime"])
	assert.Equal(t, "TRUE", first["boolean"])
	assert.Equal(t, "41800000.01", xlsxPayload(t, records[2])["float"])
	assert.Equal(t, "1920-01-01T00:00:00", xlsxPayload(t, records[2])["datetime"])
}

func TestXLSXCsvkitSheetList(t *testing.T) {
	f, err := os.Open(filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"))
	require.NoError(t, err)
	defer f.Close()

	info, err := f.Stat()
	require.NoError(t, err)
	zr, err := zip.NewReader(f, info.Size())
	require.NoError(t, err)

	wb, err := readWorkbook(newXLSXPackage(zr, Limits{}.withDefaults()))
	require.NoError(t, err)

	var names []string
	for _, s := range wb.sheets {
		names = append(names, s.name)
	}

	assert.Equal(t, []string{"not this one", "data", "ʤ"}, names)
	assert.True(t, wb.date1904)
}

func TestXLSXCsvkitIPASheet(t *testing.T) {
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{Sheet: "ʤ"})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"a":"1","b":"2","c":"3"}`, string(records[0].Payload))
}

func TestXLSXCsvkitEmptyFirstSheet(t *testing.T) {
	fe := xlsxFileError(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{})
	assert.Contains(t, fe.Reason, `the sheet "not this one" has no cells with values`)
}

func TestXLSXSheetNameIgnoresCase(t *testing.T) {
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{Sheet: "DATA"})
	assert.Len(t, records, 5)
}

func TestXLSXMissingSheet(t *testing.T) {
	fe := xlsxFileError(t, filepath.Join(xlsxConformance, "csvkit/sheets.xlsx"), Options{Sheet: "leads"})
	assert.Contains(t, fe.Reason, `no sheet named "leads"`)
	assert.Contains(t, fe.Reason, `"not this one", "data", "ʤ"`)
	assert.Equal(t, -1, fe.Record)
}

func TestXLSXFrictionlessTable(t *testing.T) {
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "frictionless/table.xlsx"), Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"id":"1","name":"english"}`, string(records[0].Payload))
	assert.JSONEq(t, `{"id":"2","name":"中国人"}`, string(records[1].Payload))
	assert.Equal(t, 3, records[1].Line)
}

func TestXLSXFrictionlessSecondSheet(t *testing.T) {
	// Row 1 is empty, so row 2 is the header.
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "frictionless/table.xlsx"), Options{Sheet: "Sheet 2"})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"1":"2","english":"中国人"}`, string(records[0].Payload))
	assert.Equal(t, 3, records[0].Line)
}

func TestXLSXEmptyCells(t *testing.T) {
	// A1 is empty, so the header is B1:D1 and the values in column A of
	// rows 2-4 are outside the table.
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "tealeg/empty_cells.xlsx"), Options{})
	require.Len(t, records, 3)

	want := []string{`{"C1":"C2","D1":"D2"}`, `{"B1":"B3","D1":"D3"}`, `{"B1":"B4","C1":"C4"}`}
	for i, rec := range records {
		assert.Equal(t, i+2, rec.Line)
		assert.JSONEq(t, want[i], string(rec.Payload), "row %d", rec.Line)
		assert.Contains(t, rec.Invalid, "value in column A, left of the header, which starts at column B", "row %d", rec.Line)
	}
}

func TestXLSXEmptyRows(t *testing.T) {
	tests := []struct {
		sheet string
		line  int
		want  string
	}{
		{"EmptyRows", 4, `{"A3":"A4","B3":"B4"}`},
		{"EmptyCols", 2, `{"C1":"C2","D1":"D2"}`},
		{"EmptyRowsAndCols", 4, `{"C3":"C4","D3":"D4"}`},
	}

	for _, tt := range tests {
		t.Run(tt.sheet, func(t *testing.T) {
			records := readXLSXFile(t, filepath.Join(xlsxConformance, "tealeg/empty_rows.xlsx"), Options{Sheet: tt.sheet})
			require.Len(t, records, 1)
			assert.Equal(t, tt.line, records[0].Line)
			assert.JSONEq(t, tt.want, string(records[0].Payload))
			assert.Empty(t, records[0].Invalid)
		})
	}
}

func TestXLSXInlineStrings(t *testing.T) {
	// B1, a rich inline string, is the first value and so the only header
	// name; the report's own table further down lies beyond it.
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "tealeg/inlineStrings.xlsx"), Options{})
	require.NotEmpty(t, records)

	title := "HL Retail - North America - Activity by Day - MTD"
	assert.Equal(t, map[string]any{title: "Advertiser: Malformed Industries"}, xlsxPayload(t, records[0]))
	assert.Equal(t, 2, records[0].Line)

	last := records[len(records)-1]
	assert.Equal(t, 38, last.Line)
	assert.True(t, strings.HasPrefix(xlsxPayload(t, last)[title].(string), "Notes:"))

	for _, rec := range records {
		assert.True(t, rec.Invalid != "" || json.Valid(rec.Payload), "row %d", rec.Line)
	}
}

func TestXLSXCellTypes(t *testing.T) {
	// The header is row 1: "hello world" and "string".
	records := readXLSXFile(t, filepath.Join(xlsxConformance, "tealeg/testcelltypes.xlsx"), Options{})
	require.Len(t, records, 7)

	want := map[int]string{
		2: "日本語", // the phonetic reading in <rPh> is left out
		3: "12345",
		4: "1.024",
		5: "2015-01-01", // serial 40543 in the 1904 date system
		6: "TRUE",
		7: "30",
		8: "#DIV/0!",
	}

	for _, rec := range records {
		assert.Equal(t, want[rec.Line], xlsxPayload(t, rec)["hello world"], "row %d", rec.Line)
	}
}

func TestXLSXCellKinds(t *testing.T) {
	rows := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>` +
		`<row r="3"><c r="A3" t="inlineStr"><is><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r><rPh><t>x</t></rPh></is></c>` +
		`<c r="B3" t="str"><f>CONCAT("a","b")</f><v>ab</v></c></row>` +
		`<row><c t="e"><v>#N/A</v></c><c t="d"><v>2024-02-29T10:00:00</v></c></row>` +
		`<row><c t="b"><v>0</v></c><c><f>1/3</f><v>0.33333333333333331</v></c></row>` +
		`<row><c r="B6" t="s"><v>2</v></c></row>`
	path := writeXLSX(t, xlsxOneSheet(rows, xlsxStrings("kind", "value", "only B"))...)
	records := readXLSXFile(t, path, Options{})
	require.Len(t, records, 4)

	assert.JSONEq(t, `{"kind":"rich text","value":"ab"}`, string(records[0].Payload))
	assert.Equal(t, 3, records[0].Line)
	assert.JSONEq(t, `{"kind":"#N/A","value":"2024-02-29T10:00:00"}`, string(records[1].Payload))
	assert.Equal(t, 4, records[1].Line)
	assert.JSONEq(t, `{"kind":"FALSE","value":"0.333333333333333"}`, string(records[2].Payload))
	assert.JSONEq(t, `{"value":"only B"}`, string(records[3].Payload))
	assert.Equal(t, 6, records[3].Line)
}

func TestXLSXSharedStringRuns(t *testing.T) {
	sst := xlsxPart{"xl/sharedStrings.xml", `<sst ` + xlsxMainNS + `><si><t>name</t></si>` +
		`<si><r><t xml:space="preserve">Jo </t></r><r><rPr><i/></rPr><t>Doe</t></r><rPh sb="0" eb="2"><t>ジョー</t></rPh><phoneticPr fontId="1"/></si></sst>`}
	path := writeXLSX(t, xlsxOneSheet(`<row><c t="s"><v>0</v></c></row><row><c t="s"><v>1</v></c></row>`, sst)...)
	records := readXLSXFile(t, path, Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"name":"Jo Doe"}`, string(records[0].Payload))
}

func TestXLSXDottedHeaders(t *testing.T) {
	rows := `<row><c t="inlineStr"><is><t>name</t></is></c><c t="inlineStr"><is><t>contact.email</t></is></c><c t="inlineStr"><is><t> contact.phone </t></is></c></row>` +
		`<row><c t="inlineStr"><is><t>Ann</t></is></c><c t="inlineStr"><is><t>ann@example.invalid</t></is></c><c><v>5511999998888</v></c></row>` +
		`<row><c t="inlineStr"><is><t>Bob</t></is></c></row>`
	records := readXLSXFile(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"name":"Ann","contact":{"email":"ann@example.invalid","phone":"5511999998888"}}`, string(records[0].Payload))
	assert.JSONEq(t, `{"name":"Bob"}`, string(records[1].Payload))
}

func TestXLSXValueBeyondHeader(t *testing.T) {
	rows := `<row><c r="B1" t="inlineStr"><is><t>a</t></is></c></row>` +
		`<row><c r="B2"><v>1</v></c><c r="D2"><v>2</v></c></row>` +
		`<row><c r="A3"><v>3</v></c><c r="B3"><v>4</v></c></row>` +
		`<row><c r="A4" t="inlineStr"><is><t xml:space="preserve">  </t></is></c><c r="B4"><v>5</v></c></row>`
	records := readXLSXFile(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{})
	require.Len(t, records, 3)

	assert.Equal(t, "the row has a value in column D, but the header ends at column B; name that column in the header row or remove the value", records[0].Invalid)
	assert.Contains(t, records[1].Invalid, "value in column A, left of the header, which starts at column B")
	assert.Empty(t, records[2].Invalid, "a blank cell left of the header is no value")
	assert.JSONEq(t, `{"a":"5"}`, string(records[2].Payload))
}

func TestXLSXHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		row  string
		want string
	}{
		{"duplicate", `<c r="B2" t="inlineStr"><is><t>a</t></is></c><c r="C2" t="inlineStr"><is><t> a</t></is></c>`, `"a" is used in columns B and C`},
		{"gap", `<c r="B2" t="inlineStr"><is><t>a</t></is></c><c r="D2" t="inlineStr"><is><t>b</t></is></c>`, "no name in column C"},
		{"clash", `<c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>a.b</t></is></c>`, "both as a value and as a group"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeXLSX(t, xlsxOneSheet(`<row r="2">`+tt.row+`</row><row r="3"><c><v>1</v></c></row>`)...)
			fe := xlsxFileError(t, path, Options{})
			assert.Contains(t, fe.Reason, tt.want)
			assert.Equal(t, 2, fe.Line)
		})
	}
}

func TestXLSXRecordLimit(t *testing.T) {
	long := strings.Repeat("x", 200)
	rows := `<row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c></row>` +
		`<row><c t="inlineStr"><is><t>` + long + `</t></is></c><c t="inlineStr"><is><t>` + long + `</t></is></c></row>` +
		`<row><c><v>1</v></c></row>`
	records := readXLSXFile(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{Limits: Limits{MaxRecordBytes: 300}})
	require.Len(t, records, 2)
	assert.Contains(t, records[0].Invalid, "more than 300 bytes")
	assert.Nil(t, records[0].Payload)
	assert.Empty(t, records[1].Invalid)
}

func TestXLSXLineAndOffset(t *testing.T) {
	rows := `<row r="2"><c r="C2" t="inlineStr"><is><t>a</t></is></c></row><row r="5"/><row r="7"><c r="C7"><v>1</v></c></row><row><c r="C8"><v>2</v></c></row>`
	records := readXLSXFile(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{})
	require.Len(t, records, 2)
	assert.Equal(t, 7, records[0].Line)
	assert.Equal(t, 8, records[1].Line)
	assert.Equal(t, int64(-1), records[1].Offset)
}

func TestXLSXEOFRepeats(t *testing.T) {
	r, err := openXLSXFile(t, writeXLSX(t, xlsxOneSheet(`<row><c t="inlineStr"><is><t>a</t></is></c></row>`)...), Options{})
	require.NoError(t, err)

	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
	_, err = r.Next()
	assert.ErrorIs(t, err, io.EOF)
}

func TestXLSXSyntaxError(t *testing.T) {
	rows := `<row r="1"><c t="inlineStr"><is><t>a</t></is></c></row><row r="2"><c><v>1</v></c></row><row r="3"><c><v>2</v></row>`
	fe := xlsxFileError(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{})
	assert.Equal(t, 3, fe.Line)
	assert.Equal(t, 1, fe.Record)
	assert.Contains(t, fe.Reason, "is not valid XML")
}

func TestXLSXSharedStringOutOfRange(t *testing.T) {
	rows := `<row><c t="s"><v>0</v></c></row><row><c t="s"><v>7</v></c></row>`
	fe := xlsxFileError(t, writeXLSX(t, xlsxOneSheet(rows, xlsxStrings("a"))...), Options{})
	assert.Contains(t, fe.Reason, `refers to shared string "7", but the workbook has 1`)
	assert.Equal(t, 2, fe.Line)
}

func TestXLSXDeepNesting(t *testing.T) {
	deep := strings.Repeat("<x>", 300) + strings.Repeat("</x>", 300)
	fe := xlsxFileError(t, writeXLSX(t, xlsxOneSheet(`<row><c t="inlineStr"><is><t>a</t></is></c></row>`+deep)...), Options{})
	assert.Contains(t, fe.Reason, "nests XML elements more than 256 deep")
}

func TestXLSXLongToken(t *testing.T) {
	// A cell text far beyond the record limit stops the file: no
	// spreadsheet program writes one.
	long := strings.Repeat("y", 600<<10)
	rows := `<row><c t="inlineStr"><is><t>a</t></is></c></row><row><c t="inlineStr"><is><t>` + long + `</t></is></c></row>`
	fe := xlsxFileError(t, writeXLSX(t, xlsxOneSheet(rows)...), Options{Limits: Limits{MaxRecordBytes: 100 << 10}})
	assert.Contains(t, fe.Reason, "longer than")
	assert.Equal(t, 2, fe.Line)
}

func TestXLSXAbsoluteTargets(t *testing.T) {
	parts := []xlsxPart{
		{"xl/workbook.xml", `<workbook ` + xlsxMainNS + `><sheets><sheet name="Leads" sheetId="1" r:id="rId9"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId9" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" Target="/xl/worksheets/Data.xml"/></Relationships>`},
		{"xl/worksheets/data.xml", xlsxSheet(`<row><c t="inlineStr"><is><t>a</t></is></c></row><row><c><v>1</v></c></row>`)},
	}
	records := readXLSXFile(t, writeXLSX(t, parts...), Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"a":"1"}`, string(records[0].Payload))
}

func TestXLSXChartSheet(t *testing.T) {
	parts := []xlsxPart{
		{"xl/workbook.xml", `<workbook ` + xlsxMainNS + `><sheets><sheet name="Chart" sheetId="1" r:id="rId1"/><sheet name="Data" sheetId="2" r:id="rId2"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
		{"xl/chartsheets/sheet1.xml", `<chartsheet ` + xlsxMainNS + `/>`},
		{"xl/worksheets/sheet1.xml", xlsxSheet(`<row><c t="inlineStr"><is><t>a</t></is></c></row><row><c><v>1</v></c></row>`)},
	}
	path := writeXLSX(t, parts...)

	records := readXLSXFile(t, path, Options{})
	require.Len(t, records, 1, "the first worksheet is read when no sheet is named")
	assert.JSONEq(t, `{"a":"1"}`, string(records[0].Payload))

	fe := xlsxFileError(t, path, Options{Sheet: "Chart"})
	assert.Contains(t, fe.Reason, `the sheet "Chart" is a chartsheet, not a worksheet`)
}

func TestXLSXLongSheetName(t *testing.T) {
	parts := xlsxBook(false, [][2]string{{strings.Repeat("n", 2000), xlsxSheet("")}})
	fe := xlsxFileError(t, writeXLSX(t, parts...), Options{})
	assert.Contains(t, fe.Reason, "has a name attribute longer than 1024 bytes")
}

func TestXLSXNotAWorkbook(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "leads.xlsx")
	require.NoError(t, os.WriteFile(text, []byte("name,email\nAnn,ann@example.invalid\n"), 0o600))
	xls := filepath.Join(dir, "old.xls")
	require.NoError(t, os.WriteFile(xls, append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 504)...), 0o600))

	tests := []struct {
		name string
		path string
		want string
	}{
		{"text", text, "not an XLSX workbook (it is not a ZIP archive"},
		{"xls", xls, "Excel 97-2003 workbook (.xls)"},
		{"other zip", writeXLSX(t, xlsxPart{"word/document.xml", "<document/>"}), "has no xl/workbook.xml"},
		{"ods", writeXLSX(t, xlsxPart{"mimetype", "application/vnd.oasis.opendocument.spreadsheet"}, xlsxPart{"content.xml", "<x/>"}), "OpenDocument"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := xlsxFileError(t, tt.path, Options{})
			assert.Contains(t, fe.Reason, tt.want)
		})
	}
}

func TestXLSXZipBombRatio(t *testing.T) {
	// 8 MiB of one repeated row compresses far more than 200 times.
	row := `<row><c t="inlineStr"><is><t>a</t></is></c></row>`
	path := writeXLSX(t, xlsxOneSheet(strings.Repeat(row, (8<<20)/len(row)))...)
	fe := xlsxFileError(t, path, Options{})
	assert.Contains(t, fe.Reason, "it may be a ZIP bomb")
	assert.Contains(t, fe.Reason, "more than 200 times")
}

// writeRawXLSX writes a workbook whose sheet part's header declares
// declared bytes while the data holds sheet.
func writeRawXLSX(t *testing.T, sheet string, declared uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "book.xlsx")
	f, err := os.Create(path)
	require.NoError(t, err)

	zw := zip.NewWriter(f)
	for _, p := range xlsxOneSheet("") {
		if strings.HasPrefix(p.name, "xl/worksheets/") {
			continue
		}

		w, err := zw.Create(p.name)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}

	var compressed bytes.Buffer
	fw, err := flate.NewWriter(&compressed, flate.BestCompression)
	require.NoError(t, err)
	_, err = io.WriteString(fw, sheet)
	require.NoError(t, err)
	require.NoError(t, fw.Close())

	w, err := zw.CreateRaw(&zip.FileHeader{
		Name:               "xl/worksheets/sheet1.xml",
		Method:             zip.Deflate,
		CRC32:              crc32.ChecksumIEEE([]byte(sheet)),
		CompressedSize64:   uint64(compressed.Len()),
		UncompressedSize64: declared,
	})
	require.NoError(t, err)
	_, err = w.Write(compressed.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	return path
}

func TestXLSXZipBombLyingSize(t *testing.T) {
	// The header says 1000 bytes, the data expands to 4 MiB.
	row := `<row><c t="inlineStr"><is><t>a</t></is></c></row>`
	sheet := xlsxSheet(strings.Repeat(row, (4<<20)/len(row)))
	fe := xlsxFileError(t, writeRawXLSX(t, sheet, 1000), Options{})
	assert.Contains(t, fe.Reason, "expands to more than its declared 1,000 bytes")
	assert.Contains(t, fe.Reason, "it may be a ZIP bomb")
}

func TestXLSXZipBombDeclaredSize(t *testing.T) {
	fe := xlsxFileError(t, writeRawXLSX(t, xlsxSheet(""), 5<<30), Options{})
	assert.Contains(t, fe.Reason, "more than the limit of 4,294,967,296")
}

func TestXLSXZipDirectoryTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "book.xlsx")
	f, err := os.Create(path)
	require.NoError(t, err)

	zw := zip.NewWriter(f)
	for _, p := range xlsxOneSheet("") {
		w, err := zw.Create(p.name)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}

	for i := range 70_000 {
		_, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("x/%d", i), Method: zip.Store})
		require.NoError(t, err)
	}

	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	fe := xlsxFileError(t, path, Options{})
	assert.Contains(t, fe.Reason, "the archive lists 70,005 entries")
}

func TestXLSXSharedStringsSpill(t *testing.T) {
	saved := xlsxStringMemory
	xlsxStringMemory = 4 << 10
	t.Cleanup(func() { xlsxStringMemory = saved })

	// Row i uses the string added for it, in order, and an earlier one out
	// of order, so reads also go back in the file. The last string is
	// larger than the read window.
	const n = 3000
	items := []string{"name", "note"}
	var rows strings.Builder
	rows.WriteString(`<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>`)
	for i := range n {
		items = append(items, fmt.Sprintf("person %d", i))
		fmt.Fprintf(&rows, `<row><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c></row>`, len(items)-1, 2+(i*7919)%(len(items)-2))
	}

	items = append(items, strings.Repeat("z", 100<<10))
	fmt.Fprintf(&rows, `<row><c t="s"><v>%d</v></c><c t="s"><v>1</v></c></row>`, len(items)-1)

	r, err := openXLSXFile(t, writeXLSX(t, xlsxOneSheet(rows.String(), xlsxStrings(items...))...), Options{})
	require.NoError(t, err)

	table := r.(*xlsxReader).strings
	require.NotNil(t, table.file, "the strings were not spilled")
	spilled := table.file.Name()
	assert.FileExists(t, spilled)

	for i := range n {
		rec, err := r.Next()
		require.NoError(t, err)
		want := fmt.Sprintf(`{"name":"person %d","note":"%s"}`, i, items[2+(i*7919)%(i+1)])
		require.JSONEq(t, want, string(rec.Payload), "row %d", rec.Line)
	}

	rec, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, items[len(items)-1], xlsxPayload(t, rec)["name"])

	require.NoError(t, r.Close())
	assert.NoFileExists(t, spilled)
}

func TestXLSXMillionStrings(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a table of a million strings")
	}

	// About 30 MB of text: more than xlsxStringMemory, so it moves to a
	// temporary file and the heap keeps only the index.
	const n = 1_000_000
	path := filepath.Join(t.TempDir(), "strings.xlsx")
	f, err := os.Create(path)
	require.NoError(t, err)

	zw := zip.NewWriter(f)
	for _, p := range xlsxOneSheet(fmt.Sprintf(`<row><c t="s"><v>0</v></c></row><row><c t="s"><v>%d</v></c></row><row><c t="s"><v>1</v></c></row>`, n-1)) {
		w, err := zw.Create(p.name)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}

	w, err := zw.Create("xl/sharedStrings.xml")
	require.NoError(t, err)
	sst := bufio.NewWriter(w)
	fmt.Fprint(sst, `<sst `+xlsxMainNS+`><si><t>email</t></si>`)
	for i := 1; i < n; i++ {
		fmt.Fprintf(sst, "<si><t>lead-%07d@example.invalid</t></si>", i)
	}

	fmt.Fprint(sst, `</sst>`)
	require.NoError(t, sst.Flush())
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := openXLSXFile(t, path, Options{})
	require.NoError(t, err)
	runtime.GC()
	runtime.ReadMemStats(&after)

	assert.NotNil(t, r.(*xlsxReader).strings.file, "the strings were not spilled")
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap held after loading %d strings: %d bytes", n, held)
	// The first xlsxStringMemory bytes stay in memory by design; the index
	// and the rest must not add more than a few MiB.
	assert.Less(t, held, int64(xlsxStringMemory)+int64(8<<20))

	records := []string{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		require.NoError(t, err)
		records = append(records, xlsxPayload(t, rec)["email"].(string))
	}

	assert.Equal(t, []string{"lead-0999999@example.invalid", "lead-0000001@example.invalid"}, records)
}

func TestXLSXNumberFormats(t *testing.T) {
	tests := []struct {
		value string
		code  string
		want  string
	}{
		{"41800000.009999998", "General", "41800000.01"},
		{"0.30000000000000004", "General", "0.3"},
		{"5511999998888", "General", "5511999998888"},
		{"12345678901234567", "General", "12345678901234600"},
		{"-1.5", "General", "-1.5"},
		{"1E-3", "General", "0.001"},
		{"1.5E+25", "General", "1.5E+25"},
		{"2.5E-12", "General", "2.5E-12"},
		{"0", "General", "0"},
		{"-0", "General", "0"},
		{"1234.5", "0.00", "1234.50"},
		{"1.005", "0.00", "1.01"},
		{"-2.345", "#,##0.00", "-2.35"},
		{"1234567.891", `"$"#,##0.00`, "1234567.89"},
		{"0.5", "0", "1"},
		{"0.4", "0", "0"},
		{"9.999", "0.00", "10.00"},
		{"-0.001", "0.00", "0.00"},
		{"2134", "00000", "02134"},
		{"0.25", "#.##", "0.25"},
		{"3", "0.0#", "3.0"},
		{"0.1234", "0.0%", "12.3%"},
		{"0.00370900364733045", "[$-010409]#,##0.00#%", "0.371%"},
		{"1", "0%", "100%"},
		{"-5", "0.00;(0.00)", "-5.00"},
		{"0", `0.00;-0.00;"-"`, "0.00"},
		{"3599619", "[$-010409]#,##0;-#,##0", "3599619"},
		{"12.5", "[Red]0.0", "12.5"},
		{"12.5", `0 "days"`, "13"},
		{"1234.5", "0.00E+00", "1234.5"},
		{"0.75", "# ?/?", "0.75"},
		{"12", "@", "12"},
		{"abc", "0.00", "abc"},
		{"NaN", "General", "NaN"},
	}

	for _, tt := range tests {
		t.Run(tt.code+" "+tt.value, func(t *testing.T) {
			format := parseNumberFormat(tt.code)
			assert.False(t, format.date)
			assert.Equal(t, tt.want, string(appendCellNumber(nil, tt.value, &format, false)))
		})
	}
}

func TestXLSXDateFormats(t *testing.T) {
	tests := []struct {
		code    string
		date    bool
		hasDate bool
		hasTime bool
	}{
		{"0.00", false, false, false},
		{"[Red]0", false, false, false},
		{"General", false, false, false},
		{`0 "days"`, false, false, false},
		{`\d0`, false, false, false},
		{`#,##0_);[Red](#,##0)`, false, false, false},
		{"yyyy-mm-dd", true, true, false},
		{"m/d/yyyy", true, true, false},
		{"d-mmm", true, true, false},
		{"mmm-yy", true, true, false},
		{"[$-409]mmmm d, yyyy;@", true, true, false},
		{"h:mm AM/PM", true, false, true},
		{"mm:ss", true, false, true},
		{"[h]:mm", true, false, true},
		{"[mm]:ss", true, false, true},
		{`mm/dd/yy\ hh:mm\ AM/PM`, true, true, true},
		{`yyyy"年"m"月"d"日"`, true, true, false},
	}

	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := parseNumberFormat(tt.code)
			assert.Equal(t, tt.date, f.date, "date")
			assert.Equal(t, tt.hasDate, f.hasDate, "hasDate")
			assert.Equal(t, tt.hasTime, f.hasTime, "hasTime")
		})
	}
}

func TestXLSXBuiltinDateIDs(t *testing.T) {
	for _, id := range []int{14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 58} {
		f := numberFormatOf(id, nil)
		assert.True(t, f.date, "numFmtId %d", id)
	}

	for _, id := range []int{0, 1, 2, 3, 4, 9, 10, 11, 12, 37, 44, 48, 49, 59} {
		f := numberFormatOf(id, nil)
		assert.False(t, f.date, "numFmtId %d", id)
	}
}

func TestXLSXDateSerials(t *testing.T) {
	tests := []struct {
		value    string
		code     string
		date1904 bool
		want     string
	}{
		{"1", "yyyy-mm-dd", false, "1900-01-01"},
		{"59", "yyyy-mm-dd", false, "1900-02-28"},
		{"60", "yyyy-mm-dd", false, "1900-02-29"},
		{"61", "yyyy-mm-dd", false, "1900-03-01"},
		{"45658", "m/d/yyyy", false, "2025-01-01"},
		{"45658.5", "m/d/yyyy", false, "2025-01-01T12:00:00"},
		{"45658", "m/d/yyyy h:mm", false, "2025-01-01T00:00:00"},
		{"45658.999999999", "m/d/yyyy h:mm", false, "2025-01-02T00:00:00"},
		{"0", "yyyy-mm-dd", true, "1904-01-01"},
		{"24472.176388888889", "yyyy-mm-dd hh:mm", true, "1971-01-01T04:14:00"},
		{"0.5", "h:mm", false, "12:00:00"},
		{"0.75", "h:mm AM/PM", true, "18:00:00"},
		{"1.5", "[h]:mm:ss", false, "36:00:00"},
		{"0", "yyyy-mm-dd", false, "0"},
		{"-1", "yyyy-mm-dd", false, "-1"},
		{"2958466", "yyyy-mm-dd", false, "2958466"},
	}

	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tt.value, tt.code, tt.date1904), func(t *testing.T) {
			format := parseNumberFormat(tt.code)
			assert.Equal(t, tt.want, string(appendCellNumber(nil, tt.value, &format, tt.date1904)))
		})
	}
}

func TestXLSXStyledCells(t *testing.T) {
	rows := `<row><c t="inlineStr"><is><t>when</t></is></c><c t="inlineStr"><is><t>share</t></is></c><c t="inlineStr"><is><t>zip</t></is></c></row>` +
		`<row><c s="1"><v>45658</v></c><c s="2"><v>0.125</v></c><c s="3"><v>2134</v></c></row>` +
		`<row><c s="4"><v>0.5</v></c><c s="9"><v>7</v></c><c><v>2134</v></c></row>`
	path := writeXLSX(t, xlsxOneSheet(rows, xlsxStyles("id:0", "id:14", "0.0%", "00000", "h:mm"))...)
	records := readXLSXFile(t, path, Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"when":"2025-01-01","share":"12.5%","zip":"02134"}`, string(records[0].Payload))
	// Style 9 does not exist and reads as General.
	assert.JSONEq(t, `{"when":"12:00:00","share":"7","zip":"2134"}`, string(records[1].Payload))
}

func TestXLSXUTF16Part(t *testing.T) {
	sheet := xlsxSheet(`<row><c t="inlineStr"><is><t>naïve</t></is></c></row><row><c t="inlineStr"><is><t>ü</t></is></c></row>`)
	sheet = strings.Replace(sheet, `encoding="UTF-8"`, `encoding="UTF-16"`, 1)
	encoded := []byte{0xFF, 0xFE}
	for _, r := range sheet {
		encoded = append(encoded, byte(r), byte(r>>8))
	}

	parts := xlsxOneSheet("")
	parts[4].body = string(encoded)
	records := readXLSXFile(t, writeXLSX(t, parts...), Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"naïve":"ü"}`, string(records[0].Payload))
}

// writeXLSXBenchmarkBook writes a workbook of n rows of 11 columns: four
// shared strings (three added for the row and one of two repeated
// values), an inline string, four numbers, a date and a boolean.
func writeXLSXBenchmarkBook(tb testing.TB, dir string, n int) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("bench-%d.xlsx", n))
	f, err := os.Create(path)
	require.NoError(tb, err)

	zw := zip.NewWriter(f)
	for _, p := range xlsxBook(false, [][2]string{{"Leads", ""}}, xlsxStyles("id:0", "id:14", "0.00")) {
		if strings.HasPrefix(p.name, "xl/worksheets/") {
			continue
		}

		w, err := zw.Create(p.name)
		require.NoError(tb, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(tb, err)
	}

	header := []string{"name", "email", "company", "city", "source", "age", "score", "budget", "visits", "since", "active"}
	sw, err := zw.Create("xl/sharedStrings.xml")
	require.NoError(tb, err)
	ss := bufio.NewWriter(sw)
	fmt.Fprint(ss, `<sst `+xlsxMainNS+`>`)
	for _, h := range header {
		fmt.Fprintf(ss, "<si><t>%s</t></si>", h)
	}

	for _, s := range []string{"web", "fair"} {
		fmt.Fprintf(ss, "<si><t>%s</t></si>", s)
	}

	for i := range n {
		fmt.Fprintf(ss, "<si><t>Person %d</t></si><si><t>person%d@example.invalid</t></si><si><t>Company %d Ltd</t></si>", i, i, i%5000)
	}

	fmt.Fprint(ss, `</sst>`)
	require.NoError(tb, ss.Flush())

	ws, err := zw.Create("xl/worksheets/sheet1.xml")
	require.NoError(tb, err)
	sheet := bufio.NewWriter(ws)
	fmt.Fprint(sheet, `<?xml version="1.0" encoding="UTF-8"?><worksheet `+xlsxMainNS+`><sheetData><row r="1">`)
	for i := range header {
		fmt.Fprintf(sheet, `<c r="%s1" t="s"><v>%d</v></c>`, columnName(i), i)
	}

	fmt.Fprint(sheet, `</row>`)
	for i := range n {
		row := i + 2
		base := len(header) + 2 + 3*i
		fmt.Fprintf(sheet, `<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c>`,
			row, row, base, row, base+1, row, base+2)
		fmt.Fprintf(sheet, `<c r="D%d" t="inlineStr"><is><t>City %d</t></is></c><c r="E%d" t="s"><v>%d</v></c>`, row, i%300, row, len(header)+i%2)
		fmt.Fprintf(sheet, `<c r="F%d"><v>%d</v></c><c r="G%d"><v>%g</v></c><c r="H%d" s="2"><v>%d.5</v></c><c r="I%d"><v>%d</v></c>`,
			row, 20+i%60, row, float64(i)/7, row, 1000+i, row, i%97)
		fmt.Fprintf(sheet, `<c r="J%d" s="1"><v>%d</v></c><c r="K%d" t="b"><v>%d</v></c></row>`, row, 40000+i%3000, row, i%2)
	}

	fmt.Fprint(sheet, `</sheetData></worksheet>`)
	require.NoError(tb, sheet.Flush())
	require.NoError(tb, zw.Close())
	require.NoError(tb, f.Close())

	return path
}

// readXLSXCount reads a workbook to the end and returns its records.
func readXLSXCount(tb testing.TB, path string) int {
	tb.Helper()
	r, err := openXLSXFile(tb, path, Options{})
	require.NoError(tb, err)
	defer func() { _ = r.Close() }()

	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n
		}

		require.NoError(tb, err)
		if rec.Invalid != "" {
			tb.Fatalf("row %d: %s", rec.Line, rec.Invalid)
		}

		n++
	}
}

func BenchmarkXLSXReader(b *testing.B) {
	const rows = 100_000
	path := writeXLSXBenchmarkBook(b, b.TempDir(), rows)
	b.ReportAllocs()

	records := 0
	for b.Loop() {
		records += readXLSXCount(b, path)
	}

	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

func TestXLSXAllocationsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads two workbooks")
	}

	dir := t.TempDir()
	small := writeXLSXBenchmarkBook(t, dir, 2_000)
	large := writeXLSXBenchmarkBook(t, dir, 20_000)

	perRecord := func(path string, n int) (allocs, bytes float64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		require.Equal(t, n, readXLSXCount(t, path))
		runtime.ReadMemStats(&after)

		return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
	}

	smallAllocs, smallBytes := perRecord(small, 2_000)
	largeAllocs, largeBytes := perRecord(large, 20_000)
	t.Logf("allocations per record: %.1f (%.0f bytes) for 2,000 rows, %.1f (%.0f bytes) for 20,000 rows", smallAllocs, smallBytes, largeAllocs, largeBytes)

	// Fixed costs (buffers, the string table index) spread over more rows,
	// so the larger file may only do better per record.
	assert.LessOrEqual(t, largeAllocs, smallAllocs*1.05)
	assert.LessOrEqual(t, largeBytes, smallBytes*1.05)
}
