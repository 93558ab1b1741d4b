package importtest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/records"
)

// benchLeads sets the file size of BenchmarkReadGenerated:
// go test ./modules/imports/importtest -run '^$' -bench ReadGenerated -args -leads 1000000
var benchLeads = flag.Int("leads", 100_000, "number of leads in each file that BenchmarkReadGenerated reads")

// formatOptions drop some phones and origins, so that the tests see
// optional fields left out.
var formatOptions = GenerateOptions{Seed: 2026, MissingOriginEvery: 7, MissingPhoneEvery: 11}

func TestGenerateLeadsAsJSON(t *testing.T) {
	for _, n := range []int{0, 1, 300} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			expected := generate(t, n, formatOptions)

			got := generateAs(t, JSONArray, n, FileOptions{GenerateOptions: formatOptions})

			require.Equal(t, string(expected), string(got), "every column as a JSON array must match GenerateLeads")
		})
	}
}

func TestGenerateLeadsAsNDJSON(t *testing.T) {
	const n = 200
	objects := decodeObjects(t, generate(t, n, formatOptions))

	data := generateAs(t, NDJSON, n, FileOptions{GenerateOptions: formatOptions})

	require.True(t, bytes.HasSuffix(data, []byte("}\n")), "the last line must end with a newline")
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, n)
	for i, line := range lines {
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &got), "line %d", i+1)
		assert.Equal(t, objects[i], got, "line %d", i+1)
	}
}

func TestGenerateLeadsAsCompact(t *testing.T) {
	const n = 2000
	data := generateAs(t, NDJSON, n, FileOptions{GenerateOptions: GenerateOptions{Seed: 42}, Columns: CompactColumns})

	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, n)

	// The benchmarks compare with ceilings measured on records of about
	// 229 bytes.
	average := float64(len(data)-n) / n
	assert.InDelta(t, 230, average, 15, "average record size in bytes")

	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.NotContains(t, first, "document")
	assert.Contains(t, first, "leadContextJson")
}

// TestGenerateLeadsAsRecords reads every generated file back with the
// reader the worker uses, and expects the records of the JSON array, with
// the values as the format turns them into text.
func TestGenerateLeadsAsRecords(t *testing.T) {
	const n = 700
	cases := []struct {
		name    string
		format  FileFormat
		options FileOptions
		// detected is the records package's name of the format.
		detected string
		// firstLine is the line or sheet row of the first record.
		firstLine int
	}{
		{"json", JSONArray, FileOptions{}, records.JSON, 2},
		{"ndjson", NDJSON, FileOptions{}, records.NDJSON, 1},
		{"csv comma", CSV, FileOptions{}, records.CSV, 2},
		{"csv semicolon", CSV, FileOptions{Delimiter: ';'}, records.CSV, 2},
		{"csv tab", CSV, FileOptions{Delimiter: '\t'}, records.CSV, 2},
		{"xlsx shared strings", XLSX, FileOptions{}, records.Excel, 2},
		{"xlsx inline strings", XLSX, FileOptions{InlineStrings: true}, records.Excel, 2},
	}

	for _, columns := range [][]string{AllColumns, CompactColumns} {
		expected := expectedObjects(t, n, columns)

		for _, c := range cases {
			t.Run(strconv.Itoa(len(columns))+" columns/"+c.name, func(t *testing.T) {
				c.options.GenerateOptions = formatOptions
				c.options.Columns = columns
				path := filepath.Join(t.TempDir(), "leads"+c.format.Extension())
				require.NoError(t, GenerateLeadsFileAs(path, c.format, n, c.options))

				detected, err := records.Detect(readHead(t, path), filepath.Base(path), "")
				require.NoError(t, err)
				require.Equal(t, c.detected, detected, "detected format")

				got := readRecords(t, path, c.detected)

				require.Len(t, got, n)
				for i, record := range got {
					assert.Empty(t, record.Invalid, "record %d", i+1)
					assert.Equal(t, c.firstLine+i, record.Line, "line of record %d", i+1)
					assert.Equal(t, textForm(expected[i], c.format), decodeObject(t, record.Payload), "record %d", i+1)
				}
			})
		}
	}
}

func TestGenerateLeadsAsSharedStrings(t *testing.T) {
	const n = 500
	columns := []string{"name", "email", "city", "leadContextJson.budget"}
	data := generateAs(t, XLSX, n, FileOptions{GenerateOptions: formatOptions, Columns: columns})

	archive, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)

	var names []string
	for _, f := range archive.File {
		names = append(names, f.Name)
	}

	assert.Equal(t, []string{
		"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
		"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml",
	}, names)

	var table struct {
		Count       int      `xml:"count,attr"`
		UniqueCount int      `xml:"uniqueCount,attr"`
		Items       []string `xml:"si>t"`
	}
	require.NoError(t, xml.Unmarshal(readEntry(t, archive, "xl/sharedStrings.xml"), &table))

	// Every text cell refers to the table: the header's 4 names, then
	// name, email and city of each lead. Emails are unique, so the table
	// has at least one entry per lead, but cities and most names repeat.
	assert.Equal(t, 4+3*n, table.Count, "count")
	assert.Equal(t, len(table.Items), table.UniqueCount, "uniqueCount")
	assert.Greater(t, table.UniqueCount, n+len(columns))
	assert.Less(t, table.UniqueCount, 3*n)

	sheet := string(readEntry(t, archive, "xl/worksheets/sheet1.xml"))
	assert.Equal(t, table.Count, strings.Count(sheet, ` t="s"`), "cells referring to the table")
	assert.Contains(t, sheet, `<dimension ref="A1:D501"/>`)
}

func TestGenerateLeadsAsDeterministic(t *testing.T) {
	for _, format := range FileFormats {
		t.Run(string(format), func(t *testing.T) {
			options := FileOptions{GenerateOptions: formatOptions}

			first := generateAs(t, format, 300, options)
			second := generateAs(t, format, 300, options)

			require.Equal(t, first, second)
		})
	}
}

func TestGenerateLeadsAsWrites(t *testing.T) {
	const n = 5000
	for _, format := range FileFormats {
		t.Run(string(format), func(t *testing.T) {
			var recorder recordingWriter

			written, err := GenerateLeadsAs(&recorder, format, n, FileOptions{GenerateOptions: formatOptions, TempDir: t.TempDir()})

			require.NoError(t, err)
			assert.Greater(t, written, int64(n*50), "bytes written")
			assert.Greater(t, recorder.writes, 1, "the output must be written in chunks")
			assert.LessOrEqual(t, recorder.maxWrite, writeBufferSize, "largest write")
		})
	}
}

func TestGenerateLeadsAsTempFiles(t *testing.T) {
	tempDir := t.TempDir()
	path := filepath.Join(t.TempDir(), "leads.xlsx")

	require.NoError(t, GenerateLeadsFileAs(path, XLSX, 50, FileOptions{TempDir: tempDir}))

	left, err := os.ReadDir(tempDir)
	require.NoError(t, err)
	assert.Empty(t, left, "the shared strings file must be removed")
}

func TestGenerateLeadsFileAsFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.xlsx")
	missing := filepath.Join(t.TempDir(), "missing")

	err := GenerateLeadsFileAs(path, XLSX, 50, FileOptions{TempDir: missing})

	require.ErrorContains(t, err, missing)
	_, statErr := os.Stat(path)
	assert.True(t, errors.Is(statErr, os.ErrNotExist), "the partial file must be removed, got %v", statErr)
}

func TestGenerateLeadsAsInvalid(t *testing.T) {
	cases := []struct {
		name    string
		format  FileFormat
		n       int
		options FileOptions
		message string
	}{
		{"negative count", CSV, -1, FileOptions{}, "invalid lead count -1"},
		{"unknown format", "xls", 1, FileOptions{}, `unknown file format "xls"`},
		{"unknown column", CSV, 1, FileOptions{Columns: []string{"name", "budget"}}, `unknown column "budget"`},
		{"repeated column", CSV, 1, FileOptions{Columns: []string{"name", "name"}}, `column "name" is selected twice`},
		{"no columns", CSV, 1, FileOptions{Columns: []string{}}, "no columns selected"},
		{"quote delimiter", CSV, 1, FileOptions{Delimiter: '"'}, "invalid CSV delimiter"},
		{"newline delimiter", CSV, 1, FileOptions{Delimiter: '\n'}, "invalid CSV delimiter"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			written, err := GenerateLeadsAs(io.Discard, c.format, c.n, c.options)

			require.ErrorContains(t, err, c.message)
			assert.Zero(t, written)
		})
	}
}

func TestColumnLetters(t *testing.T) {
	cases := map[int]string{0: "A", 25: "Z", 26: "AA", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA", 16383: "XFD"}
	for index, expected := range cases {
		assert.Equal(t, expected, columnLetters(index), "column %d", index)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\b\f\x01\x1f", "é ç ã", "a\u2028b\u2029", "bad \xff byte", "<&>"} {
		var expected bytes.Buffer
		encoder := json.NewEncoder(&expected)
		encoder.SetEscapeHTML(false)
		require.NoError(t, encoder.Encode(s))

		assert.Equal(t, strings.TrimSuffix(expected.String(), "\n"), string(appendJSONString(nil, s)), "string %q", s)
	}
}

func TestAppendXMLText(t *testing.T) {
	cases := map[string]string{
		"Ana & Filhos": "<t>Ana &amp; Filhos</t>",
		"<b>":          "<t>&lt;b&gt;</t>",
		" padded ":     `<t xml:space="preserve"> padded </t>`,
		"line\r\nend":  "<t>line&#13;\nend</t>",
	}
	for s, expected := range cases {
		assert.Equal(t, expected, string(appendXMLText(nil, s)), "text %q", s)
	}
}

// BenchmarkReadGenerated reads files of compact leads, as
// BenchmarkStagingFormats in cmd uploads them, with the reader the worker
// uses, and reports records/s. Generating the files is not timed.
func BenchmarkReadGenerated(b *testing.B) {
	options := FileOptions{GenerateOptions: GenerateOptions{Seed: 42}, Columns: CompactColumns, Delimiter: ';'}
	detected := map[FileFormat]string{JSONArray: records.JSON, NDJSON: records.NDJSON, CSV: records.CSV, XLSX: records.Excel}
	dir := b.TempDir()

	for _, format := range FileFormats {
		b.Run(fmt.Sprintf("format=%s/leads=%d", format, *benchLeads), func(b *testing.B) {
			path := filepath.Join(dir, "leads"+format.Extension())
			require.NoError(b, GenerateLeadsFileAs(path, format, *benchLeads, options))
			info, err := os.Stat(path)
			require.NoError(b, err)
			b.SetBytes(info.Size())

			for b.Loop() {
				if n := countRecords(b, path, detected[format]); n != *benchLeads {
					b.Fatalf("read %d records from %s, expected %d", n, path, *benchLeads)
				}
			}

			b.ReportMetric(float64(*benchLeads)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// countRecords reads every record of the file and returns their number.
func countRecords(b *testing.B, path, format string) int {
	file, err := os.Open(path)
	require.NoError(b, err)
	defer file.Close()

	reader, err := records.Open(file, format, records.Options{})
	require.NoError(b, err)
	defer reader.Close()

	n := 0
	for {
		_, err := reader.Next()
		if errors.Is(err, io.EOF) {
			return n
		}

		require.NoError(b, err, "record %d", n+1)
		n++
	}
}

func generateAs(t *testing.T, format FileFormat, n int, opts FileOptions) []byte {
	t.Helper()

	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}

	var out bytes.Buffer
	written, err := GenerateLeadsAs(&out, format, n, opts)
	require.NoError(t, err)
	require.EqualValues(t, out.Len(), written)

	return out.Bytes()
}

// expectedObjects returns the leads of formatOptions as GenerateLeads
// writes them, with only the given columns.
func expectedObjects(t *testing.T, n int, columns []string) []map[string]any {
	t.Helper()

	objects := decodeObjects(t, generate(t, n, formatOptions))
	keep := map[string]bool{}
	for _, name := range columns {
		keep[name] = true
	}

	for _, object := range objects {
		for key, value := range object {
			nested, ok := value.(map[string]any)
			if !ok {
				if !keep[key] {
					delete(object, key)
				}

				continue
			}

			for member := range nested {
				if !keep[key+"."+member] {
					delete(nested, member)
				}
			}

			if len(nested) == 0 {
				delete(object, key)
			}
		}
	}

	return objects
}

// textForm returns the record that format gives for a lead decoded from
// JSON. CSV and XLSX records hold text: numbers in plain notation,
// booleans as true/false (CSV) or TRUE/FALSE (an XLSX boolean cell), a
// date without its zone (an XLSX date cell), and tags joined by ", ".
// An empty tag list is an empty cell, which the reader leaves out.
func textForm(object map[string]any, format FileFormat) map[string]any {
	if format == JSONArray || format == NDJSON {
		return object
	}

	out := make(map[string]any, len(object))
	for key, value := range object {
		var text string
		switch v := value.(type) {
		case map[string]any:
			out[key] = textForm(v, format)

			continue
		case float64:
			text = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			text = strconv.FormatBool(v)
			if format == XLSX {
				text = strings.ToUpper(text)
			}
		case []any:
			items := make([]string, len(v))
			for i, item := range v {
				items[i] = item.(string)
			}

			text = strings.Join(items, ", ")
		case string:
			text = v
			if key == "createdAt" && format == XLSX {
				text = strings.TrimSuffix(v, "Z")
			}
		}

		if text != "" {
			out[key] = text
		}
	}

	return out
}

func readHead(t *testing.T, path string) []byte {
	t.Helper()

	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()

	head := make([]byte, records.HeadSize)
	n, err := io.ReadFull(file, head)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		require.NoError(t, err)
	}

	return head[:n]
}

func readRecords(t *testing.T, path, format string) []records.Record {
	t.Helper()

	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()

	reader, err := records.Open(file, format, records.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, reader.Close()) }()

	var out []records.Record
	for {
		record, err := reader.Next()
		if errors.Is(err, io.EOF) {
			return out
		}

		require.NoError(t, err, "record %d", len(out)+1)
		out = append(out, record)
	}
}

func decodeObject(t *testing.T, payload []byte) map[string]any {
	t.Helper()

	var object map[string]any
	require.NoError(t, json.Unmarshal(payload, &object), "payload %s", payload)

	return object
}

func readEntry(t *testing.T, archive *zip.Reader, name string) []byte {
	t.Helper()

	entry, err := archive.Open(name)
	require.NoError(t, err)
	defer entry.Close()

	content, err := io.ReadAll(entry)
	require.NoError(t, err)

	return content
}
