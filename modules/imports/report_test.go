package imports

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNeutralizeFormula(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"Ana":                      "Ana",
		"+55 (11) 99999-0000":      "+55 (11) 99999-0000",
		"-12.5":                    "-12.5",
		"=1+1":                     "'=1+1",
		"@SUM(A1:A2)":              "'@SUM(A1:A2)",
		"+HYPERLINK(\"http://x\")": "'+HYPERLINK(\"http://x\")",
		"-cmd|' /C calc'!A0":       "'-cmd|' /C calc'!A0",
		"\tleading tab":            "'\tleading tab",
		"a=b":                      "a=b",
	} {
		assert.Equal(t, want, neutralizeFormula(in), "input %q", in)
	}
}

func TestFlatten(t *testing.T) {
	out := map[string]string{}
	var order []string
	flatten("", json.RawMessage(`{"b":"x","a":{"c":1,"d":[1,2]},"n":null,"t":true}`), out, &order)

	assert.Equal(t, []string{"b", "a.c", "a.d", "n", "t"}, order)
	assert.Equal(t, map[string]string{"b": "x", "a.c": "1", "a.d": "[1,2]", "n": "", "t": "true"}, out)
}

func TestIsRedacted(t *testing.T) {
	assert.True(t, isRedacted(`{"masked":true,"sha256":"ab"}`))
	assert.True(t, isRedacted(`{"masked":true}`))
	assert.False(t, isRedacted(`{"masked":true,"name":"x"}`))
	assert.False(t, isRedacted(`{"masked":false}`))
	assert.False(t, isRedacted(`{"name":"x"}`))
}
