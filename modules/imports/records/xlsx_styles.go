package records

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on the style table, far above what real workbooks define, so they
// only stop damaged or hostile files.
const (
	xlsxMaxCellFormats   = 1 << 20
	xlsxMaxNumberFormats = 1 << 12
)

// builtinNumberFormats are the codes of the numFmtIds that styles.xml may
// use without defining, from ECMA-376 Part 1, 18.8.30. Ids 5 to 8 and 41
// to 44 are currencies whose symbol depends on the locale; the symbol does
// not matter here.
var builtinNumberFormats = map[int]string{
	0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
	5: "#,##0_);(#,##0)", 6: "#,##0_);[Red](#,##0)", 7: "#,##0.00_);(#,##0.00)", 8: "#,##0.00_);[Red](#,##0.00)",
	9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
	14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
	18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
	37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
	41: `_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)`, 42: `_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)`,
	43: `_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)`, 44: `_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)`,
	45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}

// isLocaleDateFormat reports whether a built-in id is one of the East
// Asian date formats (27-36, 50-58), whose codes depend on the locale.
// They are read as dates without a time of day.
func isLocaleDateFormat(id int) bool {
	return id >= 27 && id <= 36 || id >= 50 && id <= 58
}

// cellFormat is the part of a number format that the reader uses: whether
// it shows a date or time, and otherwise the decimals of each section.
type cellFormat struct {
	// date is true for dates and times. hasDate and hasTime mark the parts
	// the format shows, and elapsed marks a duration such as "[h]:mm".
	date, hasDate, hasTime, elapsed bool
	// sections are the formats for positive numbers, negative numbers and
	// zero, as far as the code gives them.
	sections  [3]decimalFormat
	nsections int
}

// decimalFormat is one section of a number format. fixed is false for
// General, text, scientific and fraction formats, which are all written
// with up to 15 significant digits.
type decimalFormat struct {
	fixed bool
	// minInt is the number of integer digits, padded with zeros ("00000"
	// keeps the leading zero of a ZIP code).
	minInt int
	// minDec and maxDec are the decimals shown always ("0") and when not
	// zero ("#", "?").
	minDec, maxDec int
	// percent is the number of '%' signs: each multiplies by 100.
	percent int
}

// section returns the format section that applies to v.
func (f *cellFormat) section(v float64) *decimalFormat {
	s := &f.sections[0]
	switch {
	case v < 0 && f.nsections >= 2:
		s = &f.sections[1]
	case v == 0 && f.nsections >= 3:
		s = &f.sections[2]
	}

	// A section without digits ("-" for zero in accounting formats) shows
	// the number in the first section's style.
	if !s.fixed {
		return &f.sections[0]
	}

	return s
}

// parseNumberFormat reads a format code. Quoted text, escaped characters
// (\x), padding (_x), fill (*x) and bracketed parts other than elapsed
// time ([Red], [$-409], [>100]) are literals and never make a format a
// date, so "0.00", "[Red]0" and `0 "days"` stay numbers.
func parseNumberFormat(code string) cellFormat {
	var f cellFormat
	for i, section := range splitFormatSections(code) {
		tokens, ok := formatTokens(section)
		if i == 0 {
			f.classifyDate(tokens)
		}

		if i < len(f.sections) {
			if ok {
				f.sections[i] = decimalsOf(tokens)
			}

			f.nsections = i + 1
		}
	}

	return f
}

// splitFormatSections splits a code at the semicolons that separate its
// sections.
func splitFormatSections(code string) []string {
	var sections []string
	start := 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '\\', '_', '*':
			i++
		case '[':
			if j := strings.IndexByte(code[i:], ']'); j >= 0 {
				i += j
			}
		case ';':
			sections = append(sections, code[start:i])
			start = i + 1
		}
	}

	return append(sections, code[start:])
}

// formatTokens returns the characters of a section that are not
// literals, lower-cased, with an elapsed-time bracket such as "[hh]" kept
// as "[h]" and "AM/PM" or "A/P" as "@a". ok is false for sections that
// cannot be shown with fixed decimals: text ("@"), scientific ("E+") and
// fractions ("?/?").
func formatTokens(section string) (tokens []byte, ok bool) {
	ok = true
	for i := 0; i < len(section); i++ {
		c := section[i]
		switch c {
		case '"':
			if j := strings.IndexByte(section[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(section)
			}
		case '\\', '_', '*':
			// Skip the whole character that follows, which may be multi-byte.
			if i+1 < len(section) {
				_, size := utf8.DecodeRuneInString(section[i+1:])
				i += size
			}
		case '[':
			j := strings.IndexByte(section[i:], ']')
			if j < 0 {
				return tokens, ok
			}

			inner := strings.ToLower(section[i+1 : i+j])
			if inner != "" && strings.Trim(inner, inner[:1]) == "" && strings.Contains("hms", inner[:1]) {
				tokens = append(tokens, '[', inner[0], ']')
			}

			i += j
		case 'a', 'A':
			rest := strings.ToLower(section[i:])
			switch {
			case strings.HasPrefix(rest, "am/pm"):
				tokens = append(tokens, '@', 'a')
				i += 4
			case strings.HasPrefix(rest, "a/p"):
				tokens = append(tokens, '@', 'a')
				i += 2
			}
		case '@':
			ok = false
		case 'e', 'E':
			if i+1 < len(section) && (section[i+1] == '+' || section[i+1] == '-') {
				ok = false
			}
		case '/':
			ok = false
			tokens = append(tokens, c)
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}

			tokens = append(tokens, c)
		}
	}

	return tokens, ok
}

// classifyDate decides from the first section's tokens whether the format
// shows a date or a time. An "m" is minutes right after an hour or before
// seconds, and a month otherwise.
func (f *cellFormat) classifyDate(tokens []byte) {
	// General has the letters e, n, r, a, l, none of which is a date part.
	var parts []byte
	for i := 0; i < len(tokens); i++ {
		switch c := tokens[i]; c {
		case 'y', 'd', 'm', 'h', 's':
			if len(parts) == 0 || parts[len(parts)-1] != c || i == 0 || tokens[i-1] != c {
				parts = append(parts, c)
			}
		case '[':
			f.elapsed = true
			parts = append(parts, tokens[i+1])
			i += 2
		}
	}

	for i, c := range parts {
		switch c {
		case 'y', 'd':
			f.hasDate = true
		case 'h', 's':
			f.hasTime = true
		case 'm':
			minute := i > 0 && parts[i-1] == 'h' || i+1 < len(parts) && parts[i+1] == 's'
			if minute {
				f.hasTime = true
			} else {
				f.hasDate = true
			}
		}
	}

	f.date = f.hasDate || f.hasTime
}

// decimalsOf reads the digit placeholders of a number section.
func decimalsOf(tokens []byte) decimalFormat {
	var d decimalFormat
	point := false
	for _, c := range tokens {
		switch c {
		case '0', '#', '?':
			d.fixed = true
			switch {
			case !point && c == '0':
				d.minInt++
			case point:
				d.maxDec++
				if c == '0' {
					d.minDec++
				}
			}
		case '.':
			point = true
		case '%':
			d.percent++
		}
	}

	return d
}

// styleTable maps the style index of a cell (its s attribute) to its
// number format.
type styleTable struct {
	// formats contains the distinct formats in use. formats[0] is General.
	formats []cellFormat
	// cellFormats maps a style index to an index in formats.
	cellFormats []int32
}

// format returns the number format of style index s.
func (t *styleTable) format(s int) *cellFormat {
	if s < 0 || s >= len(t.cellFormats) {
		return &t.formats[0]
	}

	return &t.formats[t.cellFormats[s]]
}

// readStyles reads the number formats (numFmts) and the cell formats
// (cellXfs) of styles.xml. Everything else in it, fonts, fills and
// borders, is skipped.
func readStyles(part *xmlPart) (*styleTable, error) {
	t := newStyleTable()
	custom := map[int]string{}
	var xfIDs []int
	inNumFmts, inCellXfs := false, false
	for {
		tok, err := part.token()
		if err == io.EOF {
			break
		}

		if err != nil {
			return nil, err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "numFmts":
				inNumFmts = true
			case "numFmt":
				// Differential formats (dxf) have numFmt elements of their own.
				if !inNumFmts {
					break
				}

				if len(custom) >= xlsxMaxNumberFormats {
					return nil, &partError{reason: fmt.Sprintf(
						"the workbook defines more than %d number formats; the file may be damaged", xlsxMaxNumberFormats)}
				}

				if err := checkAttrLengths(tok, part.name); err != nil {
					return nil, err
				}

				if id, err := strconv.Atoi(attr(tok, "numFmtId")); err == nil {
					custom[id] = attr(tok, "formatCode")
				}
			case "cellXfs":
				inCellXfs = true
			case "xf":
				if !inCellXfs {
					break
				}

				if len(xfIDs) >= xlsxMaxCellFormats {
					return nil, &partError{reason: fmt.Sprintf(
						"the workbook defines more than %d cell formats; the file may be damaged", xlsxMaxCellFormats)}
				}

				// A missing or unreadable numFmtId is General.
				id, _ := strconv.Atoi(attr(tok, "numFmtId"))
				xfIDs = append(xfIDs, id)
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "cellXfs":
				inCellXfs = false
			case "numFmts":
				inNumFmts = false
			}
		}
	}

	t.cellFormats = make([]int32, len(xfIDs))
	byID := map[int]int32{0: 0}
	for i, id := range xfIDs {
		index, ok := byID[id]
		if !ok {
			index = int32(len(t.formats))
			t.formats = append(t.formats, numberFormatOf(id, custom))
			byID[id] = index
		}

		t.cellFormats[i] = index
	}

	return t, nil
}

// newStyleTable returns a table in which every style is General, as for a
// workbook without styles.xml.
func newStyleTable() *styleTable {
	return &styleTable{formats: []cellFormat{parseNumberFormat("General")}}
}

// numberFormatOf returns the format of a numFmtId: a custom code when the
// workbook defines one, else the built-in.
func numberFormatOf(id int, custom map[int]string) cellFormat {
	if code, ok := custom[id]; ok {
		return parseNumberFormat(code)
	}

	if code, ok := builtinNumberFormats[id]; ok {
		return parseNumberFormat(code)
	}

	if isLocaleDateFormat(id) {
		return cellFormat{date: true, hasDate: true, nsections: 1}
	}

	return parseNumberFormat("General")
}
