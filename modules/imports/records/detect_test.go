package records

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetectFormats(t *testing.T) {
	xlsx, err := os.ReadFile(filepath.Join("testdata", "conformance", "xlsx", "frictionless", "table.xlsx"))
	require.NoError(t, err)

	for _, tc := range []struct {
		name, fileName, want string
		head                 []byte
	}{
		{"json array", "leads.json", JSON, []byte(" \n[{\"a\":1}]")},
		{"json array without a name", "", JSON, []byte("[{\"a\":1}]")},
		{"single object", "lead.json", JSON, []byte("{\"a\":1}\n")},
		{"pretty object", "lead.json", JSON, []byte("{\n  \"a\": 1\n}\n")},
		{"ndjson by content", "leads.json", NDJSON, []byte("{\"a\":1}\n{\"a\":2}\n")},
		{"ndjson by name", "leads.jsonl", NDJSON, []byte("{\"a\":1}")},
		{"json with a bom", "x.txt", JSON, []byte("\xEF\xBB\xBF[]")},
		{"utf-16 json", "", JSON, []byte("\xFF\xFE[\x00]\x00")},
		{"csv", "leads.csv", CSV, []byte("phone;name\n1;a\n")},
		{"csv under another name", "leads.txt", CSV, []byte("phone,name\n")},
		{"utf-16 csv", "leads.csv", CSV, []byte("\xFF\xFEa\x00,\x00b\x00")},
		{"xlsx", "leads.xlsx", Excel, xlsx},
		{"xlsx without a name", "", Excel, xlsx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(tc.head, tc.fileName, "")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDetectRejections(t *testing.T) {
	for _, tc := range []struct {
		name, fileName, encoding, code string
		head                           []byte
	}{
		{"empty", "a.csv", "", DetectEmpty, []byte(" \r\n\t")},
		{"bom only", "a.csv", "", DetectEmpty, []byte("\xEF\xBB\xBF")},
		{"old excel", "a.xls", "", DetectXLS, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}},
		{"pdf", "a.csv", "", DetectBinary, []byte("%PDF-1.7\n")},
		{"png", "", "", DetectBinary, []byte("\x89PNG\r\n\x1a\n")},
		{"gzip", "a.json.gz", "", DetectBinary, []byte{0x1F, 0x8B, 8, 0}},
		{"zip that is not a workbook", "a.zip", "", DetectBinary, []byte("PK\x03\x04\x14\x00\x00\x00notes.txt")},
		{"nul in text", "a.csv", "", DetectBinary, []byte("a,b\n1,\x002\n")},
		{"utf-16 without bom", "a.csv", "", DetectUTF16NoBOM, []byte("a\x00,\x00b\x00\n\x00")},
		{"json name with csv content", "a.json", "", DetectMismatch, []byte("a,b\n")},
		{"json name with a string", "a.json", "", DetectMismatch, []byte(`"hello"`)},
		{"xlsx name with text", "a.xlsx", "", DetectMismatch, []byte("a,b\n")},
		{"unknown encoding", "a.csv", "klingon", DetectUnknownEncoding, []byte("a,b\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Detect(tc.head, tc.fileName, tc.encoding)
			var detectErr *DetectError
			require.True(t, errors.As(err, &detectErr), "got %v", err)
			assert.Equal(t, tc.code, detectErr.Code)
		})
	}
}

func TestDetectWithEncoding(t *testing.T) {
	got, err := Detect([]byte("a\x00,\x00b\x00\n\x00"), "a.csv", "utf-16le")
	require.NoError(t, err)
	assert.Equal(t, CSV, got)
}

// FuzzDetect checks that any head either gets a format or a DetectError,
// and never panics.
func FuzzDetect(f *testing.F) {
	for _, seed := range [][]byte{
		[]byte("[{\"a\":1}]"), []byte("{\"a\":1}\n{\"a\":2}\n"), []byte("a;b\n1;2\n"), []byte("\xFF\xFEa\x00"),
		[]byte("PK\x03\x04xl/"), {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, []byte("\xEF\xBB\xBF"),
	} {
		f.Add(seed, "leads.csv", "")
	}

	f.Add([]byte("a\x00b\x00"), "x.txt", "utf-16le")
	f.Fuzz(func(t *testing.T, head []byte, name, encoding string) {
		format, err := Detect(head, name, encoding)
		if err != nil {
			var detectErr *DetectError
			require.True(t, errors.As(err, &detectErr), "unexpected error type %T: %v", err, err)
			require.Empty(t, format)

			return
		}

		require.Contains(t, []string{JSON, NDJSON, CSV, Excel}, format)
	})
}
