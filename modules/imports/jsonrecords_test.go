package imports

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, input string) ([]string, error) {
	t.Helper()

	jr, err := newJSONRecords(strings.NewReader(input))
	if err != nil {
		return nil, err
	}

	var out []string
	for range 1000 {
		raw, err := jr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}

		if err != nil {
			return out, err
		}

		out = append(out, string(raw))
	}

	t.Fatal("reader never ended")

	return nil, nil
}

func TestJSONRecords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string
	}{
		{"array of objects", `[{"a":1},{"b":2}]`, []string{`{"a":1}`, `{"b":2}`}},
		{"whitespace and newlines", " \r\n[\n {\"a\":1} ,\n{\"b\":[1,{\"c\":2}]}\n]\n\n", []string{`{"a":1}`, `{"b":[1,{"c":2}]}`}},
		{"utf-8 bom", "\xEF\xBB\xBF[{\"nome\":\"João\"}]", []string{`{"nome":"João"}`}},
		{"single object", `{"a":1}`, []string{`{"a":1}`}},
		{"empty array", `[]`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.input)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	for _, tc := range []struct {
		name   string
		input  string
		offset int64
		record int
		reason string
	}{
		{"empty file", "  \n", 3, -1, "empty"},
		{"string at top level", `"hello"`, 0, -1, "starts with"},
		{"number at top level", "\n42", 1, -1, "starts with"},
		{"missing comma", `[{"a":1} {"b":2}]`, 9, 1, "expected comma"},
		{"truncated", `[{"a":1},{"b":`, 9, 1, "ends in the middle"},
		{"element not an object", `[{"a":1},2]`, 9, 1, "not a JSON object"},
		{"trailing data", `[{"a":1}] x`, 10, -1, "after the end"},
		{"two objects", `{"a":1}{"b":2}`, 8, -1, "after the end"},
		{"offset counts the bom", "\xEF\xBB\xBF[{\"a\":1}} ", 11, 1, "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.input)
			var fileErr *FileError
			require.ErrorAs(t, err, &fileErr)
			require.Equal(t, tc.offset, fileErr.Offset, fileErr.Error())
			require.Equal(t, tc.record, fileErr.Record, fileErr.Error())
			require.Contains(t, fileErr.Error(), tc.reason)
			require.Contains(t, fileErr.Error(), "byte offset")
		})
	}
}

func TestApplyOriginDefault(t *testing.T) {
	for _, tc := range []struct {
		name, record, origin, want string
	}{
		{"missing origin", `{"name":"a"}`, "site", `{"name":"a","origin":"site"}`},
		{"empty object", `{}`, "site", `{"origin":"site"}`},
		{"keeps a non-empty origin", `{"origin":"ads"}`, "site", `{"origin":"ads"}`},
		{"replaces an empty origin", `{"origin":"  "}`, "site", `{"origin":"site"}`},
		{"replaces a null origin", `{"a":1,"origin":null}`, "site", `{"a":1,"origin":"site"}`},
		{"no default leaves the record", `{"name":"a"}`, "", `{"name":"a"}`},
		{"escapes the default", `{"a":1}`, `x"y`, `{"a":1,"origin":"x\"y"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyOriginDefault(json.RawMessage(tc.record), tc.origin)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
		})
	}
}

func TestJSONRecordsEncoding(t *testing.T) {
	t.Run("invalid utf-8 names its offset", func(t *testing.T) {
		_, err := readAll(t, "[{\"a\":1},{\"b\":\"x\xff\"}]")
		var fileErr *FileError
		require.ErrorAs(t, err, &fileErr)
		require.Equal(t, 1, fileErr.Record)
		require.Contains(t, fileErr.Error(), "not valid UTF-8")
		require.EqualValues(t, 16, fileErr.Offset, "the offset of the 0xff byte")
	})

	t.Run("utf-16 is named", func(t *testing.T) {
		_, err := readAll(t, "\xFF\xFE[\x00]\x00")
		require.ErrorContains(t, err, "UTF-16")
	})
}
