package records

// Reading the cells of a row: their text by type and style, and where the
// text goes in the current row.

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// readCell reads one <c> element and stores its text. previous is the
// column of the cell before it in the row, which places a cell without a
// reference.
func (r *xlsxReader) readCell(el xml.StartElement, previous int) (int, error) {
	column := previous + 1
	var kind, style string
	for _, a := range el.Attr {
		switch a.Name.Local {
		case "r":
			c, ok := parseColumn(a.Value)
			if !ok {
				return column, &partError{reason: fmt.Sprintf(
					"the cell reference %.12q in row %d is not valid; the file is damaged, save it again as .xlsx", a.Value, r.row)}
			}

			column = c
		case "t":
			kind = a.Value
		case "s":
			style = a.Value
		}
	}

	if column >= xlsxMaxColumns {
		return column, &partError{reason: fmt.Sprintf(
			"row %d has a cell beyond column XFD, the last column of a sheet; the file is damaged", r.row)}
	}

	if err := r.readCellValue(); err != nil {
		return column, err
	}

	start := len(r.text)
	if err := r.appendCellText(kind, style); err != nil {
		return column, err
	}

	r.place(column, start)

	return column, nil
}

// readCellValue reads the children of a <c> element up to its end tag into
// r.value: the text of <v>, or of the <t> elements of an inline string
// <is>. Formulas and phonetic guides are skipped.
func (r *xlsxReader) readCellValue() error {
	r.value = r.value[:0]
	inText := false
	for {
		tok, err := r.part.token()
		if err != nil {
			return err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "v", "t":
				inText = true
			case "is", "r":
			default:
				if err := r.part.skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "v", "t":
				inText = false
			case "c":
				return nil
			}
		case xml.CharData:
			if inText && len(r.value) <= r.limits.MaxRecordBytes {
				r.value = append(r.value, tok...)
			}
		}
	}
}

// appendCellText appends the text of the current cell, of type kind (the
// t attribute) and style index style, to r.text.
func (r *xlsxReader) appendCellText(kind, style string) error {
	switch kind {
	case "s":
		v := bytes.TrimSpace(r.value)
		if len(v) == 0 {
			return nil
		}

		index, ok := parseDecimal(string(v))
		text, found, err := r.strings.appendString(r.text, index)
		if err != nil {
			return err
		}

		if !ok || !found {
			return &partError{reason: fmt.Sprintf(
				"a cell in row %d refers to shared string %.12q, but the workbook has %d; the file is damaged, save it again as .xlsx",
				r.row, v, r.strings.count)}
		}

		r.text = text
	case "b":
		switch string(bytes.TrimSpace(r.value)) {
		case "1", "true":
			r.text = append(r.text, "TRUE"...)
		case "0", "false":
			r.text = append(r.text, "FALSE"...)
		default:
			r.text = append(r.text, r.value...)
		}
	case "", "n":
		v := bytes.TrimSpace(r.value)
		if len(v) == 0 {
			return nil
		}

		index, _ := parseDecimal(style)
		r.text = appendCellNumber(r.text, string(v), r.styles.format(index), r.date1904)
	default:
		// Inline strings, formula strings, errors ("#DIV/0!") and ISO dates
		// (t="d") are written as they are.
		r.text = append(r.text, r.value...)
	}

	return nil
}

// place records the cell text that starts at start as the value of
// column, or drops it when the column is outside the header.
func (r *xlsxReader) place(column, start int) {
	if len(bytes.TrimSpace(r.text[start:])) == 0 {
		r.text = r.text[:start]

		return
	}

	if column < r.lead || r.builder != nil && column >= r.lead+r.width {
		if r.stray < 0 {
			r.stray = column
		}

		r.text = r.text[:start]

		return
	}

	if len(r.text) > r.limits.MaxRecordBytes {
		r.oversize = true
		r.text = r.text[:start]
	}

	i := column - r.lead
	for len(r.spans) <= i {
		r.spans = append(r.spans, cellSpan{})
	}

	r.spans[i] = cellSpan{start: start, end: len(r.text)}
	r.used = max(r.used, i+1)
}

// parseColumn returns the 0-based column of a cell reference such as
// "C3".
func parseColumn(ref string) (int, bool) {
	column, i := 0, 0
	for ; i < len(ref) && i < 4; i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}

		column = column*26 + int(c-'a') + 1
	}

	if i == 0 || i == 4 {
		return 0, false
	}

	return column - 1, true
}

// columnName returns the letters of a 0-based column: A, B, ..., AA, ...
func columnName(column int) string {
	var buf [4]byte
	i := len(buf)
	for n := column + 1; n > 0 && i > 0; n = (n - 1) / 26 {
		i--
		buf[i] = byte('A' + (n-1)%26)
	}

	return string(buf[i:])
}

// parseDecimal parses a non-negative decimal integer of up to 9 digits.
func parseDecimal(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}

	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}

		n = n*10 + int(s[i]-'0')
	}

	return n, true
}
