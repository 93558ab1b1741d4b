package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const csvConformance = "testdata/conformance/csv"

// openTestCSV opens path with newCSVReader and closes both at the end of
// the test.
func openTestCSV(t *testing.T, path string, opts Options) (Reader, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	r, err := newCSVReader(f, opts)
	if err == nil {
		t.Cleanup(func() { _ = r.Close() })
	}

	return r, err
}

// readCSVFile returns every record of the CSV file at path and fails the
// test on any error.
func readCSVFile(t *testing.T, path string, opts Options) []Record {
	t.Helper()
	r, err := openTestCSV(t, path, opts)
	require.NoError(t, err)

	var records []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return records
		}

		require.NoError(t, err)
		records = append(records, rec)
	}
}

// readCSVText writes text to a file and returns its records.
func readCSVText(t *testing.T, text string, opts Options) []Record {
	t.Helper()

	return readCSVFile(t, writeCSVTestFile(t, text), opts)
}

// csvTextError writes text to a file and returns the first error that
// opening or reading it gives, as a *FileError.
func csvTextError(t *testing.T, text string, opts Options) *FileError {
	t.Helper()
	r, err := openTestCSV(t, writeCSVTestFile(t, text), opts)
	for err == nil {
		_, err = r.Next()
	}

	require.NotErrorIs(t, err, io.EOF, "the file was read without an error")
	var fileErr *FileError
	require.ErrorAs(t, err, &fileErr)

	return fileErr
}

func writeCSVTestFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input.csv")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))

	return path
}

// readCSVRawRows returns the rows of the file at path as the parser returns them.
func readCSVRawRows(t *testing.T, path string, opts Options) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	rows, err := readCSVRows(f, opts)
	require.NoError(t, err)

	return rows
}

// csvDelimiterOf returns the delimiter that openCSV chooses for path.
func csvDelimiterOf(t *testing.T, path string, opts Options) rune {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	r, err := openCSV(f, opts)
	require.NoError(t, err)

	return r.delimiter
}

// csvPayload decodes a valid record's payload.
func csvPayload(t *testing.T, rec Record) map[string]any {
	t.Helper()
	require.Empty(t, rec.Invalid, "record at line %d is invalid", rec.Line)
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Payload, &m), "payload %s", rec.Payload)

	return m
}

// csvWithoutEmpty returns m without its empty values, which records leave out.
func csvWithoutEmpty(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}

	return out
}

func readCSVExpected(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v))
}

// TestCSVSpectrum compares each csv-spectrum input with its expected
// objects. Records leave out empty cells, so expected empty values are
// dropped before comparing.
func TestCSVSpectrum(t *testing.T) {
	dir := filepath.Join(csvConformance, "csv-spectrum")
	inputs, err := filepath.Glob(filepath.Join(dir, "csvs", "*.csv"))
	require.NoError(t, err)
	require.Len(t, inputs, 12)

	for _, input := range inputs {
		name := strings.TrimSuffix(filepath.Base(input), ".csv")
		t.Run(name, func(t *testing.T) {
			records := readCSVFile(t, input, Options{})
			expectedPath := filepath.Join(dir, "json", name+".json")

			if name == "location_coordinates" {
				// Upstream's JSON is one object with another phone number
				// than the CSV, so only the coordinates are compared.
				var expected map[string]any
				readCSVExpected(t, expectedPath, &expected)
				require.Len(t, records, 1)
				got := csvPayload(t, records[0])
				assert.Equal(t, expected["Location Coordinates"], got["Location Coordinates"])

				return
			}

			var expected []map[string]any
			readCSVExpected(t, expectedPath, &expected)
			require.Len(t, records, len(expected))
			for i, want := range expected {
				want = csvWithoutEmpty(want)
				if name == "newlines_crlf" {
					// encoding/csv reads a CRLF inside a quoted field as LF.
					for k, v := range want {
						want[k] = strings.ReplaceAll(v.(string), "\r\n", "\n")
					}
				}

				assert.Equal(t, want, csvPayload(t, records[i]), "record %d", i)
			}
		})
	}
}

// csvRowsExpectation is one file of the csvkit and frictionless EXPECTED.json.
type csvRowsExpectation struct {
	File      string     `json:"file"`
	Encoding  string     `json:"encoding"`
	Delimiter string     `json:"delimiter"`
	Rows      [][]string `json:"rows"`
}

// TestCSVRowsConformance compares the raw rows of the csvkit and
// frictionless files with the expected rows. Files that EXPECTED.json marks
// ISO-8859-1 are read both by name and by detection.
func TestCSVRowsConformance(t *testing.T) {
	for _, suite := range []string{"csvkit", "frictionless"} {
		var expected struct {
			Files []csvRowsExpectation `json:"files"`
		}
		readCSVExpected(t, filepath.Join(csvConformance, suite, "EXPECTED.json"), &expected)
		require.NotEmpty(t, expected.Files)

		for _, file := range expected.Files {
			path := filepath.Join(csvConformance, suite, file.File)
			encodings := []string{""}
			if file.Encoding == "iso-8859-1" {
				encodings = append(encodings, "iso-8859-1")
			}

			for _, encoding := range encodings {
				t.Run(fmt.Sprintf("%s/%s/%s", suite, file.File, encoding), func(t *testing.T) {
					opts := Options{Encoding: encoding}
					delimiter := csvDelimiterOf(t, path, opts)
					assert.Equal(t, file.Delimiter, string(delimiter))

					// For mac_newlines.csv (CR line ends), the reader turns
					// every CR into LF, as csvkit's universal newlines do, so
					// "rows" is the expectation and not "rows_byte_exact".
					assert.Equal(t, file.Rows, readCSVRawRows(t, path, opts))
				})
			}
		}
	}
}

// TestCSVSameTable checks that the frictionless files in four dialects
// give the same records, with no BOM in the first key.
func TestCSVSameTable(t *testing.T) {
	want := []map[string]any{
		{"id": "1", "name": "english"},
		{"id": "2", "name": "中国人"},
	}

	for _, name := range []string{"table.csv", "bom.csv", "delimiter.csv", "table.tsv"} {
		t.Run(name, func(t *testing.T) {
			records := readCSVFile(t, filepath.Join(csvConformance, "frictionless", name), Options{})
			require.GreaterOrEqual(t, len(records), len(want))
			for i := range want {
				assert.Equal(t, want[i], csvPayload(t, records[i]))
			}
		})
	}
}

// TestCSVLatin1AsUTF8 checks that a Latin-1 file read as UTF-8 by request
// gives an invalid record instead of garbled text, whose payload has the
// invalid byte replaced.
func TestCSVLatin1AsUTF8(t *testing.T) {
	records := readCSVFile(t, filepath.Join(csvConformance, "frictionless", "latin1.csv"), Options{Encoding: "utf-8"})
	require.Len(t, records, 2)
	assert.Empty(t, records[0].Invalid)
	assert.Contains(t, records[1].Invalid, "not valid text")
	assert.JSONEq(t, `{"id":"2","name":"\ufffd"}`, string(records[1].Payload))
}

func TestCSVRaggedRows(t *testing.T) {
	t.Run("bad.csv", func(t *testing.T) {
		records := readCSVFile(t, filepath.Join(csvConformance, "csvkit", "bad.csv"), Options{})
		require.Len(t, records, 3)
		assert.Contains(t, records[0].Invalid, "column 4")
		assert.JSONEq(t, `{"column_a":"1","column_b":"27"}`, string(records[0].Payload))
		assert.Equal(t, map[string]any{"column_b": "I'm too short!"}, csvPayload(t, records[1]))
		assert.Equal(t, map[string]any{"column_a": "0", "column_b": "mixed types.... uh oh", "column_c": "17"},
			csvPayload(t, records[2]))
	})

	t.Run("test_empty_columns.csv", func(t *testing.T) {
		records := readCSVFile(t, filepath.Join(csvConformance, "csvkit", "test_empty_columns.csv"), Options{})
		require.Len(t, records, 2, "the row of only commas is skipped")
		assert.Equal(t, map[string]any{"a": "a"}, csvPayload(t, records[0]))
		assert.Equal(t, map[string]any{"c": "c"}, csvPayload(t, records[1]))
	})
}

// csvThunderbirdColumns maps the card fields of addressbook.expected.json to
// Thunderbird's CSV column names.
var csvThunderbirdColumns = map[string]string{
	"DisplayName":  "Display Name",
	"FirstName":    "First Name",
	"LastName":     "Last Name",
	"PrimaryEmail": "Primary Email",
}

func TestCSVThunderbirdImport(t *testing.T) {
	dir := filepath.Join(csvConformance, "thunderbird-import")
	var files struct {
		Files []struct {
			File          string `json:"file"`
			Encoding      string `json:"encoding"`
			Delimiter     string `json:"delimiter"`
			ExpectedArray string `json:"expected_array"`
			Records       int    `json:"records"`
		} `json:"files"`
	}
	readCSVExpected(t, filepath.Join(dir, "EXPECTED.json"), &files)
	var cards map[string][]map[string]any
	readCSVExpected(t, filepath.Join(dir, "addressbook.expected.json"), &cards)
	require.Len(t, files.Files, 5)

	for _, file := range files.Files {
		t.Run(file.File, func(t *testing.T) {
			opts := Options{}
			if file.Encoding == "shift_jis" {
				// Detection falls back to Windows-1252, so Shift-JIS must be named.
				opts.Encoding = "shift_jis"
			}

			path := filepath.Join(dir, file.File)
			assert.Equal(t, file.Delimiter, string(csvDelimiterOf(t, path, opts)))
			records := readCSVFile(t, path, opts)
			require.Len(t, records, file.Records)
			expected := cards[file.ExpectedArray]
			require.Len(t, expected, file.Records)

			for i, card := range expected {
				got := csvPayload(t, records[i])
				for field, want := range card {
					if column, ok := csvThunderbirdColumns[field]; ok {
						assert.Equal(t, want, got[column], "record %d, %s", i, column)
					}
				}
			}

			if file.ExpectedArray == "quote_csv" {
				got := csvPayload(t, records[0])
				assert.Equal(t, "(800) 000-0000", got["Work Phone"])
				assert.Equal(t, "Acer America", got["Organization"])
				assert.NotContains(t, got, "Home Phone", "a quoted empty field is left out")
			}
		})
	}
}

func TestCSVLeads(t *testing.T) {
	dir := "testdata/conformance/leads"
	var expected struct {
		Files []struct {
			File     string              `json:"file"`
			Records  int                 `json:"records"`
			Expected []map[string]string `json:"records_expected"`
			Read     []map[string]string `json:"records_read"`
			Excerpt  []map[string]string `json:"records_read_excerpt"`
		} `json:"files"`
	}
	readCSVExpected(t, filepath.Join(dir, "EXPECTED.json"), &expected)
	require.Len(t, expected.Files, 3)

	for _, file := range expected.Files {
		t.Run(file.File, func(t *testing.T) {
			records := readCSVFile(t, filepath.Join(dir, file.File), Options{})
			require.Len(t, records, 2)
			require.Equal(t, file.Records, len(records))

			// Full expectations list every non-empty field. An excerpt lists
			// some fields, and "" there means that the field is left out.
			full := file.Expected
			if full == nil {
				full = file.Read
			}

			for i, want := range full {
				got := csvPayload(t, records[i])
				assert.Len(t, got, len(want), "record %d has other fields: %v", i, got)
				for k, v := range want {
					assert.Equal(t, v, got[k], "record %d, %s", i, k)
				}
			}

			for i, want := range file.Excerpt {
				got := csvPayload(t, records[i])
				for k, v := range want {
					if v == "" {
						assert.NotContains(t, got, k, "record %d", i)
					} else {
						assert.Equal(t, v, got[k], "record %d, %s", i, k)
					}
				}
			}
		})
	}
}

func TestCSVWindows1252(t *testing.T) {
	records := readCSVText(t, "nome;cidade\r\nJo\xe3o;S\xe3o Paulo\r\n", Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"nome":"João","cidade":"São Paulo"}`, string(records[0].Payload))
}

func TestCSVSemicolonDecimalComma(t *testing.T) {
	records := readCSVText(t, "nome;valor;cidade\nAna;1,5;SP\nBia;2,75;RJ\n", Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"nome":"Ana","valor":"1,5","cidade":"SP"}`, string(records[0].Payload))
}

func TestCSVDelimiterDetection(t *testing.T) {
	tests := []struct {
		name string
		text string
		want rune
	}{
		{"comma", "a,b,c\n1,2,3\n", ','},
		{"semicolon", "a;b\n1;2,5\n3;4,25\n", ';'},
		{"tab", "a\tb\n1\t2, 3\n", '\t'},
		{"pipe", "a|b|c\n1|2,5|x;y\n", '|'},
		{"quoted commas", "\"a,1\";\"b,2\"\n\"x,y\";z\n", ';'},
		{"quoted line break", "\"a\nb,c,d\";e\n1;2\n", ';'},
		{"one column", "email\nx@example.com\n", ','},
		{"blank lines first", "\n\na;b\n1;2\n", ';'},
		{"whitespace line first", "  \na;b\n1;2\n", ';'},
		{"delimiter row first", ";;;\na;b\n1;2\n", ';'},
		{"header only", "a|b", '|'},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, string(tt.want), string(csvDelimiterOf(t, writeCSVTestFile(t, tt.text), Options{})))
		})
	}
}

func TestCSVPipeRecords(t *testing.T) {
	records := readCSVText(t, "a|b|c\n1|2,5|x;y\n", Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"a":"1","b":"2,5","c":"x;y"}`, string(records[0].Payload))
}

func TestCSVGivenDelimiter(t *testing.T) {
	records := readCSVText(t, "a,b;c\n1,2;3\n", Options{Delimiter: ';'})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"a,b":"1,2","c":"3"}`, string(records[0].Payload))
}

func TestCSVInvalidDelimiter(t *testing.T) {
	fileErr := csvTextError(t, "a,b\n", Options{Delimiter: '"'})
	assert.Contains(t, fileErr.Reason, "delimiter")
}

func TestCSVUnknownEncoding(t *testing.T) {
	fileErr := csvTextError(t, "a,b\n", Options{Encoding: "no-such-encoding"})
	assert.Contains(t, fileErr.Reason, "unknown encoding")
}

func TestCSVDottedHeader(t *testing.T) {
	records := readCSVText(t, "lead.name,lead.phone,origin\nAna,123,web\n,,site\n", Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"lead":{"name":"Ana","phone":"123"},"origin":"web"}`, string(records[0].Payload))
	assert.JSONEq(t, `{"origin":"site"}`, string(records[1].Payload))
}

func TestCSVHeaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		line   int
		reason string
	}{
		{"duplicate", "email,name,email\nx,y,z\n", 1, `"email"`},
		{"empty between names", "a,,c\n1,2,3\n", 1, "column 2 has no name"},
		{"after blank lines", "\n;;\nnome;;cidade\n", 3, "column 2 has no name"},
		{"empty file", "", 0, "no header row"},
		{"only blank rows", "\n,,\n \n", 0, "no header row"},
		{"NUL in name", "a,b\x00\n1,2\n", 1, "NUL"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileErr := csvTextError(t, tt.text, Options{})
			assert.Equal(t, -1, fileErr.Record)
			assert.Equal(t, tt.line, fileErr.Line)
			assert.Contains(t, fileErr.Reason, tt.reason)
		})
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	assert.Empty(t, readCSVText(t, "a,b,c\r\n", Options{}))
}

// TestCSVPositions checks the line and byte offset of records around blank
// lines, mixed line ends, a BOM and a quoted line break.
func TestCSVPositions(t *testing.T) {
	type position struct {
		Line   int
		Offset int64
	}

	tests := []struct {
		name string
		text string
		want []position
	}{
		{"mixed line ends", "a,b\r\n1,2\n3,4\r\n5,6", []position{{2, 5}, {3, 9}, {4, 14}}},
		{"blank lines", "a,b\n\n\n1,2\r\n\r\n3,4\n", []position{{4, 6}, {6, 13}}},
		{"quoted line break", "a,b\n\"x\ny\",2\n3,4\n", []position{{2, 4}, {4, 12}}},
		{"quoted CRLF", "a,b\r\n\"x\r\ny\",2\r\n3,4\r\n", []position{{2, 5}, {4, 15}}},
		{"BOM", "\xef\xbb\xbfa,b\n1,2\n", []position{{2, 7}}},
		{"CR line ends", "a,b\r1,2\r\"x\ry\",3\r4,5\r", []position{{2, 4}, {3, 8}, {5, 16}}},
		{"trailing blank rows", "a,b\n1,2\n\n,\n \n\n", []position{{2, 4}}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, Options{})
			got := make([]position, len(records))
			for i, rec := range records {
				got[i] = position{rec.Line, rec.Offset}
			}

			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCSVMixedLineEnds(t *testing.T) {
	records := readCSVText(t, "a,b\r\n1,2\n\"x\r\ny\",3\r\n4,5", Options{})
	require.Len(t, records, 3)
	assert.JSONEq(t, `{"a":"1","b":"2"}`, string(records[0].Payload))
	assert.JSONEq(t, `{"a":"x\ny","b":"3"}`, string(records[1].Payload))
	assert.JSONEq(t, `{"a":"4","b":"5"}`, string(records[2].Payload))
}

// TestCSVQuotedCR checks that a bare CR inside a quoted field of a CRLF
// file stays a CR.
func TestCSVQuotedCR(t *testing.T) {
	records := readCSVText(t, "a,b\r\n\"x\ry\",2\r\n", Options{})
	require.Len(t, records, 1)
	assert.JSONEq(t, `{"a":"x\ry","b":"2"}`, string(records[0].Payload))
}

func TestCSVNULByte(t *testing.T) {
	records := readCSVText(t, "a,b\nx\x00y,2\n3,4\n", Options{})
	require.Len(t, records, 2)
	assert.Contains(t, records[0].Invalid, "NUL")
	assert.Contains(t, records[0].Invalid, `column 1 ("a")`)
	assert.JSONEq(t, `{"a":"x\ufffdy","b":"2"}`, string(records[0].Payload))
	assert.JSONEq(t, `{"a":"3","b":"4"}`, string(records[1].Payload))
}

func TestCSVNULByteConformance(t *testing.T) {
	records := readCSVFile(t, filepath.Join(csvConformance, "csvkit", "null_byte.csv"), Options{})
	require.Len(t, records, 1)
	assert.Contains(t, records[0].Invalid, "NUL")
}

func TestCSVRecordTooLarge(t *testing.T) {
	text := "a,b\n1," + strings.Repeat("x", 2000) + "\n2,3\n"
	records := readCSVText(t, text, Options{Limits: Limits{MaxRecordBytes: 1024}})
	require.Len(t, records, 2)
	assert.Contains(t, records[0].Invalid, "limit of 1,024")
	assert.Nil(t, records[0].Payload)
	assert.Equal(t, 2, records[0].Line)
	assert.JSONEq(t, `{"a":"2","b":"3"}`, string(records[1].Payload))
	assert.Equal(t, 3, records[1].Line)
}

// TestCSVRowTooLong checks that a row longer than the reader buffers, here
// from a quote that is never closed, fails the file.
func TestCSVRowTooLong(t *testing.T) {
	text := "a,b\n1,2\n3,\"" + strings.Repeat("x,y\n", 100_000) + "\n"
	fileErr := csvTextError(t, text, Options{Limits: Limits{MaxRecordBytes: 1024}})
	assert.Equal(t, 1, fileErr.Record)
	assert.Equal(t, 3, fileErr.Line)
	assert.Equal(t, int64(8), fileErr.Offset)
	assert.Contains(t, fileErr.Reason, "longer than")
}

func TestCSVNestedFieldLimit(t *testing.T) {
	text := "a.x,a.y,b\n1,2,3\n,,3\n"
	records := readCSVText(t, text, Options{Limits: Limits{MaxFields: 3}})
	require.Len(t, records, 2)
	assert.Contains(t, records[0].Invalid, "4 fields")
	assert.JSONEq(t, `{"b":"3"}`, string(records[1].Payload))
}

func TestCSVCellsBeyondHeader(t *testing.T) {
	records := readCSVText(t, "a,b\n1,2,3\n1,2,,\n", Options{})
	require.Len(t, records, 2)
	assert.Contains(t, records[0].Invalid, "column 3")
	assert.JSONEq(t, `{"a":"1","b":"2"}`, string(records[1].Payload))
}

func TestCSVSyntaxErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		record int
		line   int
		reason string
	}{
		{"unclosed quote", "a,b\n1,2\n3,\"x\n4,5\n", 1, 3, "not closed before the end of the file; check the quotes from line 3"},
		{"text after quote", "a,b\n1,\"x\"y\n2,3\n", 0, 2, "line 2 has a quote"},
		{"space after quote", "a,b\r\n1,\"x\" \r\n2,3\r\n", 0, 2, "line 2 has a quote"},
		{"quote then CR", "a,b\n1,\"x\"\ry\n", 0, 2, "line 2 has a quote"},
		{"field starts with quote", "a,b\n\"Big\" Joe,5\n2,3\n\"x\",4\n", 0, 2, "line 2 has a quote"},
		{"stray quote on later line", "a,b\n1,\"x\ny\"z\",2\n", 0, 2, "line 3 has a quote"},
		{"in header", "a,\"b\nc\n", -1, 1, "not closed"},
		{"after blank lines", "a,b\n\n\n1,\"x\n", 0, 4, "from line 4"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileErr := csvTextError(t, tt.text, Options{})
			assert.Equal(t, tt.record, fileErr.Record)
			assert.Equal(t, tt.line, fileErr.Line)
			assert.Contains(t, fileErr.Reason, tt.reason)
		})
	}
}

// TestCSVBareQuote checks that a quote inside an unquoted field is kept as
// a character, as csv-spectrum's location_coordinates.csv needs.
func TestCSVBareQuote(t *testing.T) {
	records := readCSVText(t, "a,b,c\n1,5\" screen,x\"\"y\n2,\"q\",3\n", Options{})
	require.Len(t, records, 2)
	assert.JSONEq(t, `{"a":"1","b":"5\" screen","c":"x\"\"y"}`, string(records[0].Payload))
	assert.JSONEq(t, `{"a":"2","b":"q","c":"3"}`, string(records[1].Payload))
}

// TestQuoteGuardChunks checks that quoteGuard gives the same result when
// the text arrives one byte at a time, so that a quote, CR or delimiter at
// the end of one read is judged with the next.
func TestQuoteGuardChunks(t *testing.T) {
	tests := []struct {
		text string
		line int // line of the error, 0 for none
	}{
		{"a,b\n1,\"x\"\"y\",2\n", 0},
		{"a;\"b\"\r\n\"c\nd\";e\r\n", 0},
		{"a,\"b\"", 0},
		{"a,\"b\"\r", 0},
		{"a,5\" x\n", 0},
		{"a,\"b\"c\n", 1},
		{"a,\"b\"\rc\n", 1},
		{"x\n\"a\nb\" \n", 3},
		{"a,\"b\n", 1},
		{"a\n\n\"", 3},
	}

	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var text io.Reader = strings.NewReader(tt.text)
			if oneByte {
				text = iotest.OneByteReader(text)
			}

			guard := &quoteGuard{r: text, delimiter: ',', line: 1}
			if strings.Contains(tt.text, ";") {
				guard.delimiter = ';'
			}

			_, err := io.ReadAll(guard)
			var quoteErr *quoteError
			if tt.line == 0 {
				assert.NoError(t, err, "%q, one byte at a time: %v", tt.text, oneByte)
			} else if assert.ErrorAs(t, err, &quoteErr, "%q, one byte at a time: %v", tt.text, oneByte) {
				assert.Equal(t, tt.line, quoteErr.line, "%q, one byte at a time: %v", tt.text, oneByte)
			}
		}
	}
}

// TestCSVErrorIsSticky checks that Next keeps returning the error that
// stopped reading.
func TestCSVErrorIsSticky(t *testing.T) {
	r, err := openTestCSV(t, writeCSVTestFile(t, "a,b\n1,\"x\n"), Options{})
	require.NoError(t, err)
	_, first := r.Next()
	_, second := r.Next()
	require.Error(t, first)
	assert.Same(t, first, second)
}

func TestCSVEncodings(t *testing.T) {
	utf16le := []byte{0xFF, 0xFE}
	for _, c := range "a;b\r\nJoão;1\r\n" {
		utf16le = append(utf16le, byte(c), byte(c>>8))
	}

	tests := []struct {
		name string
		text string
		opts Options
	}{
		{"UTF-8", "a;b\nJoão;1\n", Options{}},
		{"UTF-8 BOM", "\xef\xbb\xbfa;b\nJoão;1\n", Options{}},
		{"UTF-16LE BOM", string(utf16le), Options{}},
		{"Windows-1252", "a;b\nJo\xe3o;1\n", Options{}},
		{"ISO-8859-1 by name", "a;b\nJo\xe3o;1\n", Options{Encoding: "iso-8859-1"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, tt.opts)
			require.Len(t, records, 1)
			assert.JSONEq(t, `{"a":"João","b":"1"}`, string(records[0].Payload))
		})
	}
}

// TestCSVOpenThroughOpen checks that Open dispatches to the CSV reader.
func TestCSVOpenThroughOpen(t *testing.T) {
	f, err := os.Open(filepath.Join(csvConformance, "frictionless", "table.csv"))
	require.NoError(t, err)
	defer f.Close()

	r, err := Open(f, CSV, Options{})
	require.NoError(t, err)
	defer r.Close()

	rec, err := r.Next()
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"1","name":"english"}`, string(rec.Payload))
}

// csvBenchmarkColumns are the columns of the generated benchmark file.
var csvBenchmarkColumns = []string{
	"phoneNumber", "name", "email", "origin", "city", "state",
	"campaign", "productCode", "createdAt", "leadContextJson.budget", "notes",
}

// writeBenchmarkCSV writes a lead file with the given number of rows, of
// about 200 bytes each.
func writeBenchmarkCSV(b *testing.B, rows int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "leads.csv")
	f, err := os.Create(path)
	require.NoError(b, err)
	defer f.Close()

	var sb strings.Builder
	sb.WriteString(strings.Join(csvBenchmarkColumns, ",") + "\n")
	for i := range rows {
		fmt.Fprintf(&sb, "5511%09d,Lead Number %d,lead.number%d@example.com,landing-page,São Paulo,SP,"+
			"\"spring campaign, 2025\",PRODUCT-%05d,2025-03-%02dT10:%02d:00Z,%d.50,"+
			"\"called twice, prefers \"\"morning\"\" calls\"\n",
			i, i, i, i%10000, i%28+1, i%60, i%9000)
		if sb.Len() > 1<<20 {
			_, err := f.WriteString(sb.String())
			require.NoError(b, err)
			sb.Reset()
		}
	}

	_, err = f.WriteString(sb.String())
	require.NoError(b, err)

	return path
}

// BenchmarkCSVReader reads a generated 100,000-row lead file, building the
// JSON of every record, and reports records per second.
func BenchmarkCSVReader(b *testing.B) {
	const rows = 100_000
	path := writeBenchmarkCSV(b, rows)
	info, err := os.Stat(path)
	require.NoError(b, err)
	b.SetBytes(info.Size())
	b.ReportAllocs()

	total := 0
	for b.Loop() {
		total += readCSVBenchmarkFile(b, path)
	}

	require.Equal(b, 0, total%rows)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

func readCSVBenchmarkFile(b *testing.B, path string) int {
	f, err := os.Open(path)
	require.NoError(b, err)
	defer f.Close()

	r, err := newCSVReader(f, Options{})
	require.NoError(b, err)
	defer r.Close()

	count := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return count
		}

		if err != nil || rec.Invalid != "" {
			b.Fatalf("record %d: %v %s", count, err, rec.Invalid)
		}

		count++
	}
}

// TestCSVWhitespaceBeforeHeader checks that lines of only whitespace before
// the header are skipped by the delimiter detection as well as by the
// header reading.
func TestCSVWhitespaceBeforeHeader(t *testing.T) {
	tests := []struct {
		name string
		text string
		line int
	}{
		{"spaces", "  \nname;phone\nAna;1\n", 3},
		{"spaces CRLF", "  \r\nname;phone\r\nAna;1\r\n", 3},
		{"tabs", "\t\t\nname;phone\nAna;1\n", 3},
		{"no-break space", "\u00a0\nname;phone\nAna;1\n", 3},
		{"several lines", "\n \n\t\n;;\nname;phone\nAna;1\n", 6},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, Options{})
			require.Len(t, records, 1)
			assert.JSONEq(t, `{"name":"Ana","phone":"1"}`, string(records[0].Payload))
			assert.Equal(t, tt.line, records[0].Line)
		})
	}
}

// TestCSVSepLine checks that Excel's "sep=" first line sets the delimiter
// and is not read as the header.
func TestCSVSepLine(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		opts   Options
		want   string
		offset int64
	}{
		{"semicolon", "sep=;\na,b;c\n1,2;3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 12},
		{"comma", "sep=,\na;b,c\n1;2,3\n", Options{}, `{"a;b":"1;2","c":"3"}`, 12},
		{"tab character", "sep=\t\na,b\tc\n1,2\t3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 12},
		{"tab escape", "sep=\\t\na,b\tc\n1,2\t3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 13},
		{"pipe", "sep=|\na;b|c\n1;2|3\n", Options{}, `{"a;b":"1;2","c":"3"}`, 12},
		{"quoted", "\"sep=;\"\na,b;c\n1,2;3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 14},
		{"quoted with empty cells", "\"sep=;\";;\na,b;c\n1,2;3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 16},
		{"CRLF", "sep=;\r\na,b;c\r\n1,2;3\r\n", Options{}, `{"a,b":"1,2","c":"3"}`, 14},
		{"CR line ends", "sep=;\ra,b;c\r1,2;3\r", Options{}, `{"a,b":"1,2","c":"3"}`, 12},
		{"BOM", "\xef\xbb\xbfsep=;\na,b;c\n1,2;3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 15},
		{"upper case", "SEP=;\na,b;c\n1,2;3\n", Options{}, `{"a,b":"1,2","c":"3"}`, 12},
		{"delimiter option wins", "sep=;\na,b;c\n1,2;3\n", Options{Delimiter: ','}, `{"a":"1","b;c":"2;3"}`, 12},
		{"delimiter option and unsupported", "sep=:\na,b;c\n1,2;3\n", Options{Delimiter: ','}, `{"a":"1","b;c":"2;3"}`, 12},
		{"UTF-16LE BOM", "\xff\xfes\x00e\x00p\x00=\x00;\x00\n\x00a\x00;\x00b\x00\n\x001\x00;\x002\x00\n\x00", Options{},
			`{"a":"1","b":"2"}`, 10},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, tt.opts)
			require.Len(t, records, 1)
			assert.JSONEq(t, tt.want, string(records[0].Payload))
			assert.Equal(t, 3, records[0].Line)
			assert.Equal(t, tt.offset, records[0].Offset)
		})
	}
}

func TestCSVSepLineErrors(t *testing.T) {
	t.Run("unsupported delimiter", func(t *testing.T) {
		fileErr := csvTextError(t, "sep=:\na:b\n1:2\n", Options{})
		assert.Equal(t, 1, fileErr.Line)
		assert.Contains(t, fileErr.Reason, `the first line declares the delimiter ':' with "sep="`)
	})

	t.Run("non-ASCII delimiter", func(t *testing.T) {
		// U+013B ends in the byte of ';', which must not pass for it.
		fileErr := csvTextError(t, "sep=\u013b\na;b\n", Options{})
		assert.Contains(t, fileErr.Reason, `the first line declares the delimiter 'Ļ'`)
	})

	t.Run("quote error line", func(t *testing.T) {
		fileErr := csvTextError(t, "sep=,\na,b\n1,\"x\n", Options{})
		assert.Equal(t, 3, fileErr.Line)
		assert.Contains(t, fileErr.Reason, "from line 3")
	})

	t.Run("text error line", func(t *testing.T) {
		fileErr := csvTextError(t, "sep=,\na,b\n1,\"x\"y\n", Options{})
		assert.Equal(t, 3, fileErr.Line)
		assert.Contains(t, fileErr.Reason, "line 3 has a quote")
	})
}

// TestCSVMixedEncodings checks that a UTF-8 file with a stray byte of
// another encoding fails instead of being read as Windows-1252, and that
// naming an encoding reads it.
func TestCSVMixedEncodings(t *testing.T) {
	const text = "nome;cidade\nJoão;São Paulo\nJos\xe9;Rio\n"

	t.Run("detected", func(t *testing.T) {
		fileErr := csvTextError(t, text, Options{})
		assert.Equal(t, -1, fileErr.Record)
		assert.Equal(t, 3, fileErr.Line)
		assert.Equal(t, int64(strings.Index(text, "\xe9")), fileErr.Offset)
		assert.Contains(t, fileErr.Reason, "mixes UTF-8 text with bytes of another encoding, starting with byte 0xE9")
		assert.Contains(t, fileErr.Reason, "encoding=utf-8")
		assert.Contains(t, fileErr.Reason, "encoding=windows-1252")
	})

	t.Run("utf-8 by request", func(t *testing.T) {
		records := readCSVText(t, text, Options{Encoding: "utf-8"})
		require.Len(t, records, 2)
		assert.JSONEq(t, `{"nome":"João","cidade":"São Paulo"}`, string(records[0].Payload))
		assert.Contains(t, records[1].Invalid, "not valid text")
		assert.JSONEq(t, `{"nome":"Jos\ufffd","cidade":"Rio"}`, string(records[1].Payload))
	})

	t.Run("windows-1252 by request", func(t *testing.T) {
		records := readCSVText(t, text, Options{Encoding: "windows-1252"})
		require.Len(t, records, 2)
		assert.JSONEq(t, `{"nome":"JoÃ£o","cidade":"SÃ£o Paulo"}`, string(records[0].Payload))
		assert.JSONEq(t, `{"nome":"José","cidade":"Rio"}`, string(records[1].Payload))
	})
}

// TestCSVInvalidKeepsPayload checks that a record marked Invalid keeps the
// cells under the header, so the error report can show them.
func TestCSVInvalidKeepsPayload(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		invalid string
		payload string
	}{
		{"value beyond header", "a,b\n1,2,3\n", "column 3", `{"a":"1","b":"2"}`},
		{"invalid UTF-8", "a;b\nx\xffy;2\n", "not valid text", `{"a":"x\ufffdy","b":"2"}`},
		{"NUL byte", "a,b\nx\x00y,2\n", "NUL", `{"a":"x\ufffdy","b":"2"}`},
		{"too many fields", "a.x,a.y,b\n1,2,3\n", "4 fields", `{"a":{"x":"1","y":"2"},"b":"3"}`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, Options{Encoding: "utf-8", Limits: Limits{MaxFields: 3}})
			require.Len(t, records, 1)
			assert.Contains(t, records[0].Invalid, tt.invalid)
			assert.JSONEq(t, tt.payload, string(records[0].Payload))
		})
	}
}

func TestCSVMessageNumbers(t *testing.T) {
	t.Run("record size", func(t *testing.T) {
		text := "a,b\n1," + strings.Repeat("x", 2000) + "\n"
		records := readCSVText(t, text, Options{Limits: Limits{MaxRecordBytes: 1024}})
		require.Len(t, records, 1)
		assert.Equal(t, "the record is 2,016 bytes as JSON, more than the limit of 1,024", records[0].Invalid)
	})

	t.Run("row length", func(t *testing.T) {
		text := "a,b\n1,\"" + strings.Repeat("x,y\n", 100_000) + "\n"
		fileErr := csvTextError(t, text, Options{Limits: Limits{MaxRecordBytes: 1024}})
		assert.Contains(t, fileErr.Reason, "longer than 69,632 bytes")
	})

	t.Run("header width", func(t *testing.T) {
		row := strings.Repeat("c,", 1200)
		var names []string
		for i := range 1200 {
			names = append(names, fmt.Sprintf("c%d", i))
		}

		fileErr := csvTextError(t, strings.Join(names, ",")+"\n"+row+"\n", Options{Limits: Limits{MaxFields: 1000}})
		assert.Contains(t, fileErr.Reason, "the header has 1,200 columns, more than the limit of 1,000")
	})

	t.Run("one named column", func(t *testing.T) {
		records := readCSVText(t, "a\n1,2\n", Options{Delimiter: ','})
		require.Len(t, records, 1)
		assert.Contains(t, records[0].Invalid, "the header has only 1 named column;")
	})

	t.Run("two named columns", func(t *testing.T) {
		records := readCSVText(t, "a,b\n1,2,3\n", Options{})
		require.Len(t, records, 1)
		assert.Contains(t, records[0].Invalid, "the header has only 2 named columns;")
	})
}

// TestCSVHeaderNamesInMessages checks that header errors name the column
// by number and quote its name only when the name is short, because in a
// file without a header row the names are a lead's values. The depth limit
// is 4.
func TestCSVHeaderNamesInMessages(t *testing.T) {
	long := strings.Repeat("x", 41)
	tests := []struct {
		name    string
		text    string
		want    string
		without string
	}{
		{"short duplicate", "email,name,email\n", `columns 1 and 3 have the same name "email"`, ""},
		{"long duplicate", long + ",b," + long + "\n", "columns 1 and 3 have the same name;", long},
		{"short empty part", "a,b..c\n", `the name of column 2 ("b..c") has an empty part`, ""},
		{"long empty part", "a,x.." + long + "\n", "the name of column 2 has an empty part", long},
		{"short clash", "a,a.b\n", `columns 1 ("a") and 2 ("a.b") use "a" both as a value and as a group`, ""},
		{"long clash", long + "," + long + ".b\n", "columns 1 and 2 use the same name part both as a value and as a group", long},
		{"group before value", "a.b,a\n", `columns 1 ("a.b") and 2 ("a") use "a" both`, ""},
		{"long nesting", "a,b.c.d.e." + long + "\n", "the name of column 2 nests 5 objects deep", long},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileErr := csvTextError(t, tt.text, Options{Limits: Limits{MaxDepth: 4}})
			assert.Contains(t, fileErr.Reason, tt.want)
			if tt.without != "" {
				assert.NotContains(t, fileErr.Reason, tt.without)
			}
		})
	}
}

// TestCSVNotSepLine checks first lines that look like a "sep=" line but are
// a header.
func TestCSVNotSepLine(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"no delimiter", "sep=\n1\n", `{"sep=":"1"}`},
		{"more text", "sep=;x,b\n1,2\n", `{"sep=;x":"1","b":"2"}`},
		{"unclosed quote", "\"sep=;,b\"\n1\n", `{"sep=;,b":"1"}`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, Options{})
			require.Len(t, records, 1)
			assert.JSONEq(t, tt.want, string(records[0].Payload))
		})
	}
}

// TestScanUTF8 checks the first invalid byte, its line and the multi-byte
// flag, also where a rune or the bytes of interest lie across the 256 KiB
// reads.
func TestScanUTF8(t *testing.T) {
	const read = 256 << 10
	tests := []struct {
		name      string
		text      string
		invalid   int64
		line      int
		multiByte bool
	}{
		{"ASCII", "a,b\n1,2\n", -1, 0, false},
		{"UTF-8", "a\nJoão\n", -1, 0, true},
		{"replacement character", "a\n\xef\xbf\xbd\n", -1, 0, true},
		{"Windows-1252", "a\nJo\xe3o\n", 4, 2, false},
		{"mixed", "a\nJo\xe3o\nSão\n", 4, 2, true},
		{"CR line ends", "a\rb\r\xe9\r", 4, 3, false},
		{"CRLF line ends", "a\r\nb\r\n\xe9\r\n", 6, 3, false},
		{"rune cut at the end", "João\xc3", 5, 1, true},
		{"rune across reads", strings.Repeat("a", read-1) + "ã\n", -1, 0, true},
		{"invalid byte after a read", "ã" + strings.Repeat("a\n", read) + "\xe9", 2 + 2*read, read + 1, true},
		{"UTF-8 after a read", "\xe9" + strings.Repeat("a\n", read) + "ã", 0, 1, true},
		{"Windows-1252 over reads", strings.Repeat("Jo\xe3o\n", read), 2, 1, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scan, err := scanUTF8(strings.NewReader(tt.text))
			require.NoError(t, err)
			assert.Equal(t, tt.invalid, scan.invalid, "offset of the first invalid byte")
			assert.Equal(t, tt.line, scan.line, "line of the first invalid byte")
			assert.Equal(t, tt.multiByte, scan.multiByte, "valid multi-byte sequence")
		})
	}
}

// TestCSVNULRules checks the two rules for a NUL byte: in the first
// HeadSize bytes it makes Detect reject the file as binary, and after them
// it makes its record invalid.
func TestCSVNULRules(t *testing.T) {
	t.Run("in the head", func(t *testing.T) {
		_, err := Detect([]byte("a,b\nx\x00y,3\n"), "leads.csv", "")
		var detectErr *DetectError
		require.ErrorAs(t, err, &detectErr)
		assert.Equal(t, DetectBinary, detectErr.Code)
	})

	text := "a,b\n" + strings.Repeat("1,2\n", HeadSize/4) + "x\x00y,3\n"
	t.Run("after the head", func(t *testing.T) {
		format, err := Detect([]byte(text[:HeadSize]), "leads.csv", "")
		require.NoError(t, err)
		assert.Equal(t, CSV, format)
	})

	t.Run("record after the head", func(t *testing.T) {
		records := readCSVText(t, text, Options{})
		require.Len(t, records, HeadSize/4+1)
		last := records[len(records)-1]
		assert.Contains(t, last.Invalid, `the value of column 1 ("a") contains a NUL byte`)
		assert.JSONEq(t, `{"a":"x\ufffdy","b":"3"}`, string(last.Payload))
	})
}

// TestCSVLoneCR checks that a CR without LF is data in a file whose first
// 64 KiB contain an LF, and a line break in one whose first 64 KiB do not.
func TestCSVLoneCR(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"unquoted", "a,b\nx\ry,2\n", []string{`{"a":"x\ry","b":"2"}`}},
		{"quoted", "a,b\n1,\"x\ry\"\n", []string{`{"a":"1","b":"x\ry"}`}},
		{"between fields", "a,b,c\n1,2\r3,4\n", []string{`{"a":"1","b":"2\r3","c":"4"}`}},
		{"before CRLF", "a,b\n1,x\r\r\n", []string{`{"a":"1","b":"x\r"}`}},
		{"at the end of the file", "a,b\n1,2\r", []string{`{"a":"1","b":"2"}`}},
		{"CR line ends", "a,b\r1,\"x\ry\"\r3,4\r", []string{`{"a":"1","b":"x\ny"}`, `{"a":"3","b":"4"}`}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records := readCSVText(t, tt.text, Options{})
			require.Len(t, records, len(tt.want))
			for i, want := range tt.want {
				assert.JSONEq(t, want, string(records[i].Payload), "record %d", i+1)
			}
		})
	}
}
