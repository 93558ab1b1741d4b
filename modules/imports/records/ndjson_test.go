package records

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"
)

func TestNDJSONFrictionless(t *testing.T) {
	for _, name := range []string{"table.ndjson", "table.jsonl"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(jsonConformance, "records/frictionless", name))
			require.NoError(t, err)

			recs, err := readJSONInput(t, newNDJSONReader, data, Options{})
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, recs, 2)
			assertIDNameRows(t, recs)
			assert.Equal(t, 2, recs[1].Line)
			assert.Equal(t, int64(26), recs[1].Offset)
		})
	}
}

func TestNDJSONCsvkitMultiline(t *testing.T) {
	recs := readCsvkitJSON(t, "testjson_multiline.json", newNDJSONReader)
	header, rows := readCsvkitCSV(t, "testjson_multiline_converted.csv")
	require.Len(t, recs, len(rows))

	for i, rec := range recs {
		// csvkit's header is the union of the records' keys, and a key that
		// a record lacks is an empty cell.
		object := decodeObject(t, rec.Payload)
		for j, column := range header {
			assert.Equal(t, rows[i][j], csvkitValue(object[column]), "record %d, %s", i+1, column)
		}
	}
}

func TestNDJSONRecords(t *testing.T) {
	type want struct {
		payload string
		invalid string
		line    int
		offset  int64
	}
	tests := []struct {
		name  string
		input string
		opts  Options
		want  []want
	}{
		{name: "empty file", input: ""},
		{name: "only blank lines", input: "\n \r\n\t\n"},
		{name: "LF", input: "{\"a\":1}\n{\"b\":2}\n", want: []want{{`{"a":1}`, "", 1, 0}, {`{"b":2}`, "", 2, 8}}},
		{name: "no final newline", input: "{\"a\":1}\n{\"b\":2}", want: []want{{`{"a":1}`, "", 1, 0}, {`{"b":2}`, "", 2, 8}}},
		{name: "CRLF and blank lines", input: "{\"a\":1}\r\n\r\n  \t\r\n{\"b\":2}\r\n\n",
			want: []want{{`{"a":1}`, "", 1, 0}, {`{"b":2}`, "", 4, 16}}},
		{name: "space around value", input: "  {\"a\" : 1}\t \r\n", want: []want{{`{"a" : 1}`, "", 1, 0}}},
		{name: "UTF-8 BOM", input: "\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n", want: []want{{`{"a":1}`, "", 1, 3}, {`{"b":2}`, "", 2, 11}}},
		{name: "windows-1252 label", input: "{\"city\":\"S\xe3o Paulo\"}\n", opts: Options{Encoding: "windows-1252"},
			want: []want{{`{"city":"São Paulo"}`, "", 1, 0}}},
		{name: "not objects", input: "1\n\"x\"\nnull\n[{}]\ntrue\n",
			want: []want{
				{"1", "the record is a number, not a JSON object", 1, 0},
				{`"x"`, "the record is a string, not a JSON object", 2, 2},
				{"null", "the record is null, not a JSON object", 3, 6},
				{"[{}]", "the record is an array, not a JSON object", 4, 11},
				{"true", "the record is a boolean, not a JSON object", 5, 16},
			}},
		{name: "over max bytes", input: "{\"a\":\"123456789\"}\r\n{\"a\":\"12345678\"}\r\n", opts: Options{Limits: Limits{MaxRecordBytes: 16}},
			want: []want{{"", "the record is 17 bytes, more than the limit of 16", 1, 0}, {`{"a":"12345678"}`, "", 2, 19}}},
		{name: "max fields", input: "{\"a\":1,\"b\":{\"c\":2,\"d\":3}}\n{\"a\":1,\"b\":{\"c\":2}}\n", opts: Options{Limits: Limits{MaxFields: 3}},
			want: []want{
				{"", "the record has 4 fields (nested ones included), more than the limit of 3", 1, 0},
				{`{"a":1,"b":{"c":2}}`, "", 2, 26},
			}},
		{name: "max depth", input: "{\"a\":[[{}]]}\n{\"a\":[{}]}\n", opts: Options{Limits: Limits{MaxDepth: 3}},
			want: []want{
				{"", "the record nests objects and arrays 4 levels deep, more than the limit of 3", 1, 0},
				{`{"a":[{}]}`, "", 2, 13},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readJSONInput(t, newNDJSONReader, []byte(tt.input), tt.opts)
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, recs, len(tt.want))
			for i, w := range tt.want {
				assert.Equal(t, w.payload, string(recs[i].Payload), "record %d", i+1)
				assert.Equal(t, w.invalid, recs[i].Invalid, "record %d", i+1)
				assert.Equal(t, w.line, recs[i].Line, "record %d", i+1)
				assert.Equal(t, w.offset, recs[i].Offset, "record %d", i+1)
			}
		})
	}
}

func TestNDJSONFileErrors(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		record int
		line   int
		offset int64
		reason string
	}{
		{name: "syntax error", input: "{\"a\":1}\n\n{\"a\" 1}\n", record: 1, line: 3, offset: 14, reason: "invalid character '1' after object key"},
		{name: "two values", input: "{\"a\":1} {\"b\":2}\n", record: 0, line: 1, offset: 8, reason: "invalid character '{' after top-level value"},
		{name: "leading space", input: "\n  {\"a\":}\n", record: 0, line: 2, offset: 8, reason: "invalid character '}'"},
		{name: "incomplete value", input: "{\"a\":1}\r\n{\"a\":\r\n", record: 1, line: 2, offset: 14, reason: "unexpected end of JSON input"},
		{name: "JSON array file", input: "[\n{\"a\":1}\n]\n", record: 0, line: 1, offset: 1, reason: "unexpected end of JSON input"},
		{name: "invalid UTF-8", input: "{\"a\":1}\n{\"a\":\"\xe9\"}\n", record: 1, line: 2, offset: 14, reason: "encoding=windows-1252"},
		{name: "NUL byte", input: "{\x00\"\x00a\x00", record: 0, line: 1, offset: 1, reason: "invalid character '\\x00'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readJSONInput(t, newNDJSONReader, []byte(tt.input), Options{})
			fe := requireFileError(t, err)
			assert.Equal(t, tt.record, fe.Record)
			assert.Equal(t, tt.line, fe.Line)
			assert.Equal(t, tt.offset, fe.Offset)
			assert.Contains(t, fe.Reason, tt.reason)
		})
	}
}

func TestNDJSONUTF16(t *testing.T) {
	const text = "{\"name\":\"中国人\"}\r\n\r\n{\"city\":\"Zürich\"}\r\n"
	for _, endian := range []unicode.Endianness{unicode.LittleEndian, unicode.BigEndian} {
		data, err := unicode.UTF16(endian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
		require.NoError(t, err)

		recs, err := readJSONInput(t, newNDJSONReader, data, Options{})
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, recs, 2)
		assert.Equal(t, `{"name":"中国人"}`, string(recs[0].Payload))
		assert.Equal(t, `{"city":"Zürich"}`, string(recs[1].Payload))
		assert.Equal(t, 3, recs[1].Line)
	}
}

func TestNDJSONLongLines(t *testing.T) {
	// A line of exactly limit bytes, with its CRLF, fits; one byte more
	// does not. Both are longer than the reader's buffer.
	const limit = DefaultMaxRecordBytes
	value := func(size int) string {
		return `{"a":"` + strings.Repeat("x", size-8) + `"}`
	}

	var data bytes.Buffer
	data.WriteString(value(limit) + "\r\n")
	data.WriteString(value(limit+1) + "\r\n")
	data.WriteString(value(600<<10) + "\n")
	data.WriteString(value(3<<20) + "\n")
	next := data.Len()
	data.WriteString(`{"id":5}`)

	recs, err := readJSONInput(t, newNDJSONReader, data.Bytes(), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 5)

	assert.Empty(t, recs[0].Invalid)
	assert.Equal(t, value(limit), string(recs[0].Payload))

	assert.Equal(t, "the record is 1,048,577 bytes, more than the limit of 1,048,576", recs[1].Invalid)
	assert.Nil(t, recs[1].Payload)

	assert.Empty(t, recs[2].Invalid)
	assert.Len(t, recs[2].Payload, 600<<10)

	assert.Equal(t, "the record is 3,145,728 bytes, more than the limit of 1,048,576", recs[3].Invalid)

	assert.Equal(t, `{"id":5}`, string(recs[4].Payload))
	assert.Equal(t, 5, recs[4].Line)
	assert.Equal(t, int64(next), recs[4].Offset)
}

func TestNDJSONLongLineSmallLimit(t *testing.T) {
	// The first piece of the line, a full buffer, is already over the limit.
	data := `{"a":"` + strings.Repeat("x", 300<<10) + "\"}\r\n{\"id\":2}\n"

	recs, err := readJSONInput(t, newNDJSONReader, []byte(data), Options{Limits: Limits{MaxRecordBytes: 1000}})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assert.Equal(t, "the record is 307,208 bytes, more than the limit of 1,000", recs[0].Invalid)
	assert.Equal(t, `{"id":2}`, string(recs[1].Payload))
	assert.Equal(t, int64(307_210), recs[1].Offset)
}

func TestNDJSONDeepNesting(t *testing.T) {
	const depth = 10_000
	data := `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}\n{\"id\":2}\n"

	recs, err := readJSONInput(t, newNDJSONReader, []byte(data), Options{})
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, recs, 2)
	assert.Equal(t, "the record nests objects and arrays 10,001 levels deep, more than the limit of 32", recs[0].Invalid)
	assert.Equal(t, `{"id":2}`, string(recs[1].Payload))
}

func TestNDJSONErrorRepeats(t *testing.T) {
	r, err := newNDJSONReader(openJSONInput(t, []byte("{}\nx\n{}\n")), Options{})
	require.NoError(t, err)

	_, err = r.Next()
	require.NoError(t, err)

	_, first := r.Next()
	requireFileError(t, first)

	_, second := r.Next()
	assert.Same(t, first, second)
}

func BenchmarkNDJSONReader(b *testing.B) {
	benchmarkReader(b, newNDJSONReader, true)
}
