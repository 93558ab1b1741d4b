package importtest

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FileFormat is the layout of a generated lead file, named by its usual
// file name extension.
type FileFormat string

// File formats of GenerateLeadsAs.
const (
	// JSONArray is the layout of GenerateLeads: "[\n{...},\n{...}\n]\n".
	JSONArray FileFormat = "json"
	// NDJSON is one JSON object per line, each line ending in "\n".
	NDJSON FileFormat = "ndjson"
	// CSV has a header row of column names and one row per lead, with "\n"
	// line ends and RFC 4180 quoting (encoding/csv).
	CSV FileFormat = "csv"
	// XLSX is a workbook with one sheet named Leads: a header row of column
	// names, then one row per lead.
	XLSX FileFormat = "xlsx"
)

// FileFormats lists every FileFormat.
var FileFormats = []FileFormat{JSONArray, NDJSON, CSV, XLSX}

// Extension returns the file name extension of the format, with its dot.
func (f FileFormat) Extension() string {
	return "." + string(f)
}

// AllColumns names every field of a Lead, in the order GenerateLeads writes
// them. A dotted name is a field of leadContextJson, which the JSON formats
// write as a nested object and CSV and XLSX headers write as is.
var AllColumns = []string{
	"name", "email", "phoneNumber", "document", "company", "city", "state", "origin", "campaign", "createdAt",
	"leadContextJson.budget", "leadContextJson.interest", "leadContextJson.optIn", "leadContextJson.tags",
}

// CompactColumns leaves out document, company, campaign, createdAt and
// tags, which brings a record from about 365 to about 230 bytes of JSON.
var CompactColumns = []string{
	"name", "email", "phoneNumber", "city", "state", "origin",
	"leadContextJson.budget", "leadContextJson.interest", "leadContextJson.optIn",
}

// FileOptions controls GenerateLeadsAs. The zero value writes every column,
// with commas in CSV and shared strings in XLSX.
type FileOptions struct {
	GenerateOptions
	// Columns selects the fields and their order, by the names of
	// AllColumns. Nil means AllColumns. The JSON formats keep the columns
	// of leadContextJson together, at the place of the first one.
	Columns []string
	// Delimiter separates CSV fields. 0 means a comma.
	Delimiter rune
	// InlineStrings puts the text in each XLSX cell (t="inlineStr") instead
	// of in the shared strings table that Excel writes.
	InlineStrings bool
	// TempDir holds the shared strings of an XLSX file until the sheet is
	// written. Empty means os.TempDir(), or the folder of the output file
	// for GenerateLeadsFileAs.
	TempDir string
}

// GenerateLeadsAs writes n leads to w in the given format and returns the
// number of bytes written. The leads are those of GenerateLeads with the
// same GenerateOptions, and with AllColumns a JSONArray file is
// byte-identical to GenerateLeads output.
//
// Leads are generated and written one at a time, so memory does not grow
// with n, except for the XLSX shared strings table. That table shares the
// text of the columns that repeat (names, cities, campaigns...) through a
// map, and gives every email, document and phone number its own entry,
// since those are unique or nearly so. The entries are kept in a temporary
// file in TempDir until the sheet is written.
func GenerateLeadsAs(w io.Writer, format FileFormat, n int, opts FileOptions) (int64, error) {
	columns, err := validateFileArgs(format, n, &opts)
	if err != nil {
		return 0, err
	}

	counter := &countingWriter{w: w}
	out := bufio.NewWriterSize(counter, writeBufferSize)
	generator := newLeadGenerator(opts.GenerateOptions)

	switch format {
	case JSONArray, NDJSON:
		err = writeJSONLeads(out, generator, n, columns, format == NDJSON)
	case CSV:
		err = writeCSVLeads(out, generator, n, columns, opts.Delimiter)
	case XLSX:
		err = writeXLSXLeads(out, generator, n, columns, opts)
	}

	if err == nil {
		err = out.Flush()
	}

	if err != nil {
		return counter.n, fmt.Errorf("generating %d leads as %s: %w", n, format, err)
	}

	return counter.n, nil
}

// GenerateLeadsFileAs writes GenerateLeadsAs output to path, creating or
// truncating the file. If generation fails it removes the partial file.
func GenerateLeadsFileAs(path string, format FileFormat, n int, opts FileOptions) error {
	if opts.TempDir == "" {
		opts.TempDir = filepath.Dir(path)
	}

	if _, err := validateFileArgs(format, n, &opts); err != nil {
		return err
	}

	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating lead file %s: %w", path, err)
	}

	_, generateErr := GenerateLeadsAs(file, format, n, opts)
	closeErr := file.Close()
	if generateErr == nil && closeErr == nil {
		return nil
	}

	err = errors.Join(generateErr, closeErr)
	if removeErr := os.Remove(path); removeErr != nil {
		err = errors.Join(err, fmt.Errorf("removing partial lead file: %w", removeErr))
	}

	return fmt.Errorf("generating lead file %s: %w", path, err)
}

// validateFileArgs checks the arguments, sets the default delimiter and
// returns the selected columns.
func validateFileArgs(format FileFormat, n int, opts *FileOptions) ([]*leadColumn, error) {
	if err := validateGenerateArgs(n, opts.GenerateOptions); err != nil {
		return nil, err
	}

	switch format {
	case JSONArray, NDJSON, CSV, XLSX:
	default:
		return nil, fmt.Errorf("generating leads: unknown file format %q: use json, ndjson, csv or xlsx", format)
	}

	if opts.Delimiter == 0 {
		opts.Delimiter = ','
	}

	if opts.Delimiter == '"' || opts.Delimiter == '\r' || opts.Delimiter == '\n' || !utf8.ValidRune(opts.Delimiter) || opts.Delimiter == utf8.RuneError {
		return nil, fmt.Errorf("generating leads: invalid CSV delimiter %q: use a comma, a semicolon, a tab or |", opts.Delimiter)
	}

	return selectColumns(opts.Columns)
}

// selectColumns returns the columns of names, AllColumns when names is nil.
func selectColumns(names []string) ([]*leadColumn, error) {
	if names == nil {
		names = AllColumns
	}

	if len(names) == 0 {
		return nil, errors.New("generating leads: no columns selected: pass nil for every column, or names from AllColumns")
	}

	columns := make([]*leadColumn, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		column, ok := leadColumns[name]
		if !ok {
			return nil, fmt.Errorf("generating leads: unknown column %q: use names from AllColumns", name)
		}

		if seen[name] {
			return nil, fmt.Errorf("generating leads: column %q is selected twice", name)
		}

		seen[name] = true
		columns = append(columns, column)
	}

	return columns, nil
}

// valueKind is the type of a column's values, which decides how each
// format writes them.
type valueKind int

const (
	textValue valueKind = iota
	numberValue
	boolValue
	timeValue
	listValue
)

// cellValue is the value of one column of one lead. Only the field of its
// kind is set.
type cellValue struct {
	kind   valueKind
	text   string
	number float64
	flag   bool
	time   time.Time
	list   []string
}

// empty reports whether the value is left out of the record: an empty
// text (an omitted optional field) in every format, and an empty list in
// CSV and XLSX, where it would be an empty cell.
func (v cellValue) empty() bool {
	switch v.kind {
	case textValue:
		return v.text == ""
	case listValue:
		return len(v.list) == 0
	default:
		return false
	}
}

// leadColumn is one field of a Lead as a column of a file.
type leadColumn struct {
	// name is the header name, such as "leadContextJson.budget".
	name string
	// group is the JSON object that holds the field ("leadContextJson"),
	// empty for a field of the record itself, and key is the field's name
	// in that object.
	group string
	key   string
	// unique marks columns whose values rarely or never repeat within a
	// file, which the XLSX shared strings table does not try to share.
	unique bool
	value  func(*Lead) cellValue
}

func text(s string) cellValue { return cellValue{kind: textValue, text: s} }

// leadColumns maps the names of AllColumns to their columns.
var leadColumns = map[string]*leadColumn{
	"name":        {name: "name", key: "name", value: func(l *Lead) cellValue { return text(l.Name) }},
	"email":       {name: "email", key: "email", unique: true, value: func(l *Lead) cellValue { return text(l.Email) }},
	"phoneNumber": {name: "phoneNumber", key: "phoneNumber", unique: true, value: func(l *Lead) cellValue { return text(l.PhoneNumber) }},
	"document":    {name: "document", key: "document", unique: true, value: func(l *Lead) cellValue { return text(l.Document) }},
	"company":     {name: "company", key: "company", value: func(l *Lead) cellValue { return text(l.Company) }},
	"city":        {name: "city", key: "city", value: func(l *Lead) cellValue { return text(l.City) }},
	"state":       {name: "state", key: "state", value: func(l *Lead) cellValue { return text(l.State) }},
	"origin":      {name: "origin", key: "origin", value: func(l *Lead) cellValue { return text(l.Origin) }},
	"campaign":    {name: "campaign", key: "campaign", value: func(l *Lead) cellValue { return text(l.Campaign) }},
	"createdAt": {name: "createdAt", key: "createdAt", value: func(l *Lead) cellValue {
		return cellValue{kind: timeValue, time: l.CreatedAt}
	}},
	"leadContextJson.budget": {name: "leadContextJson.budget", group: "leadContextJson", key: "budget", value: func(l *Lead) cellValue {
		return cellValue{kind: numberValue, number: l.LeadContext.Budget}
	}},
	"leadContextJson.interest": {name: "leadContextJson.interest", group: "leadContextJson", key: "interest", value: func(l *Lead) cellValue {
		return text(l.LeadContext.Interest)
	}},
	"leadContextJson.optIn": {name: "leadContextJson.optIn", group: "leadContextJson", key: "optIn", value: func(l *Lead) cellValue {
		return cellValue{kind: boolValue, flag: l.LeadContext.OptIn}
	}},
	"leadContextJson.tags": {name: "leadContextJson.tags", group: "leadContextJson", key: "tags", value: func(l *Lead) cellValue {
		return cellValue{kind: listValue, list: l.LeadContext.Tags}
	}},
}

// cellText returns the value as CSV writes it: numbers in plain notation,
// booleans as true or false, times in RFC 3339 and a list as its items
// joined by ", ".
func cellText(v cellValue) string {
	switch v.kind {
	case numberValue:
		return strconv.FormatFloat(v.number, 'f', -1, 64)
	case boolValue:
		return strconv.FormatBool(v.flag)
	case timeValue:
		return v.time.Format(time.RFC3339)
	case listValue:
		return strings.Join(v.list, ", ")
	default:
		return v.text
	}
}

// jsonField is one field of a JSON record: a column, or a group of columns
// written as a nested object.
type jsonField struct {
	key     string
	column  *leadColumn
	members []*leadColumn
}

// jsonFields orders columns into the fields of a JSON record. A group is
// placed where its first column is.
func jsonFields(columns []*leadColumn) []jsonField {
	var fields []jsonField
	groups := map[string]int{}
	for _, c := range columns {
		if c.group == "" {
			fields = append(fields, jsonField{key: c.key, column: c})

			continue
		}

		i, ok := groups[c.group]
		if !ok {
			i = len(fields)
			groups[c.group] = i
			fields = append(fields, jsonField{key: c.group})
		}

		fields[i].members = append(fields[i].members, c)
	}

	return fields
}

// writeJSONLeads writes a JSON array in the layout of GenerateLeads, or
// NDJSON when ndjson is set.
func writeJSONLeads(out *bufio.Writer, generator *leadGenerator, n int, columns []*leadColumn, ndjson bool) error {
	fields := jsonFields(columns)
	if !ndjson {
		if _, err := out.WriteString("[\n"); err != nil {
			return err
		}
	}

	var record []byte
	for i := range n {
		record = record[:0]
		if i > 0 && !ndjson {
			record = append(record, ",\n"...)
		}

		record = appendJSONRecord(record, generator.next(i+1), fields)
		if ndjson {
			record = append(record, '\n')
		}

		if _, err := out.Write(record); err != nil {
			return fmt.Errorf("writing lead %d of %d: %w", i+1, n, err)
		}
	}

	if ndjson {
		return nil
	}

	closing := "]\n"
	if n > 0 {
		closing = "\n]\n"
	}

	_, err := out.WriteString(closing)

	return err
}

// appendJSONRecord appends the lead as a JSON object with the given fields.
// Empty texts are left out, as Lead's omitempty tags do. A group whose
// members are all left out is left out too.
func appendJSONRecord(dst []byte, lead *Lead, fields []jsonField) []byte {
	dst = append(dst, '{')
	first := true
	for _, f := range fields {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}

		dst = appendJSONString(dst, f.key)
		dst = append(dst, ':')

		var ok bool
		if f.column != nil {
			dst, ok = appendJSONValue(dst, f.column.value(lead))
		} else {
			dst, ok = appendJSONGroup(dst, lead, f.members)
		}

		if !ok {
			dst = dst[:mark]

			continue
		}

		first = false
	}

	return append(dst, '}')
}

func appendJSONGroup(dst []byte, lead *Lead, members []*leadColumn) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	first := true
	for _, c := range members {
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}

		dst = appendJSONString(dst, c.key)
		dst = append(dst, ':')

		var ok bool
		dst, ok = appendJSONValue(dst, c.value(lead))
		if !ok {
			dst = dst[:mark]

			continue
		}

		first = false
	}

	if first {
		return dst[:start], false
	}

	return append(dst, '}'), true
}

// appendJSONValue appends v as encoding/json marshals the Lead field it
// comes from, and reports false for an empty text, which is left out. An
// empty list is written as [].
func appendJSONValue(dst []byte, v cellValue) ([]byte, bool) {
	switch v.kind {
	case numberValue:
		// encoding/json writes floats below 1e21 in this form, and budgets
		// stay far below that.
		return strconv.AppendFloat(dst, v.number, 'f', -1, 64), true
	case boolValue:
		return strconv.AppendBool(dst, v.flag), true
	case timeValue:
		dst = append(dst, '"')
		dst = v.time.AppendFormat(dst, time.RFC3339Nano)

		return append(dst, '"'), true
	case listValue:
		dst = append(dst, '[')
		for i, item := range v.list {
			if i > 0 {
				dst = append(dst, ',')
			}

			dst = appendJSONString(dst, item)
		}

		return append(dst, ']'), true
	default:
		if v.text == "" {
			return dst, false
		}

		return appendJSONString(dst, v.text), true
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does with SetEscapeHTML(false) since Go 1.22: \b, \f, \n, \r and \t by
// name, other control characters, U+2028 and U+2029 as \u escapes, and
// invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++

				continue
			}

			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}

			i++
			start = i

			continue
		}

		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}

			start = i + size
		}

		i += size
	}

	dst = append(dst, s[start:]...)

	return append(dst, '"')
}

// writeCSVLeads writes a header row of column names, then one row per lead
// with the values of cellText.
func writeCSVLeads(out *bufio.Writer, generator *leadGenerator, n int, columns []*leadColumn, delimiter rune) error {
	// csv.NewWriter uses out as its buffer, because out is a *bufio.Writer
	// of more than 4 KiB.
	writer := csv.NewWriter(out)
	writer.Comma = delimiter

	row := make([]string, len(columns))
	for i, c := range columns {
		row[i] = c.name
	}

	if err := writer.Write(row); err != nil {
		return fmt.Errorf("writing the CSV header: %w", err)
	}

	for i := range n {
		lead := generator.next(i + 1)
		for j, c := range columns {
			row[j] = cellText(c.value(lead))
		}

		if err := writer.Write(row); err != nil {
			return fmt.Errorf("writing lead %d of %d: %w", i+1, n, err)
		}
	}

	writer.Flush()

	return writer.Error()
}

// XLSX parts that never change. The style with index 1 shows a date and
// time, so createdAt reads as a date in Excel and in the records reader.
const (
	xlsxContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
		`%s</Types>`
	xlsxSharedStringsType = `<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`

	xlsxPackageRelationships = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
		`</Relationships>`

	xlsxWorkbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>`

	xlsxWorkbookRelationships = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
		`%s</Relationships>`
	xlsxSharedStringsRelationship = `<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>`

	xlsxStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>` +
		`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>` +
		`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
		`</styleSheet>`

	xlsxSheetStart = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`
	xlsxSharedStringsStart = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`
)

// excelEpoch is the day that Excel's 1900 date system counts serials from,
// for dates from 1900-03-01 on.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// writeXLSXLeads writes a workbook with deflated parts. The sheet comes
// before the shared strings it refers to, so that the strings can be copied
// from the temporary file once the sheet is done. Readers find parts
// through the ZIP directory, so the order does not matter to them.
func writeXLSXLeads(out *bufio.Writer, generator *leadGenerator, n int, columns []*leadColumn, opts FileOptions) error {
	archive := zip.NewWriter(out)

	var sharedStrings *sharedStringTable
	typeOverride, relationship := "", ""
	if !opts.InlineStrings {
		table, err := newSharedStringTable(opts.TempDir)
		if err != nil {
			return err
		}
		defer table.close()

		sharedStrings = table
		typeOverride, relationship = xlsxSharedStringsType, xlsxSharedStringsRelationship
	}

	fixedParts := []struct{ name, content string }{
		{"[Content_Types].xml", fmt.Sprintf(xlsxContentTypes, typeOverride)},
		{"_rels/.rels", xlsxPackageRelationships},
		{"xl/workbook.xml", xlsxWorkbook},
		{"xl/_rels/workbook.xml.rels", fmt.Sprintf(xlsxWorkbookRelationships, relationship)},
		{"xl/styles.xml", xlsxStyles},
	}
	for _, part := range fixedParts {
		if err := writeZipEntry(archive, part.name, strings.NewReader(part.content)); err != nil {
			return err
		}
	}

	sheet, err := archive.CreateHeader(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate, Modified: createdAtEnd})
	if err != nil {
		return fmt.Errorf("adding the sheet to the workbook: %w", err)
	}

	if err := writeXLSXSheet(sheet, generator, n, columns, sharedStrings); err != nil {
		return err
	}

	if sharedStrings != nil {
		if err := sharedStrings.writeTo(archive); err != nil {
			return err
		}
	}

	return archive.Close()
}

// writeZipEntry adds a deflated entry. Its modification time is fixed, so
// that equal options give byte-identical files.
func writeZipEntry(archive *zip.Writer, name string, content io.Reader) error {
	entry, err := archive.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: createdAtEnd})
	if err != nil {
		return fmt.Errorf("adding %s to the workbook: %w", name, err)
	}

	if _, err := io.Copy(entry, content); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}

	return nil
}

// writeXLSXSheet writes the sheet XML: the header row, then a row per lead
// from row 2. Empty values get no cell, as in files saved by Excel.
func writeXLSXSheet(sheet io.Writer, generator *leadGenerator, n int, columns []*leadColumn, sharedStrings *sharedStringTable) error {
	refs := make([]string, len(columns))
	for i := range columns {
		refs[i] = columnLetters(i)
	}

	buf := append([]byte(nil), xlsxSheetStart...)
	buf = fmt.Appendf(buf, `<dimension ref="A1:%s%d"/><sheetData>`, refs[len(refs)-1], n+1)

	buf = append(buf, `<row r="1">`...)
	for i, c := range columns {
		buf = appendTextCell(buf, refs[i], 1, c.name, false, sharedStrings)
	}

	buf = append(buf, `</row>`...)

	for i := range n {
		if len(buf) >= writeBufferSize {
			if _, err := sheet.Write(buf); err != nil {
				return fmt.Errorf("writing the sheet at lead %d of %d: %w", i+1, n, err)
			}

			buf = buf[:0]
		}

		row := i + 2
		buf = append(buf, `<row r="`...)
		buf = strconv.AppendInt(buf, int64(row), 10)
		buf = append(buf, `">`...)

		lead := generator.next(i + 1)
		for j, c := range columns {
			buf = appendCell(buf, refs[j], row, c, c.value(lead), sharedStrings)
		}

		buf = append(buf, `</row>`...)
	}

	buf = append(buf, `</sheetData></worksheet>`...)
	if _, err := sheet.Write(buf); err != nil {
		return fmt.Errorf("writing the end of the sheet: %w", err)
	}

	return sharedStrings.err()
}

// appendCell appends the <c> element of one value, or nothing for an empty
// one. Numbers and booleans are typed cells, and times are date serials
// with the date and time style.
func appendCell(dst []byte, column string, row int, c *leadColumn, v cellValue, sharedStrings *sharedStringTable) []byte {
	if v.empty() {
		return dst
	}

	switch v.kind {
	case numberValue:
		dst = appendCellStart(dst, column, row, "")
		dst = strconv.AppendFloat(dst, v.number, 'f', -1, 64)
	case boolValue:
		dst = appendCellStart(dst, column, row, ` t="b"`)
		dst = append(dst, "01"[boolIndex(v.flag)])
	case timeValue:
		dst = appendCellStart(dst, column, row, ` s="1"`)
		days := float64(v.time.Unix()-excelEpoch.Unix()) / (24 * 60 * 60)
		dst = strconv.AppendFloat(dst, days, 'f', -1, 64)
	default:
		return appendTextCell(dst, column, row, cellText(v), c.unique, sharedStrings)
	}

	return append(dst, `</v></c>`...)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}

	return 0
}

// appendCellStart appends `<c r="B7"` with the given attributes, and the
// opening <v> tag.
func appendCellStart(dst []byte, column string, row int, attributes string) []byte {
	dst = append(dst, `<c r="`...)
	dst = append(dst, column...)
	dst = strconv.AppendInt(dst, int64(row), 10)
	dst = append(dst, '"')
	dst = append(dst, attributes...)

	return append(dst, `><v>`...)
}

// appendTextCell appends a text cell: a reference to the shared strings
// table, or an inline string when the table is nil.
func appendTextCell(dst []byte, column string, row int, s string, unique bool, sharedStrings *sharedStringTable) []byte {
	if sharedStrings == nil {
		dst = append(dst, `<c r="`...)
		dst = append(dst, column...)
		dst = strconv.AppendInt(dst, int64(row), 10)
		dst = append(dst, `" t="inlineStr"><is>`...)
		dst = appendXMLText(dst, s)

		return append(dst, `</is></c>`...)
	}

	dst = appendCellStart(dst, column, row, ` t="s"`)
	dst = strconv.AppendInt(dst, int64(sharedStrings.index(s, unique)), 10)

	return append(dst, `</v></c>`...)
}

// appendXMLText appends s as a <t> element. Leading or trailing spaces need
// xml:space="preserve", or readers may trim them.
func appendXMLText(dst []byte, s string) []byte {
	if strings.TrimSpace(s) != s {
		dst = append(dst, `<t xml:space="preserve">`...)
	} else {
		dst = append(dst, `<t>`...)
	}

	dst = appendXMLEscaped(dst, s)

	return append(dst, `</t>`...)
}

// appendXMLEscaped appends s with &, <, > and CR replaced by entities.
//
// NOTE: characters that XML 1.0 does not allow at all (control characters
// other than tab, LF and CR) are written unchanged, which makes the part
// invalid. The generator's tables contain none.
func appendXMLEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var entity string
		switch s[i] {
		case '&':
			entity = "&amp;"
		case '<':
			entity = "&lt;"
		case '>':
			entity = "&gt;"
		case '\r':
			// A literal CR would be read back as LF.
			entity = "&#13;"
		default:
			continue
		}

		dst = append(dst, s[start:i]...)
		dst = append(dst, entity...)
		start = i + 1
	}

	return append(dst, s[start:]...)
}

// columnLetters returns the column name of the 0-based index: A to Z, then
// AA, AB and so on.
func columnLetters(index int) string {
	var letters []byte
	for index >= 0 {
		letters = append([]byte{byte('A' + index%26)}, letters...)
		index = index/26 - 1
	}

	return string(letters)
}

// sharedStringTable numbers the texts of an XLSX file in the order the
// sheet first uses them, and writes each new entry to a temporary file at
// once, so the table is not held in memory. Only the map of shared texts
// is: about 170,000 distinct names and a few hundred other texts for a
// million leads.
type sharedStringTable struct {
	shared  map[string]int
	entries int
	// references counts the cells that refer to the table.
	references int
	file       *os.File
	spill      *bufio.Writer
	scratch    []byte
	writeErr   error
}

func newSharedStringTable(dir string) (*sharedStringTable, error) {
	file, err := os.CreateTemp(dir, "shared-strings-*.xml")
	if err != nil {
		return nil, fmt.Errorf("creating the temporary shared strings file in %s: %w", dir, err)
	}

	return &sharedStringTable{shared: map[string]int{}, file: file, spill: bufio.NewWriterSize(file, writeBufferSize)}, nil
}

// index returns the entry of s, adding it unless it is shared already. A
// unique text always gets a new entry, which Excel would share when it
// repeats. Write errors are kept for err, so that the sheet can be written
// without checking each cell.
func (t *sharedStringTable) index(s string, unique bool) int {
	t.references++
	if !unique {
		if i, ok := t.shared[s]; ok {
			return i
		}

		t.shared[s] = t.entries
	}

	t.scratch = append(t.scratch[:0], `<si>`...)
	t.scratch = appendXMLText(t.scratch, s)
	t.scratch = append(t.scratch, `</si>`...)
	if _, err := t.spill.Write(t.scratch); err != nil && t.writeErr == nil {
		t.writeErr = fmt.Errorf("writing the temporary shared strings file: %w", err)
	}

	t.entries++

	return t.entries - 1
}

// err returns the first error of writing the temporary file. It accepts a
// nil table, which has none.
func (t *sharedStringTable) err() error {
	if t == nil {
		return nil
	}

	return t.writeErr
}

// writeTo adds xl/sharedStrings.xml to the archive, with the entries from
// the temporary file.
func (t *sharedStringTable) writeTo(archive *zip.Writer) error {
	if err := t.spill.Flush(); err != nil {
		return fmt.Errorf("writing the temporary shared strings file: %w", err)
	}

	if _, err := t.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading the temporary shared strings file: %w", err)
	}

	content := io.MultiReader(
		strings.NewReader(fmt.Sprintf(xlsxSharedStringsStart, t.references, t.entries)),
		t.file,
		strings.NewReader(`</sst>`),
	)

	return writeZipEntry(archive, "xl/sharedStrings.xml", content)
}

// close removes the temporary file.
func (t *sharedStringTable) close() {
	_ = t.file.Close()
	_ = os.Remove(t.file.Name())
}
