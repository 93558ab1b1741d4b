package records

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// An XLSX workbook is a ZIP archive of XML parts. The reader streams the
// chosen sheet's XML with encoding/xml, one row at a time, so memory does
// not grow with the sheet. Shared strings are loaded first (spilling to a
// temporary file when large), and the number formats of styles.xml decide
// which numbers are dates.
// Every part is checked against ZIP bomb bounds before and while it is
// decompressed.

// Bounds on what the reader keeps of the workbook part and its
// relationships, far above real workbooks (Excel writes sheet names of at
// most 31 characters), so that these parts cannot fill memory.
const (
	// xlsxMaxSheets bounds the sheets and the relationships of one part.
	xlsxMaxSheets = 1 << 12
	// xlsxMaxNameBytes bounds each attribute kept: sheet names,
	// relationship ids, types and targets, and number format codes.
	xlsxMaxNameBytes = 1 << 10
)

// newXLSXReader opens the sheet opts.Sheet (the first worksheet when
// empty) of the XLSX workbook f of the given size.
func newXLSXReader(f *os.File, size int64, opts Options) (Reader, error) {
	opts.Limits = opts.Limits.withDefaults()
	if err := checkZIPDirectory(f, size); err != nil {
		return nil, err
	}

	zr, err := zip.NewReader(f, size)
	// The reader only reads entries and never writes them to disk, so
	// names that would be unsafe as paths do no harm.
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, fmt.Errorf("reading the workbook: %w", err)
		}

		return nil, workbookError(notZIPReason(f))
	}

	pkg := newXLSXPackage(zr, opts.Limits)
	wb, err := readWorkbook(pkg)
	if err != nil {
		return nil, err
	}

	sheet, err := wb.selectSheet(opts.Sheet)
	if err != nil {
		return nil, err
	}

	r := &xlsxReader{
		sheet:    sheet.name,
		date1904: wb.date1904,
		limits:   opts.Limits,
		styles:   newStyleTable(),
		strings:  &sharedStrings{},
		stray:    -1,
	}

	if err := r.load(pkg, wb, sheet); err != nil {
		_ = r.Close()

		return nil, err
	}

	return r, nil
}

// load reads the styles and shared strings and opens the sheet's part.
func (r *xlsxReader) load(pkg *xlsxPackage, wb *workbook, sheet workbookSheet) error {
	if f := pkg.file(wb.stylesPart); f != nil {
		part, err := pkg.open(f)
		if err != nil {
			return err
		}

		styles, err := readStyles(part)
		part.close()
		if err != nil {
			return workbookError(err)
		}

		r.styles = styles
	}

	if f := pkg.file(wb.stringsPart); f != nil {
		part, err := pkg.open(f)
		if err != nil {
			return err
		}

		table, err := readSharedStrings(part, r.limits.MaxRecordBytes, f.UncompressedSize64)
		part.close()
		r.strings = table
		if err != nil {
			return workbookError(err)
		}
	}

	f := pkg.file(sheet.part)
	if f == nil {
		return workbookError(fmt.Errorf(
			"the sheet %q has no data part (%s) in the file; the file is damaged, save it again as .xlsx", sheet.name, sheet.part))
	}

	part, err := pkg.open(f)
	if err != nil {
		return err
	}

	r.part = part

	return nil
}

// workbookError turns a problem found before the first row into a
// *FileError. An I/O error that is not the file's fault stays as it is.
func workbookError(err error) error {
	var pe *partError
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &pe):
		return &FileError{Record: -1, Offset: -1, Reason: pe.reason}
	case errors.As(err, new(*fs.PathError)):
		return err
	default:
		return &FileError{Record: -1, Offset: -1, Reason: err.Error()}
	}
}

// notZIPReason describes what a file that is not a ZIP archive probably is.
func notZIPReason(f *os.File) error {
	head := make([]byte, 8)
	n, _ := f.ReadAt(head, 0)

	// OLE2 compound documents: Excel 97-2003 files, and also password
	// protected XLSX files, which Excel wraps in one.
	if bytes.Equal(head[:n], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		return errors.New("the file is an Excel 97-2003 workbook (.xls) or a password-protected workbook; save it as .xlsx without a password")
	}

	return errors.New("the file is not an XLSX workbook (it is not a ZIP archive or the archive is damaged); save it as .xlsx")
}

// workbook is the sheet list, date system and part names read from
// xl/workbook.xml and its relationships.
type workbook struct {
	date1904    bool
	sheets      []workbookSheet
	stylesPart  string
	stringsPart string
}

// workbookSheet is one sheet of the workbook, in tab order.
type workbookSheet struct {
	name string
	// part is the name of its XML part, and kind the type of that part
	// ("worksheet", "chartsheet", ...).
	part string
	kind string
}

// relationship is one entry of a .rels part.
type relationship struct {
	kind   string // the last segment of the Type URI, such as "worksheet"
	target string // the part name
}

// readWorkbook finds the workbook part, through the package relationships
// or at its usual name, and reads its sheets and date system.
func readWorkbook(pkg *xlsxPackage) (*workbook, error) {
	name := "xl/workbook.xml"
	rootRels, err := readRelationships(pkg, "_rels/.rels", "")
	if err != nil {
		return nil, workbookError(err)
	}

	for _, rel := range rootRels {
		if rel.kind == "officeDocument" && pkg.file(rel.target) != nil {
			name = rel.target
		}
	}

	f := pkg.file(name)
	if f == nil {
		return nil, workbookError(notWorkbookReason(pkg))
	}

	dir := path.Dir(name)
	rels, err := readRelationships(pkg, path.Join(dir, "_rels", path.Base(name)+".rels"), dir)
	if err != nil {
		return nil, workbookError(err)
	}

	wb := &workbook{
		stylesPart:  path.Join(dir, "styles.xml"),
		stringsPart: path.Join(dir, "sharedStrings.xml"),
	}

	for _, rel := range rels {
		switch rel.kind {
		case "styles":
			wb.stylesPart = rel.target
		case "sharedStrings":
			wb.stringsPart = rel.target
		}
	}

	part, err := pkg.open(f)
	if err != nil {
		return nil, err
	}

	defer part.close()
	if err := wb.read(part, rels); err != nil {
		return nil, workbookError(err)
	}

	return wb, nil
}

// read reads workbookPr and the sheet list of the workbook part.
func (wb *workbook) read(part *xmlPart, rels map[string]relationship) error {
	for {
		tok, err := part.token()
		if err == io.EOF {
			return nil
		}

		if err != nil {
			return err
		}

		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}

		switch el.Name.Local {
		case "workbookPr":
			// Only an element that has the attribute counts: extensions such
			// as x14:workbookPr carry other settings.
			for _, a := range el.Attr {
				if a.Name.Local == "date1904" {
					v := strings.TrimSpace(a.Value)
					wb.date1904 = v == "1" || strings.EqualFold(v, "true")
				}
			}
		case "sheet":
			if len(wb.sheets) >= xlsxMaxSheets {
				return fmt.Errorf("the workbook has more than %d sheets; the file may be damaged", xlsxMaxSheets)
			}

			if err := checkAttrLengths(el, part.name); err != nil {
				return err
			}

			// r:id is the only attribute named id, in the relationships
			// namespace.
			rel := rels[attr(el, "id")]
			wb.sheets = append(wb.sheets, workbookSheet{name: attr(el, "name"), part: rel.target, kind: rel.kind})
		}
	}
}

// readRelationships reads a .rels part, resolving targets against dir. A
// missing part has no relationships.
func readRelationships(pkg *xlsxPackage, name, dir string) (map[string]relationship, error) {
	f := pkg.file(name)
	if f == nil {
		return nil, nil
	}

	part, err := pkg.open(f)
	if err != nil {
		return nil, err
	}

	defer part.close()
	rels := map[string]relationship{}
	for {
		tok, err := part.token()
		if err == io.EOF {
			return rels, nil
		}

		if err != nil {
			return nil, err
		}

		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "Relationship" || attr(el, "TargetMode") == "External" {
			continue
		}

		if len(rels) >= xlsxMaxSheets {
			return nil, fmt.Errorf("the part %s has more than %d relationships; the file may be damaged", name, xlsxMaxSheets)
		}

		if err := checkAttrLengths(el, name); err != nil {
			return nil, err
		}

		kind := attr(el, "Type")
		rels[attr(el, "Id")] = relationship{
			kind:   kind[strings.LastIndexByte(kind, '/')+1:],
			target: resolvePart(dir, attr(el, "Target")),
		}
	}
}

// checkAttrLengths rejects an element the reader keeps when one of its
// attributes is longer than xlsxMaxNameBytes.
func checkAttrLengths(el xml.StartElement, part string) error {
	for _, a := range el.Attr {
		if len(a.Value) > xlsxMaxNameBytes {
			return fmt.Errorf("the workbook part %s has a %s attribute longer than %d bytes; the file may be damaged",
				part, a.Name.Local, xlsxMaxNameBytes)
		}
	}

	return nil
}

// notWorkbookReason describes a ZIP archive without a workbook part.
func notWorkbookReason(pkg *xlsxPackage) error {
	switch {
	case pkg.file("xl/workbook.bin") != nil:
		return errors.New("the file is an Excel binary workbook (.xlsb); save it as .xlsx")
	case pkg.file("content.xml") != nil && pkg.file("mimetype") != nil:
		return errors.New("the file is an OpenDocument spreadsheet (.ods); save it as .xlsx")
	default:
		return errors.New("the file is a ZIP archive but not an XLSX workbook (it has no xl/workbook.xml); save it as .xlsx")
	}
}

// selectSheet returns the sheet named name, matched exactly and then
// ignoring case, or the first worksheet when name is empty.
func (wb *workbook) selectSheet(name string) (workbookSheet, error) {
	if len(wb.sheets) == 0 {
		return workbookSheet{}, workbookError(errors.New("the workbook has no sheets; save it again with the data on a sheet"))
	}

	if name == "" {
		for _, s := range wb.sheets {
			if s.kind == "worksheet" {
				return s, nil
			}
		}

		return workbookSheet{}, workbookError(errors.New("the workbook has no worksheet with cells, only charts or macros; save the data on a worksheet"))
	}

	found := -1
	for i, s := range wb.sheets {
		if s.name == name {
			found = i

			break
		}
	}

	for i := 0; found < 0 && i < len(wb.sheets); i++ {
		if strings.EqualFold(wb.sheets[i].name, name) {
			found = i
		}
	}

	if found < 0 {
		return workbookSheet{}, workbookError(fmt.Errorf(
			"the workbook has no sheet named %q; its sheets are %s; set the field \"sheet\" to one of them", name, listSheets(wb.sheets)))
	}

	s := wb.sheets[found]
	switch {
	case s.part == "":
		return workbookSheet{}, workbookError(fmt.Errorf(
			"the sheet %q has no data part in the file; the file is damaged, save it again as .xlsx", s.name))
	case s.kind != "worksheet":
		return workbookSheet{}, workbookError(fmt.Errorf(
			"the sheet %q is a %s, not a worksheet with cells; choose another sheet", s.name, s.kind))
	}

	return s, nil
}

// listSheets quotes the first sheet names for a message.
func listSheets(sheets []workbookSheet) string {
	const shown = 20
	names := make([]string, 0, min(len(sheets), shown))
	for i, s := range sheets {
		if i == shown {
			break
		}

		names = append(names, fmt.Sprintf("%q", s.name))
	}

	list := strings.Join(names, ", ")
	if len(sheets) > shown {
		list += fmt.Sprintf(" and %d more", len(sheets)-shown)
	}

	return list
}
