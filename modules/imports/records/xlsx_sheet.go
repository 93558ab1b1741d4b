package records

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The sheet size of Excel 2007 and later: columns A to XFD and 1,048,576
// rows.
const (
	xlsxMaxColumns = 16384
	xlsxMaxRows    = 1 << 20
)

// xlsxReader streams the rows of one sheet. The header is the first row
// with a value, and the columns left of its first value are not part of
// the table.
type xlsxReader struct {
	part     *xmlPart
	strings  *sharedStrings
	styles   *styleTable
	date1904 bool
	limits   Limits
	sheet    string

	builder *objectBuilder
	// lead is the 0-based column of the header's first value, and width
	// the number of header columns from there.
	lead, width int

	inSheetData bool
	row         int // sheet row number of the current row
	records     int // records returned so far
	err         error

	// The current row: the text of all its cells, and for each column
	// (counted from lead) the span of its text.
	text  []byte
	spans []cellSpan
	used  int // spans[:used] may be set
	// stray is the first column outside the header with a value, -1 if
	// none, and oversize is set when the cells contain more text than a
	// record may.
	stray    int
	oversize bool

	value []byte // text of the current cell's <v> or <is>
	cells []string
}

type cellSpan struct {
	start, end int
}

// Next returns the record of the next row that has a value.
func (r *xlsxReader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}

	for {
		ok, err := r.readRow()
		if err != nil {
			r.err = r.sheetError(err)

			return Record{}, r.err
		}

		if !ok {
			r.err = io.EOF
			if r.builder == nil {
				r.err = &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
					"the sheet %q has no cells with values; add a header row, or choose another sheet with the field \"sheet\"", r.sheet)}
			}

			return Record{}, r.err
		}

		if r.used == 0 && r.stray < 0 {
			continue
		}

		if r.builder == nil {
			if err := r.readHeader(); err != nil {
				r.err = err

				return Record{}, err
			}

			continue
		}

		rec := r.record()
		r.records++

		return rec, nil
	}
}

// Close releases the sheet part and removes the shared strings file.
func (r *xlsxReader) Close() error {
	var err error
	if r.part != nil {
		r.part.close()
		r.part = nil
	}

	if r.strings != nil {
		err = r.strings.close()
		r.strings = nil
	}

	if r.err == nil {
		r.err = errors.New("the XLSX reader is closed")
	}

	return err
}

// sheetError turns an error met while reading rows into a *FileError that
// names the row.
func (r *xlsxReader) sheetError(err error) error {
	var pe *partError
	if !errors.As(err, &pe) {
		return err
	}

	// Before the header no record is being read.
	record := r.records
	if r.builder == nil {
		record = -1
	}

	return &FileError{Record: record, Line: r.row, Offset: -1, Reason: pe.reason}
}

// readRow reads the cells of the next <row> element. It returns false at
// the end of the sheet data. Rows without values leave used at 0.
func (r *xlsxReader) readRow() (bool, error) {
	clear(r.spans[:r.used])
	r.used, r.stray, r.oversize = 0, -1, false
	r.text = r.text[:0]

	for {
		tok, err := r.part.token()
		if err == io.EOF {
			return false, nil
		}

		if err != nil {
			return false, err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			switch {
			case tok.Name.Local == "sheetData":
				r.inSheetData = true
			case !r.inSheetData:
				// The worksheet element and the parts before sheetData.
			case tok.Name.Local == "row":
				r.row = rowNumber(tok, r.row)

				return true, r.readCells()
			default:
				if err := r.part.skip(); err != nil {
					return false, err
				}
			}
		case xml.EndElement:
			// Nothing after the sheet data matters.
			if tok.Name.Local == "sheetData" {
				return false, nil
			}
		}
	}
}

// rowNumber returns the r attribute of a row, or the row after previous
// when it is missing or out of range.
func rowNumber(el xml.StartElement, previous int) int {
	n, ok := parseDecimal(attr(el, "r"))
	if !ok || n < 1 || n > xlsxMaxRows {
		return previous + 1
	}

	return n
}

// readCells reads the cells of a row up to its end tag.
func (r *xlsxReader) readCells() error {
	column := -1
	for {
		tok, err := r.part.token()
		if err != nil {
			return err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local != "c" {
				if err := r.part.skip(); err != nil {
					return err
				}

				continue
			}

			column, err = r.readCell(tok, column)
			if err != nil {
				return err
			}
		case xml.EndElement:
			if tok.Name.Local == "row" {
				return nil
			}
		}
	}
}

// readHeader makes the current row the header.
func (r *xlsxReader) readHeader() error {
	lead := 0
	for lead < r.used && r.spans[lead].start == r.spans[lead].end {
		lead++
	}

	names := r.rowCells()[lead:]
	if r.oversize {
		return &FileError{Record: -1, Line: r.row, Offset: -1, Reason: fmt.Sprintf(
			"the header row contains more than %s bytes of text; the first row with values must name the columns, so check that the sheet starts with the header", groupDigits(int64(r.limits.MaxRecordBytes)))}
	}

	if err := checkHeaderNames(names, lead); err != nil {
		return &FileError{Record: -1, Line: r.row, Offset: -1, Reason: err.Error()}
	}

	builder, err := newLabeledObjectBuilder(names, r.limits, func(i int) string { return columnName(lead + i) })
	if err != nil {
		return &FileError{Record: -1, Line: r.row, Offset: -1, Reason: err.Error()}
	}

	// Spans are now counted from the header's first column.
	r.builder, r.lead, r.width = builder, lead, builder.width

	return nil
}

// checkHeaderNames rejects empty and repeated names, like newObjectBuilder
// does, but names the columns by their letters.
func checkHeaderNames(names []string, lead int) error {
	width := 0
	for i, name := range names {
		if strings.TrimSpace(name) != "" {
			width = i + 1
		}
	}

	seen := make(map[string]int, width)
	for i, name := range names[:width] {
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("the header has no name in column %s; give every column between %s and %s a name",
				columnName(lead+i), columnName(lead), columnName(lead+width-1))
		}

		if first, ok := seen[name]; ok {
			return fmt.Errorf("the column name %q is used in columns %s and %s; make header names unique",
				name, columnName(lead+first), columnName(lead+i))
		}

		seen[name] = i
	}

	return nil
}

// record builds the record of the current row.
func (r *xlsxReader) record() Record {
	rec := Record{Line: r.row, Offset: -1}
	if r.oversize {
		rec.Invalid = fmt.Sprintf("the row's cells contain more than %s bytes of text, the limit for a record; shorten the values",
			groupDigits(int64(r.limits.MaxRecordBytes)))

		return rec
	}

	rec.Payload, rec.Invalid = r.builder.build(r.rowCells())
	if rec.Invalid != "" || r.stray < 0 {
		return rec
	}

	// The payload of the cells under the header is kept, so the stored
	// error shows which row it was.
	if r.stray < r.lead {
		rec.Invalid = fmt.Sprintf("the row has a value in column %s, left of the header, which starts at column %s; name that column in the header row or remove the value",
			columnName(r.stray), columnName(r.lead))
	} else {
		rec.Invalid = fmt.Sprintf("the row has a value in column %s, but the header ends at column %s; name that column in the header row or remove the value",
			columnName(r.stray), columnName(r.lead+r.width-1))
	}

	return rec
}

// rowCells returns the cells of the current row as strings, which share
// one allocation.
func (r *xlsxReader) rowCells() []string {
	text := string(r.text)
	r.cells = r.cells[:0]
	for _, s := range r.spans[:r.used] {
		r.cells = append(r.cells, text[s.start:s.end])
	}

	return r.cells
}
