package records

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Bounds on what one workbook part may expand to. A sheet of a million
// lead rows is a few hundred MB of XML, and the sheet BenchmarkXLSXReader
// writes compresses about 8 times, so these bounds only stop archives
// built to exhaust memory or disk.
const (
	// xlsxMaxPartSize is the largest uncompressed size of one part.
	xlsxMaxPartSize = 4 << 30
	// xlsxMaxRatio is the largest uncompressed/compressed ratio of a part
	// bigger than xlsxRatioMinSize.
	xlsxMaxRatio     = 200
	xlsxRatioMinSize = 1 << 20
	// xlsxMaxEntries and xlsxMaxDirectory bound the ZIP central directory,
	// which archive/zip loads whole: an XLSX has tens of parts, a few
	// thousand with many images, and a directory entry takes about 100
	// bytes.
	xlsxMaxEntries   = 1 << 16
	xlsxMaxDirectory = 8 << 20
	// xlsxMaxDepth bounds element nesting, because xmlPart keeps a stack
	// entry per open element. A rich text cell nests 8 deep.
	xlsxMaxDepth = 256
)

// checkZIPDirectory reads the end of central directory record of a ZIP
// archive and rejects one whose directory would take too much memory to
// load. It does not check anything else: when the record is missing or
// damaged it returns nil and leaves the error to archive/zip.
func checkZIPDirectory(f io.ReaderAt, size int64) error {
	// The record is 22 bytes and a comment of up to 65,535 bytes.
	tail := make([]byte, min(size, 22+65535))
	start := size - int64(len(tail))
	if _, err := f.ReadAt(tail, start); err != nil && err != io.EOF {
		return nil
	}

	at := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if at < 0 || len(tail)-at < 22 {
		return nil
	}

	eocd := tail[at:]
	entries := uint64(binary.LittleEndian.Uint16(eocd[10:]))
	offset := uint64(binary.LittleEndian.Uint32(eocd[16:]))

	// ZIP64 archives keep the real values in a record found through the
	// locator right before this one.
	if at >= 20 && bytes.HasPrefix(tail[at-20:], []byte("PK\x06\x07")) {
		record := binary.LittleEndian.Uint64(tail[at-20+8:])
		zip64 := make([]byte, 56)
		if record < uint64(size) {
			if n, _ := f.ReadAt(zip64, int64(record)); n == len(zip64) && bytes.HasPrefix(zip64, []byte("PK\x06\x06")) {
				entries = binary.LittleEndian.Uint64(zip64[32:])
				offset = binary.LittleEndian.Uint64(zip64[48:])
			}
		}
	}

	directory := uint64(size) - min(offset, uint64(size))
	if entries > xlsxMaxEntries || directory > xlsxMaxDirectory {
		return &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
			"the archive lists %s entries in a %s-byte directory, more than the limits of %s entries and %s bytes for an XLSX workbook; it may be a ZIP bomb",
			groupDigits(int64(entries)), groupDigits(int64(directory)), groupDigits(xlsxMaxEntries), groupDigits(xlsxMaxDirectory))}
	}

	return nil
}

// xlsxPackage is the opened ZIP archive, with its entries by name.
type xlsxPackage struct {
	files map[string]*zip.File
	// folded maps lower-cased names to entries, for producers that write
	// part names in another case than the relationships use.
	folded map[string]*zip.File
	// tokenLimit bounds the raw bytes of one XML token (element or text).
	tokenLimit int64
}

func newXLSXPackage(zr *zip.Reader, limits Limits) *xlsxPackage {
	p := &xlsxPackage{
		files:      make(map[string]*zip.File, len(zr.File)),
		folded:     make(map[string]*zip.File, len(zr.File)),
		tokenLimit: int64(2*limits.MaxRecordBytes) + 64<<10,
	}

	for _, f := range zr.File {
		// Some Windows tools write backslashes in entry names.
		name := strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/")
		if _, ok := p.files[name]; !ok {
			p.files[name] = f
		}

		if _, ok := p.folded[strings.ToLower(name)]; !ok {
			p.folded[strings.ToLower(name)] = f
		}
	}

	return p
}

// file returns the entry of a part name, matched exactly and then
// ignoring case, or nil.
func (p *xlsxPackage) file(name string) *zip.File {
	if f, ok := p.files[name]; ok {
		return f
	}

	return p.folded[strings.ToLower(name)]
}

// resolvePart turns a relationship target into a part name. Targets are
// relative to the folder of the source part, or absolute from the package
// root when they start with a slash.
func resolvePart(sourceDir, target string) string {
	target = strings.ReplaceAll(strings.TrimSpace(target), `\`, "/")
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}

	return strings.TrimPrefix(path.Join("/", sourceDir, target), "/")
}

// open starts reading a part as XML after checking its declared sizes
// against the ZIP bomb bounds. It returns a *FileError for a part that is
// too large or cannot be opened.
func (p *xlsxPackage) open(f *zip.File) (*xmlPart, error) {
	size := f.UncompressedSize64
	if size > xlsxMaxPartSize {
		return nil, &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
			"the workbook part %s expands to %s bytes when decompressed, more than the limit of %s; it may be a ZIP bomb",
			f.Name, groupDigits(int64(min(size, 1<<62))), groupDigits(xlsxMaxPartSize))}
	}

	if size > xlsxRatioMinSize && (f.CompressedSize64 == 0 || size/f.CompressedSize64 > xlsxMaxRatio) {
		return nil, &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
			"the workbook part %s expands from %s to %s bytes when decompressed, more than %d times; it may be a ZIP bomb",
			f.Name, groupDigits(int64(f.CompressedSize64)), groupDigits(int64(size)), xlsxMaxRatio)}
	}

	rc, err := f.Open()
	if err != nil {
		return nil, &FileError{Record: -1, Offset: -1, Reason: damagedPartReason(f.Name, err)}
	}

	part := &xmlPart{name: f.Name, closer: rc}
	counted := &countingReader{r: rc, part: f.Name, declared: size}
	src := &byteSource{buf: make([]byte, 64<<10), limit: p.tokenLimit, part: f.Name}

	// Parts are UTF-8 or UTF-16 with a byte order mark. UTF-16 is decoded
	// here, so the XML decoder always reads UTF-8.
	head := make([]byte, 2)
	n, _ := io.ReadFull(counted, head)
	head = head[:n]
	var raw io.Reader = io.MultiReader(bytes.NewReader(head), counted)
	if bytes.Equal(head, []byte{0xFF, 0xFE}) || bytes.Equal(head, []byte{0xFE, 0xFF}) {
		raw = transform.NewReader(raw, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
		part.utf16 = true
	}

	src.r = raw
	part.dec = xml.NewDecoder(src)
	part.dec.CharsetReader = part.charsetReader
	part.src = src

	return part, nil
}

// damagedPartReason describes a part that could not be decompressed.
func damagedPartReason(name string, err error) string {
	if errors.Is(err, zip.ErrAlgorithm) {
		return fmt.Sprintf("the workbook part %s uses a compression method or encryption that is not supported; save the file again as .xlsx without a password", name)
	}

	return fmt.Sprintf("the workbook part %s cannot be decompressed (%v); the file is damaged, save it again as .xlsx", name, err)
}

// partError is a problem found while reading a part. Reason is a complete
// sentence for FileError.Reason.
type partError struct {
	reason string
}

func (e *partError) Error() string { return e.reason }

// countingReader stops a part from expanding beyond its declared size, so
// a header that understates the size cannot hide a ZIP bomb.
type countingReader struct {
	r        io.Reader
	part     string
	declared uint64
	read     uint64
}

func (c *countingReader) Read(b []byte) (int, error) {
	if c.read > c.declared {
		return 0, c.bombError()
	}

	// Ask for at most one byte past the declared size: enough to notice a
	// lie without decompressing more.
	if room := c.declared - c.read + 1; uint64(len(b)) > room {
		b = b[:room]
	}

	n, err := c.r.Read(b)
	c.read += uint64(n)
	if c.read > c.declared {
		return 0, c.bombError()
	}

	if err == nil || err == io.EOF {
		return n, err
	}

	// archive/zip fails with ErrFormat when an entry yields more than its
	// declared size, which can only happen here at that size.
	if errors.Is(err, zip.ErrFormat) {
		return 0, c.bombError()
	}

	// Reading the uploaded file itself failed: not the file's fault.
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return n, err
	}

	return n, &partError{reason: damagedPartReason(c.part, err)}
}

func (c *countingReader) bombError() error {
	return &partError{reason: fmt.Sprintf(
		"the workbook part %s expands to more than its declared %s bytes when decompressed; it may be a ZIP bomb", c.part, groupDigits(int64(c.declared)))}
}

// byteSource is the buffered io.ByteReader the XML decoder reads from. It
// bounds the raw size of one token, because the decoder keeps a whole
// element or text in memory: mark is called before each token, and a
// token that has consumed more than limit bytes since then fails.
type byteSource struct {
	r     io.Reader
	buf   []byte
	i, n  int
	base  int64 // part offset of buf[0]
	start int64 // part offset where the current token started
	limit int64
	part  string
	err   error
}

func (s *byteSource) ReadByte() (byte, error) {
	if s.i < s.n {
		b := s.buf[s.i]
		s.i++

		return b, nil
	}

	if err := s.fill(); err != nil {
		return 0, err
	}

	b := s.buf[s.i]
	s.i++

	return b, nil
}

func (s *byteSource) Read(b []byte) (int, error) {
	if s.i >= s.n {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}

	n := copy(b, s.buf[s.i:s.n])
	s.i += n

	return n, nil
}

func (s *byteSource) fill() error {
	if s.err != nil {
		return s.err
	}

	s.base += int64(s.n)
	s.i, s.n = 0, 0
	if s.base-s.start > s.limit {
		s.err = &partError{reason: fmt.Sprintf(
			"the workbook part %s has an XML element or text longer than %s bytes, which spreadsheet programs do not write; the file may be damaged",
			s.part, groupDigits(int64(s.limit)))}

		return s.err
	}

	for s.n == 0 {
		n, err := s.r.Read(s.buf)
		s.n = n
		if n > 0 {
			break
		}

		if err != nil {
			s.err = err

			return err
		}
	}

	return nil
}

// mark records that a new token starts at the current position.
func (s *byteSource) mark() {
	s.start = s.base + int64(s.i)
}

// xmlPart is one part of the package being read as a stream of tokens.
type xmlPart struct {
	name   string
	dec    *xml.Decoder
	src    *byteSource
	closer io.Closer
	// open is the stack of elements not yet closed.
	open  []xml.Name
	utf16 bool
}

// charsetReader lets the decoder accept the encodings an XML declaration
// may name. UTF-16 was already decoded when the part was opened.
func (p *xmlPart) charsetReader(label string, input io.Reader) (io.Reader, error) {
	if p.utf16 && strings.HasPrefix(strings.ToLower(label), "utf-16") {
		return input, nil
	}

	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}

	return transform.NewReader(input, enc.NewDecoder()), nil
}

// token returns the next token, io.EOF at the end of the part, or a
// *partError. Token data is valid until the next call.
//
// It uses RawToken, which skips the namespace translation that costs
// Token two allocations per element, and checks itself that end tags
// match: element names are compared as written, prefix included, and the
// reader matches elements by their local name only.
func (p *xmlPart) token() (xml.Token, error) {
	p.src.mark()
	tok, err := p.dec.RawToken()
	if err == io.EOF && len(p.open) > 0 {
		return nil, &partError{reason: fmt.Sprintf(
			"the workbook part %s ends inside the element <%s>; the file is damaged, save it again as .xlsx", p.name, p.open[len(p.open)-1].Local)}
	}

	if err != nil {
		return nil, p.wrap(err)
	}

	switch tok := tok.(type) {
	case xml.StartElement:
		if len(p.open) >= xlsxMaxDepth {
			return nil, &partError{reason: fmt.Sprintf(
				"the workbook part %s nests XML elements more than %d deep; the file may be damaged", p.name, xlsxMaxDepth)}
		}

		p.open = append(p.open, tok.Name)
	case xml.EndElement:
		if len(p.open) == 0 || p.open[len(p.open)-1] != tok.Name {
			return nil, &partError{reason: fmt.Sprintf(
				"the workbook part %s is not valid XML (unexpected end tag </%s>); the file is damaged, save it again as .xlsx", p.name, tok.Name.Local)}
		}

		p.open = p.open[:len(p.open)-1]
	}

	return tok, nil
}

func (p *xmlPart) wrap(err error) error {
	var pe *partError
	var syntax *xml.SyntaxError
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &syntax):
		return &partError{reason: fmt.Sprintf(
			"the workbook part %s is not valid XML (%s); the file is damaged, save it again as .xlsx", p.name, syntax.Msg)}
	default:
		return &partError{reason: fmt.Sprintf(
			"the workbook part %s cannot be read (%v); the file is damaged, save it again as .xlsx", p.name, err)}
	}
}

// skip reads past the end of the element whose start was just returned.
func (p *xmlPart) skip() error {
	depth := len(p.open)
	for len(p.open) >= depth {
		if _, err := p.token(); err != nil {
			return err
		}
	}

	return nil
}

// close releases the part's decompressor. Its error, a decompression
// error that reading has already met or that does not matter once the
// reader stops, is dropped.
func (p *xmlPart) close() {
	_ = p.closer.Close()
}

// attr returns the value of the attribute with the given local name.
func attr(el xml.StartElement, local string) string {
	for _, a := range el.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}

	return ""
}
