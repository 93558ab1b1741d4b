package records

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestObjectBuilderBuild checks the payload and the invalid message of
// rows that break one or more rules. Every invalid row keeps the cells
// under the header, except one whose JSON is over MaxRecordBytes.
func TestObjectBuilderBuild(t *testing.T) {
	limits := Limits{MaxRecordBytes: 64, MaxFields: 3, MaxDepth: 3}
	builder, err := newObjectBuilder([]string{"a", "g.x", "g.y"}, limits)
	require.NoError(t, err)

	long := strings.Repeat("x", 64)
	tests := []struct {
		name    string
		cells   []string
		payload string // "" for none
		invalid string // a part of the message, "" for a valid record
	}{
		{"valid", []string{"1", "2"}, `{"a":"1","g":{"x":"2"}}`, ""},
		{"no cells", []string{" ", ""}, `{}`, ""},
		{"beyond header", []string{"1", "", "", "4"}, `{"a":"1"}`,
			"the row has a value in column 4, but the header has only 3 named columns; name that column"},
		{"invalid UTF-8", []string{"x\xe9y"}, `{"a":"x\ufffdy"}`, `the value of column 1 ("a") is not valid text`},
		{"NUL", []string{"1", "x\x00"}, `{"a":"1","g":{"x":"x\ufffd"}}`, `the value of column 2 ("g.x") contains a NUL byte`},
		{"first bad cell", []string{"\xe9", "\x00"}, `{"a":"\ufffd","g":{"x":"\ufffd"}}`, `column 1 ("a") is not valid text`},
		{"beyond header and NUL", []string{"\x00", "", "", "4"}, `{"a":"\ufffd"}`, "value in column 4"},
		{"too many fields", []string{"1", "2", "3"}, `{"a":"1","g":{"x":"2","y":"3"}}`,
			"the record has 4 fields (nested ones included), more than the limit of 3"},
		{"too large", []string{long}, "", "the record is 72 bytes as JSON, more than the limit of 64"},
		{"too large and beyond header", []string{long, "", "", "4"}, "", "value in column 4"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells := append([]string(nil), tt.cells...)
			payload, invalid := builder.build(cells)
			if tt.payload == "" {
				assert.Nil(t, payload)
			} else {
				assert.JSONEq(t, tt.payload, string(payload))
			}

			if tt.invalid == "" {
				assert.Empty(t, invalid)
			} else {
				assert.Contains(t, invalid, tt.invalid)
			}

			assert.Equal(t, tt.cells, cells, "build must not change the cells")
		})
	}
}

func TestObjectBuilderOneColumn(t *testing.T) {
	builder, err := newObjectBuilder([]string{"a", " "}, Limits{MaxRecordBytes: 64, MaxFields: 3, MaxDepth: 3})
	require.NoError(t, err)

	_, invalid := builder.build([]string{"1", "2"})
	assert.Contains(t, invalid, "the header has only 1 named column;")
}

// TestObjectBuilderLabels checks that header errors use the labels given
// to newLabeledObjectBuilder, as the XLSX reader's column letters.
func TestObjectBuilderLabels(t *testing.T) {
	letters := func(col int) string { return columnName(col + 1) }
	limits := Limits{MaxRecordBytes: 64, MaxFields: 3, MaxDepth: 3}
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"empty name", []string{"a", "", "c"}, "column C has no name"},
		{"duplicate", []string{"a", "a"}, `columns B and C have the same name "a"`},
		{"clash", []string{"a", "a.b"}, `columns B ("a") and C ("a.b") use "a" both as a value and as a group`},
		{"depth", []string{"a.b.c.d"}, `the name of column B ("a.b.c.d") nests 4 objects deep, more than the limit of 3`},
		{"width", []string{"a", "b", "c", "d"}, "the header has 4 columns, more than the limit of 3"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newLabeledObjectBuilder(tt.header, limits, letters)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestQuotedName checks that the length limit counts characters, not bytes.
func TestQuotedName(t *testing.T) {
	assert.Equal(t, `"`+strings.Repeat("ã", 40)+`"`, quotedName(strings.Repeat("ã", 40)))
	assert.Empty(t, quotedName(strings.Repeat("ã", 41)))
}
