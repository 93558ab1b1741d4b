package config

import (
	"bytes"
	"errors"
)

// cleanJSON removes what the .NET JSON configuration provider tolerates but
// encoding/json rejects: a UTF-8 byte order mark (Visual Studio writes one),
// `//` and `/* */` comments, and trailing commas before `}` or `]`. Comments
// and commas become spaces, so the byte offsets of a later syntax error still
// match the file.
func cleanJSON(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	out := bytes.Clone(data)

	if err := blankComments(out); err != nil {
		return nil, err
	}
	blankTrailingCommas(out)
	return out, nil
}

// blankComments overwrites comments outside strings with spaces, keeping
// line breaks so that line numbers stay right.
func blankComments(b []byte) error {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}

		switch {
		case c == '"':
			inString = true
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				return errors.New("unterminated /* comment")
			}
			stop := i + 2 + end + 2
			for ; i < stop; i++ {
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
			i--
		}
	}
	return nil
}

// blankTrailingCommas overwrites a comma outside strings with a space when the
// next non-space byte closes an object or array. It runs after blankComments,
// so comments between the comma and the bracket are already spaces.
func blankTrailingCommas(b []byte) {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}

		switch c {
		case '"':
			inString = true
		case ',':
			j := i + 1
			for j < len(b) && isJSONSpace(b[j]) {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				b[i] = ' '
			}
		}
	}
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// lineAndColumn converts the offset of a json.SyntaxError, which counts the
// bytes read up to and including the offending one, into 1-based line and
// column numbers for error messages.
func lineAndColumn(data []byte, offset int64) (line, column int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:pos]
	line = bytes.Count(before, []byte("\n")) + 1
	column = pos - bytes.LastIndexByte(before, '\n')
	return line, column
}
