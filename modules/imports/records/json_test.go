package records

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"
)

const jsonConformance = "testdata/conformance/json"

// openJSONInput writes data to a temporary file and opens it.
func openJSONInput(t testing.TB, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	return f
}

// readJSONInput opens data with open and reads it to the end. It returns
// the records and the error that ended reading: io.EOF, or the error of
// the constructor or of Next.
func readJSONInput(t testing.TB, open func(*os.File, Options) (Reader, error), data []byte, opts Options) ([]Record, error) {
	t.Helper()
	r, err := open(openJSONInput(t, data), opts)
	if err != nil {
		return nil, err
	}

	defer func() { require.NoError(t, r.Close()) }()

	var recs []Record
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}

		recs = append(recs, rec)
	}
}

// requireFileError asserts that err is a *FileError and returns it.
func requireFileError(t *testing.T, err error) *FileError {
	t.Helper()
	var fe *FileError
	require.ErrorAs(t, err, &fe)

	return fe
}

// decodeObject decodes a record payload into a map, keeping numbers as
// written.
func decodeObject(t *testing.T, payload []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))

	return m
}

func TestJSONParsingSuite(t *testing.T) {
	dir := filepath.Join(jsonConformance, "test_parsing")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 318)

	var implementation []string
	for _, e := range entries {
		name := e.Name()
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)

		t.Run(name, func(t *testing.T) {
			recs, err := readJSONInput(t, newJSONReader, data, Options{})
			switch {
			case strings.HasPrefix(name, "y_"):
				if !startsWithContainer(data) {
					requireFileError(t, err)

					return
				}

				require.ErrorIs(t, err, io.EOF)
				for _, rec := range recs {
					assert.True(t, json.Valid(rec.Payload), "payload %q", rec.Payload)
					if rec.Invalid == "" {
						assert.Equal(t, byte('{'), rec.Payload[0])
					}
				}
			case strings.HasPrefix(name, "n_"):
				requireFileError(t, err)
			case strings.HasPrefix(name, "i_"):
				implementation = append(implementation, name+": "+suiteOutcome(recs, err))
			}
		})
	}

	t.Logf("implementation-defined files:\n%s", strings.Join(implementation, "\n"))
}

// startsWithContainer reports whether the first byte after whitespace is
// '[' or '{'.
func startsWithContainer(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")

	return len(data) > 0 && (data[0] == '[' || data[0] == '{')
}

// suiteOutcome describes how a file was read, for the test log.
func suiteOutcome(recs []Record, err error) string {
	if !errors.Is(err, io.EOF) {
		return "rejected: " + err.Error()
	}

	invalid := 0
	for _, rec := range recs {
		if rec.Invalid != "" {
			invalid++
		}
	}

	return fmt.Sprintf("accepted, %d records, %d invalid", len(recs), invalid)
}

func TestJSONFrictionlessKeyed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(jsonConformance, "records/frictionless/table.keyed.json"))
	require.NoError(t, err)

	recs, err := readJSONInput(t, newJSONReader, data, Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assertIDNameRows(t, recs)
	assert.Equal(t, 2, recs[0].Line)
	assert.Equal(t, int64(6), recs[0].Offset)
	assert.Equal(t, 6, recs[1].Line)
}

// assertIDNameRows checks the two records of the frictionless table.
func assertIDNameRows(t *testing.T, recs []Record) {
	t.Helper()
	want := []map[string]any{
		{"id": json.Number("1"), "name": "english"},
		{"id": json.Number("2"), "name": "中国人"},
	}
	for i, rec := range recs {
		assert.Empty(t, rec.Invalid)
		assert.Equal(t, want[i], decodeObject(t, rec.Payload))
	}
}

func TestJSONFrictionlessArrays(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(jsonConformance, "records/frictionless/table.json"))
	require.NoError(t, err)

	recs, err := readJSONInput(t, newJSONReader, data, Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 3)
	for _, rec := range recs {
		assert.Equal(t, "the record is an array, not a JSON object", rec.Invalid)
	}

	assert.JSONEq(t, `[2, "中国人"]`, string(recs[2].Payload))
}

func TestJSONCsvkitFlat(t *testing.T) {
	recs := readCsvkitJSON(t, "testjson.json", newJSONReader)
	header, rows := readCsvkitCSV(t, "testjson_converted.csv")
	require.Len(t, recs, len(rows))

	for i, rec := range recs {
		object := decodeObject(t, rec.Payload)
		assert.Len(t, object, len(header))
		for j, column := range header {
			assert.Equal(t, csvkitCell(rows[i][j]), csvkitValue(object[column]), "record %d, %s", i+1, column)
		}
	}
}

func TestJSONCsvkitNested(t *testing.T) {
	recs := readCsvkitJSON(t, "testjson_nested.json", newJSONReader)
	header, rows := readCsvkitCSV(t, "testjson_nested_converted.csv")
	require.Len(t, recs, len(rows))

	for i, rec := range recs {
		// csvkit flattens nested keys with '/'; the record keeps them
		// nested, so compare the flattened record.
		flat := map[string]any{}
		flatten(flat, "", decodeObject(t, rec.Payload))
		assert.Len(t, flat, len(header))
		for j, column := range header {
			assert.Equal(t, csvkitCell(rows[i][j]), csvkitValue(flat[column]), "record %d, %s", i+1, column)
		}
	}

	nested := decodeObject(t, recs[0].Payload)["nested"]
	assert.IsType(t, map[string]any{}, nested)
}

func readCsvkitJSON(t *testing.T, name string, open func(*os.File, Options) (Reader, error)) []Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(jsonConformance, "records/csvkit", name))
	require.NoError(t, err)

	recs, err := readJSONInput(t, open, data, Options{})
	require.ErrorIs(t, err, io.EOF)
	for _, rec := range recs {
		require.Empty(t, rec.Invalid)
	}

	return recs
}

func readCsvkitCSV(t *testing.T, name string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(jsonConformance, "records/csvkit", name))
	require.NoError(t, err)
	defer f.Close()

	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)

	return rows[0], rows[1:]
}

func flatten(out map[string]any, prefix string, object map[string]any) {
	for key, value := range object {
		if nested, ok := value.(map[string]any); ok {
			flatten(out, prefix+key+"/", nested)

			continue
		}

		out[prefix+key] = value
	}
}

// csvkitValue formats a decoded JSON value as csvkit's in2csv writes it,
// apart from the time format, which csvkitCell evens out.
func csvkitValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "True"
		}

		return "False"
	case json.Number:
		return v.String()
	case string:
		return csvkitCell(v)
	default:
		return fmt.Sprint(v)
	}
}

// csvkitCell writes a time of day without a leading zero, as csvkit does
// ("04:14:00" becomes "4:14:00").
func csvkitCell(s string) string {
	if tm, err := time.Parse("15:04:05", s); err == nil {
		return tm.Format("3:04:05")
	}

	return s
}

func TestJSONRecords(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  Options
		// want is the payload of each record; a payload starting with "!"
		// is an invalid message instead, the record having no payload.
		want []string
	}{
		{name: "empty array", input: `[]`},
		{name: "spaced empty array", input: " \n[ \n ]\n"},
		{name: "single object", input: `{"a":1}`, want: []string{`{"a":1}`}},
		{name: "single object with space", input: "\n { \"a\" : 1 } \n", want: []string{`{ "a" : 1 }`}},
		{name: "array of objects", input: `[{"a":1}, {"b":[1,{"c":null}]}]`, want: []string{`{"a":1}`, `{"b":[1,{"c":null}]}`}},
		{name: "escaped quotes", input: `[{"a":"x\"]}"}, {"b":"\\"}]`, want: []string{`{"a":"x\"]}"}`, `{"b":"\\"}`}},
		{name: "UTF-8 BOM", input: "\xEF\xBB\xBF[{\"a\":1}]", want: []string{`{"a":1}`}},
		{name: "windows-1252 label", input: "[{\"city\":\"S\xe3o Paulo\"}]", opts: Options{Encoding: "windows-1252"},
			want: []string{`{"city":"São Paulo"}`}},
		{name: "max fields", input: `[{"a":1,"b":{"c":2,"d":3}}, {"a":1,"b":{"c":2}}]`, opts: Options{Limits: Limits{MaxFields: 3}},
			want: []string{"!the record has 4 fields (nested ones included), more than the limit of 3", `{"a":1,"b":{"c":2}}`}},
		{name: "max depth", input: `[{"a":[{"b":1}]}, {"a":{"b":1}}]`, opts: Options{Limits: Limits{MaxDepth: 3}},
			want: []string{`{"a":[{"b":1}]}`, `{"a":{"b":1}}`}},
		{name: "over max depth", input: `[{"a":[[{"b":1}]]}, {"a":{"b":1}}]`, opts: Options{Limits: Limits{MaxDepth: 3}},
			want: []string{"!the record nests objects and arrays 4 levels deep, more than the limit of 3", `{"a":{"b":1}}`}},
		{name: "over max bytes", input: `[{"a":"123456789"}, {"a":"1"}]`, opts: Options{Limits: Limits{MaxRecordBytes: 16}},
			want: []string{"!the record is 17 bytes, more than the limit of 16", `{"a":"1"}`}},
		{name: "at max bytes", input: `[{"a":"12345678"}]`, opts: Options{Limits: Limits{MaxRecordBytes: 16}},
			want: []string{`{"a":"12345678"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readJSONInput(t, newJSONReader, []byte(tt.input), tt.opts)
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, recs, len(tt.want))
			for i, want := range tt.want {
				if msg, ok := strings.CutPrefix(want, "!"); ok {
					assert.Equal(t, msg, recs[i].Invalid)
					assert.Nil(t, recs[i].Payload)

					continue
				}

				assert.Empty(t, recs[i].Invalid)
				assert.Equal(t, want, string(recs[i].Payload))
			}
		})
	}
}

func TestJSONNotObjects(t *testing.T) {
	recs, err := readJSONInput(t, newJSONReader, []byte(`[1, -2.5e3, "x", null, true, false, [], {"a":1}]`), Options{})
	require.ErrorIs(t, err, io.EOF)

	want := []string{
		"the record is a number, not a JSON object",
		"the record is a number, not a JSON object",
		"the record is a string, not a JSON object",
		"the record is null, not a JSON object",
		"the record is a boolean, not a JSON object",
		"the record is a boolean, not a JSON object",
		"the record is an array, not a JSON object",
		"",
	}
	require.Len(t, recs, len(want))
	for i, rec := range recs {
		assert.Equal(t, want[i], rec.Invalid, "record %d", i+1)
	}

	assert.Equal(t, "-2.5e3", string(recs[1].Payload))
}

func TestJSONPositions(t *testing.T) {
	data := "\xEF\xBB\xBF[\n  {\"id\": 1},\n\n\t{\n  \"id\": 2\n}  ,{}]"
	recs, err := readJSONInput(t, newJSONReader, []byte(data), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 3)

	lines := []int{2, 4, 6}
	offsets := []int64{7, 20, 36}
	for i, rec := range recs {
		assert.Equal(t, lines[i], rec.Line, "record %d", i+1)
		assert.Equal(t, offsets[i], rec.Offset, "record %d", i+1)
		assert.Equal(t, byte('{'), data[rec.Offset], "record %d", i+1)
	}

	assert.Equal(t, "{\n  \"id\": 2\n}", string(recs[1].Payload))
}

func TestJSONFileErrors(t *testing.T) {
	const truncated = "the file ends in the middle of a JSON value; the upload may be truncated"
	tests := []struct {
		name   string
		input  string
		record int
		line   int
		offset int64
		reason string
	}{
		{name: "empty file", input: "", record: -1, line: 1, offset: 0, reason: "the file is empty"},
		{name: "only whitespace", input: " \n\t\n", record: -1, line: 3, offset: 4, reason: "the file is empty"},
		{name: "BOM only", input: "\xEF\xBB\xBF", record: -1, line: 1, offset: 3, reason: "the file is empty"},
		{name: "number", input: "42", record: -1, line: 1, offset: 0, reason: "the file contains a JSON number, not an array of records"},
		{name: "string", input: ` "x"`, record: -1, line: 1, offset: 1, reason: "the file contains a JSON string"},
		{name: "null", input: `null`, record: -1, line: 1, offset: 0, reason: "the file contains JSON null"},
		{name: "other byte", input: `<a>`, record: -1, line: 1, offset: 0, reason: "the file starts with '<'"},
		{name: "UTF-16 without BOM", input: "[\x00{\x00}\x00]\x00", record: 0, line: 1, offset: 1, reason: "found byte 0x00"},
		{name: "syntax error", input: "[\n  {\"id\": 1},\n  {\"id\": 2,, \"x\": 1}\n]", record: 1, line: 3, offset: 26, reason: "invalid character ','"},
		{name: "error on later line of record", input: "[{\"a\": 1},\n{\n\"b\": 2,\n\"c\" 3}]", record: 1, line: 4, offset: 25, reason: "after object key"},
		{name: "missing comma", input: `[{"a":1} {"b":2}]`, record: 1, line: 1, offset: 9, reason: "expected ',' or ']' after record 1"},
		{name: "trailing comma", input: `[{"a":1},]`, record: 1, line: 1, offset: 9, reason: "comma after its last record"},
		{name: "leading comma", input: `[,{"a":1}]`, record: 0, line: 1, offset: 1, reason: "found ',' where a record should start"},
		{name: "bracket mismatch", input: `[{"a":1]]`, record: 0, line: 1, offset: 7, reason: "invalid character ']'"},
		{name: "trailing garbage", input: "[{\"a\":1}]\n x", record: -1, line: 2, offset: 11, reason: "unexpected 'x' after the end of the JSON value"},
		{name: "second array", input: `[][]`, record: -1, line: 1, offset: 2, reason: "unexpected '['"},
		{name: "objects per line", input: "{\"a\":1}\n{\"a\":2}\n", record: -1, line: 2, offset: 8, reason: "uploaded as NDJSON"},
		{name: "truncated in record", input: `[{"a":1},{"b":`, record: 1, line: 1, offset: 14, reason: truncated},
		{name: "truncated in string", input: `[{"a":"x`, record: 0, line: 1, offset: 8, reason: truncated},
		{name: "truncated after record", input: "[{\"a\":1}\n", record: 1, line: 2, offset: 9, reason: truncated},
		{name: "truncated after comma", input: `[{"a":1},`, record: 1, line: 1, offset: 9, reason: truncated},
		{name: "truncated after number", input: `[1`, record: 1, line: 1, offset: 2, reason: truncated},
		{name: "truncated single object", input: `{"a":{}`, record: 0, line: 1, offset: 7, reason: truncated},
		{name: "invalid UTF-8", input: "[{\"a\":1},\n{\"a\":\"\xff\"}]", record: 1, line: 2, offset: 16, reason: "encoding=windows-1252"},
		{name: "bad number", input: `[{"a":01}]`, record: 0, line: 1, offset: 7, reason: "invalid character '1' after object key:value pair"},
		{name: "bad literal", input: `[tru]`, record: 0, line: 1, offset: 4, reason: "unexpected end of JSON input"},
		{name: "raw newline in string", input: "[{\"a\":\"x\ny\"}]", record: 0, line: 1, offset: 8, reason: "invalid character '\\n' in string literal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readJSONInput(t, newJSONReader, []byte(tt.input), Options{})
			fe := requireFileError(t, err)
			assert.Equal(t, tt.record, fe.Record)
			assert.Equal(t, tt.line, fe.Line)
			assert.Equal(t, tt.offset, fe.Offset)
			assert.Contains(t, fe.Reason, tt.reason)
		})
	}
}

func TestJSONErrorRepeats(t *testing.T) {
	r, err := newJSONReader(openJSONInput(t, []byte(`[{"a":1},x]`)), Options{})
	require.NoError(t, err)

	_, err = r.Next()
	require.NoError(t, err)

	_, first := r.Next()
	requireFileError(t, first)

	_, second := r.Next()
	assert.Same(t, first, second)
}

func TestJSONUTF16(t *testing.T) {
	const text = `[{"name":"中国人","city":"Zürich"}]`
	tests := []struct {
		name   string
		endian unicode.Endianness
	}{
		{name: "little endian", endian: unicode.LittleEndian},
		{name: "big endian", endian: unicode.BigEndian},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := unicode.UTF16(tt.endian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
			require.NoError(t, err)

			recs, err := readJSONInput(t, newJSONReader, data, Options{})
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, recs, 1)
			assert.Empty(t, recs[0].Invalid)
			assert.Equal(t, `{"name":"中国人","city":"Zürich"}`, string(recs[0].Payload))
		})
	}
}

func TestJSONHugeString(t *testing.T) {
	var data bytes.Buffer
	data.WriteString(`[{"note":"`)
	data.Write(bytes.Repeat([]byte("ab\\\"cd"), 10<<20/6))
	data.WriteString("\"},\n{\"id\":2}]")

	recs, err := readJSONInput(t, newJSONReader, data.Bytes(), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assert.Equal(t, "the record is 10,485,767 bytes, more than the limit of 1,048,576", recs[0].Invalid)
	assert.Nil(t, recs[0].Payload)
	assert.Empty(t, recs[1].Invalid)
	assert.Equal(t, `{"id":2}`, string(recs[1].Payload))
	assert.Equal(t, 2, recs[1].Line)
	assert.Equal(t, int64(data.Len()-9), recs[1].Offset)
}

func TestJSONHugeStringElement(t *testing.T) {
	data := append([]byte(`["`), bytes.Repeat([]byte("x"), 10<<20)...)
	data = append(data, `", {"id":2}]`...)

	recs, err := readJSONInput(t, newJSONReader, data, Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assert.Equal(t, "the record is 10,485,762 bytes, more than the limit of 1,048,576", recs[0].Invalid)
	assert.Equal(t, `{"id":2}`, string(recs[1].Payload))
}

func TestJSONDeepNesting(t *testing.T) {
	const depth = 10_000
	deep := `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}"

	recs, err := readJSONInput(t, newJSONReader, []byte("["+deep+`, {"id":2}]`), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assert.Equal(t, "the record nests objects and arrays 10,001 levels deep, more than the limit of 32", recs[0].Invalid)
	assert.Equal(t, `{"id":2}`, string(recs[1].Payload))
}

func TestJSONDeepNestingTruncated(t *testing.T) {
	data := "[" + strings.Repeat(`{"a":[`, 10_000)

	_, err := readJSONInput(t, newJSONReader, []byte(data), Options{})
	fe := requireFileError(t, err)
	assert.Equal(t, "the file ends in the middle of a JSON value; the upload may be truncated", fe.Reason)
	assert.Equal(t, int64(len(data)), fe.Offset)
}

func TestJSONPayloadCopied(t *testing.T) {
	var data bytes.Buffer
	data.WriteString("[")
	for i := range 50_000 {
		if i > 0 {
			data.WriteString(",")
		}

		fmt.Fprintf(&data, `{"id":%d}`, i)
	}

	data.WriteString("]")

	recs, err := readJSONInput(t, newJSONReader, data.Bytes(), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 50_000)
	for i, rec := range recs {
		require.Equal(t, fmt.Sprintf(`{"id":%d}`, i), string(rec.Payload))
	}
}

// leadRecord returns a lead of about 230 bytes as JSON.
func leadRecord(i int) string {
	return fmt.Sprintf(`{"phoneNumber":"+1555%07d","name":"Lead Number %d","email":"lead%d@example.com","origin":"web-form",`+
		`"city":"Springfield Heights","state":"Illinois","leadContextJson":{"budget":"%d","source":"spring-campaign-2024-search"}}`,
		i, i, i, 1000+i%9000)
}

// writeLeads writes n leads as a JSON array, or as NDJSON, to a temporary
// file and returns its path.
func writeLeads(b *testing.B, n int, ndjson bool) string {
	b.Helper()
	var data bytes.Buffer
	if !ndjson {
		data.WriteString("[\n")
	}

	for i := range n {
		if i > 0 && !ndjson {
			data.WriteString(",\n")
		}

		data.WriteString(leadRecord(i))
		if ndjson {
			data.WriteString("\n")
		}
	}

	if !ndjson {
		data.WriteString("\n]\n")
	}

	path := filepath.Join(b.TempDir(), "leads")
	require.NoError(b, os.WriteFile(path, data.Bytes(), 0o600))
	b.SetBytes(int64(data.Len()))

	return path
}

// benchmarkReader reads a file of 100,000 leads per iteration and reports
// records per second.
func benchmarkReader(b *testing.B, open func(*os.File, Options) (Reader, error), ndjson bool) {
	const n = 100_000
	path := writeLeads(b, n, ndjson)
	opts := Options{Limits: Limits{}.withDefaults()}
	for b.Loop() {
		f, err := os.Open(path)
		require.NoError(b, err)

		r, err := open(f, opts)
		require.NoError(b, err)

		count := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}

			if err != nil {
				b.Fatal(err)
			}

			count++
		}

		require.Equal(b, n, count)
		require.NoError(b, r.Close())
		require.NoError(b, f.Close())
	}

	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkJSONReader(b *testing.B) {
	benchmarkReader(b, newJSONReader, false)
}
