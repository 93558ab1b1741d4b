package records

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

const (
	// csvSampleSize is how much decoded text the delimiter and line-ending
	// detection look at.
	csvSampleSize = 64 << 10
	// csvSampleLines is how many lines of the sample the delimiter
	// detection compares, header included.
	csvSampleLines = 20
	// csvBufferSize is the size of the buffer that encoding/csv reads from.
	csvBufferSize = 64 << 10
)

// csvDelimiters are the delimiters that detection chooses from, in order of
// preference when two fit the sample equally well.
var csvDelimiters = []byte{',', ';', '\t', '|'}

// errRowTooLong stops encoding/csv from buffering a row without bound.
var errRowTooLong = errors.New("row too long")

// csvReader reads the rows of a CSV or TSV file with encoding/csv and turns
// each one into a record keyed by the header row.
//
// A quote inside an unquoted field (5" screen, 37°36'37.8"N) is kept as a
// character, because exports often contain one. encoding/csv allows that
// only with LazyQuotes, which also lets a quoted field go on past a quote
// that is not doubled, or to the end of the file when its closing quote is
// missing. Rows would then be merged into one field without an error. So
// LazyQuotes is on, and quoteGuard, below the parser, fails the file on
// those two cases instead.
//
// NOTE: encoding/csv reads a CRLF inside a quoted field as LF, so such a
// value comes out with "\n" where the file has "\r\n". A bare CR inside a
// quoted field is kept.
type csvReader struct {
	src *textSource
	// in is the buffer that encoding/csv reads from. Blank lines are skipped
	// here before the parser reads them, so that a record's offset and line
	// are its own and not those of the blank lines before it.
	in      *bufio.Reader
	limiter *rowLimiter
	parser  *csv.Reader
	// delimiter is the field separator in use, given or detected.
	delimiter rune
	builder   *objectBuilder
	limits    Limits
	// maxRowBytes is the longest row text that is read. A longer row fails
	// the file, because encoding/csv holds a whole row in memory. Rows up to
	// this size but over MaxRecordBytes as JSON are only marked Invalid.
	maxRowBytes int64

	// skippedLines and skippedBytes count the lines dropped before
	// encoding/csv could see them, blank lines and a "sep=" line, to add to
	// its line numbers and offsets.
	skippedLines int
	skippedBytes int64
	// nextLine is encoding/csv's number of the next line it reads.
	nextLine int
	// record is the index of the next record, -1 while reading the header.
	record int
	// err is returned by every call of Next once reading has stopped.
	err error
}

// csvPosition is the start of a row: its 1-based line and its byte offset.
type csvPosition struct {
	line   int
	offset int64
}

// newCSVReader reads the header row of f and returns a reader of the
// records after it. Unless opts.Encoding names the encoding, a file that is
// not valid UTF-8 is read as Windows-1252, and one that mixes valid
// multi-byte UTF-8 with invalid bytes fails with a *FileError.
func newCSVReader(f *os.File, opts Options) (Reader, error) {
	r, err := openCSV(f, opts)
	if err != nil {
		return nil, err
	}

	if err := r.readHeader(); err != nil {
		return nil, err
	}

	return r, nil
}

// openCSV sets up decoding, the delimiter and the parser, and reads no row.
func openCSV(f *os.File, opts Options) (*csvReader, error) {
	opts.Limits = opts.Limits.withDefaults()
	src, err := openText(f, opts.Encoding, charmap.Windows1252, "windows-1252")
	if err != nil {
		return nil, err
	}

	// A short sample is the whole file. A read error shows again on the
	// first read of a row, so it is not handled here.
	sample, _ := src.r.Peek(csvSampleSize)
	complete := len(sample) < csvSampleSize

	// Excel writes "sep=;" as the first line to declare the delimiter. The
	// line is not the header, so it is dropped before the parser reads it.
	declared, sepLength := parseSepLine(sample, complete)
	if sepLength > 0 {
		if opts.Delimiter == 0 && (declared >= utf8.RuneSelf || !slices.Contains(csvDelimiters, byte(declared))) {
			return nil, &FileError{Record: -1, Line: 1, Offset: src.skip, Reason: fmt.Sprintf(
				"the first line declares the delimiter %q with \"sep=\", which is not supported; use a comma, a semicolon, a tab or |, "+
					"or remove the line and set the field \"delimiter\"", declared)}
		}

		_, _ = src.r.Discard(sepLength)
		sample, _ = src.r.Peek(csvSampleSize)
		complete = len(sample) < csvSampleSize
	}

	delimiter := opts.Delimiter
	switch {
	case delimiter != 0 && !validDelimiter(delimiter):
		return nil, &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
			"the delimiter %q cannot separate fields; use an ASCII character such as a comma, a semicolon, a tab or |", delimiter)}
	case delimiter == 0 && sepLength > 0:
		delimiter = declared
	case delimiter == 0:
		delimiter = detectDelimiter(sample, complete)
	}

	skippedLines := 0
	if sepLength > 0 {
		skippedLines = 1
	}

	// encoding/csv ends lines only at LF. A file with classic Mac OS line
	// ends has CRs but no LF in its first lines, and every CR in it, quoted
	// ones included, is read as LF.
	var text io.Reader = src.r
	if bytes.IndexByte(sample, '\r') >= 0 && bytes.IndexByte(sample, '\n') < 0 {
		text = crToLF{r: src.r}
	}

	guard := &quoteGuard{r: text, delimiter: byte(delimiter), line: 1 + skippedLines}
	limiter := &rowLimiter{r: guard}
	in := bufio.NewReaderSize(limiter, csvBufferSize)
	// csv.NewReader keeps in as its buffer because in is a *bufio.Reader of
	// at least 4 KiB, so peeking at in shows what the parser reads next.
	parser := csv.NewReader(in)
	parser.Comma = delimiter
	parser.FieldsPerRecord = -1
	parser.ReuseRecord = true
	parser.LazyQuotes = true

	return &csvReader{
		src:          src,
		in:           in,
		limiter:      limiter,
		parser:       parser,
		delimiter:    delimiter,
		limits:       opts.Limits,
		maxRowBytes:  4*int64(opts.Limits.MaxRecordBytes) + 64<<10,
		skippedLines: skippedLines,
		skippedBytes: int64(sepLength),
		nextLine:     1,
		record:       -1,
	}, nil
}

// parseSepLine returns the delimiter that a "sep=" first line of sample
// declares and the length of the line with its line end, or 0 and 0 when
// the first line is not one. Excel writes `sep=;`, and other programs quote
// it or escape a tab as `sep=\t`. Empty cells may follow, as when a
// spreadsheet program saved the line as a row.
func parseSepLine(sample []byte, complete bool) (rune, int) {
	rest := sample
	quoted := len(rest) > 0 && rest[0] == '"'
	if quoted {
		rest = rest[1:]
	}

	if len(rest) < 4 || !bytes.EqualFold(rest[:4], []byte("sep=")) {
		return 0, 0
	}

	rest = rest[4:]
	declared, size := utf8.DecodeRune(rest)
	if bytes.HasPrefix(rest, []byte(`\t`)) {
		declared, size = '\t', 2
	}

	if size == 0 || declared == '\r' || declared == '\n' || declared == '"' {
		return 0, 0
	}

	rest = rest[size:]
	if quoted {
		if len(rest) == 0 || rest[0] != '"' {
			return 0, 0
		}

		rest = rest[1:]
	}

	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rune(rest[0]) == declared) {
		rest = rest[1:]
	}

	switch {
	case len(rest) == 0 && !complete:
		// The line may go on after the sample.
		return 0, 0
	case len(rest) == 0:
	case rest[0] == '\n':
		rest = rest[1:]
	case rest[0] == '\r':
		rest = rest[1:]
		if len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
		}
	default:
		return 0, 0
	}

	return declared, len(sample) - len(rest)
}

// readHeader reads the first row that is not blank and builds the objects
// of the records from it.
func (r *csvReader) readHeader() error {
	for {
		cells, start, err := r.readRow()
		if err == io.EOF {
			return &FileError{Record: -1, Offset: -1, Reason: "the file has no header row; the first row must name the columns"}
		}

		if err != nil {
			return err
		}

		if blankRow(cells) {
			continue
		}

		headerError := func(reason string) error {
			return &FileError{Record: -1, Line: start.line, Offset: start.offset, Reason: reason}
		}

		for i, name := range cells {
			if !utf8.ValidString(name) {
				return headerError(fmt.Sprintf(
					"the name of column %d is not valid text in the file's encoding; set the field \"encoding\"", i+1))
			}

			if strings.IndexByte(name, 0) >= 0 {
				return headerError(fmt.Sprintf("the name of column %d contains a NUL byte (0x00); remove it from the header", i+1))
			}
		}

		builder, err := newObjectBuilder(cells, r.limits)
		if err != nil {
			return headerError(err.Error())
		}

		r.builder = builder
		r.record = 0

		return nil
	}
}

// Next returns the next row that is not blank as a record. Rows with fewer
// cells than the header are records with the missing cells left out.
func (r *csvReader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}

	for {
		cells, start, err := r.readRow()
		if err != nil {
			r.err = err

			return Record{}, err
		}

		if blankRow(cells) {
			continue
		}

		rec := Record{Line: start.line, Offset: start.offset}
		rec.Payload, rec.Invalid = r.builder.build(cells)
		r.record++

		return rec, nil
	}
}

// Close releases nothing: the reader holds only buffers, and f stays open.
func (r *csvReader) Close() error {
	return nil
}

// readRow returns the cells of the next row, blank rows included, and where
// the row starts. The cells slice is reused by the next call. Errors are
// io.EOF, a *FileError, or an error reading the file.
//
// The offset counts bytes of the file when the file is UTF-8. When the file
// was transcoded (UTF-16, Windows-1252, an explicit legacy encoding), it
// counts bytes of the UTF-8 text instead. That still locates the row in
// the decoded text, and tracking the file's own bytes through the decoder
// would cost a pass per row.
func (r *csvReader) readRow() ([]string, csvPosition, error) {
	r.skipBlankLines()
	start := r.position()
	cells, err := r.parser.Read()
	if err != nil {
		return nil, start, r.readError(err, start)
	}

	first, _ := r.parser.FieldPos(0)
	start.line = first + r.skippedLines

	// The parser counts a line for every LF it reads, and the values of
	// quoted fields keep their LFs, so the row ends as many lines after the
	// start of its last field as that field has LFs.
	last, _ := r.parser.FieldPos(len(cells) - 1)
	r.nextLine = last + strings.Count(cells[len(cells)-1], "\n") + 1

	return cells, start, nil
}

// position returns where the next row starts, if it has no blank lines
// before it, and lets the limiter pass the text of one row.
func (r *csvReader) position() csvPosition {
	consumed := r.parser.InputOffset() + r.skippedBytes
	r.limiter.max = consumed + r.maxRowBytes + int64(r.in.Size())

	return csvPosition{line: r.nextLine + r.skippedLines, offset: r.src.skip + consumed}
}

// skipBlankLines drops empty lines (LF, CRLF, or a CR that ends the file)
// before the parser reads them. encoding/csv would skip them too, but then
// its offset before a row would not be the row's start.
func (r *csvReader) skipBlankLines() {
	for {
		r.position()
		head, err := r.in.Peek(2)
		n := 0
		switch {
		case len(head) > 0 && head[0] == '\n':
			n = 1
		case len(head) == 2 && head[0] == '\r' && head[1] == '\n':
			n = 2
		case len(head) == 1 && head[0] == '\r' && err != nil:
			n = 1
		}

		if n == 0 {
			// Read errors come back from the parser's next read.
			return
		}

		_, _ = r.in.Discard(n)
		r.skippedLines++
		r.skippedBytes += int64(n)
	}
}

// readError turns an error of the parser into a *FileError that names
// where the row starts and how to fix it. io.EOF and read errors of the
// file pass through.
func (r *csvReader) readError(err error, start csvPosition) error {
	if err == io.EOF {
		return err
	}

	fileError := &FileError{Record: r.record, Line: start.line, Offset: start.offset}
	var parseErr *csv.ParseError
	var quoteErr *quoteError
	switch {
	case errors.As(err, &quoteErr) && quoteErr.unclosed:
		fileError.Reason = fmt.Sprintf(
			"a quoted field is not closed before the end of the file; check the quotes from line %d", quoteErr.line)
	case errors.As(err, &quoteErr):
		fileError.Reason = fmt.Sprintf(
			"line %d has a quote (\") inside a quoted field that is neither doubled (\"\") nor followed by the delimiter or the line end; "+
				"write each quote inside a quoted field twice", quoteErr.line)
	case errors.As(err, &parseErr):
		// With LazyQuotes and FieldsPerRecord -1, encoding/csv (Go 1.26)
		// returns no ParseError, since quoteGuard reports the quote errors.
		fileError.Reason = fmt.Sprintf("line %d, byte %d: %v", parseErr.Line+r.skippedLines, parseErr.Column, parseErr.Err)
	case errors.Is(err, errRowTooLong):
		fileError.Reason = fmt.Sprintf(
			"the row that starts on line %d is longer than %s bytes; check that every quoted field ends with a quote",
			start.line, groupDigits(r.maxRowBytes))
	default:
		return fmt.Errorf("reading CSV row at line %d: %w", start.line, err)
	}

	return fileError
}

// readCSVRows reads every row of f as the parser returns it, header first
// and blank rows included, for tests and for error reports that show rows.
// A "sep=" first line is not a row.
func readCSVRows(f *os.File, opts Options) ([][]string, error) {
	r, err := openCSV(f, opts)
	if err != nil {
		return nil, err
	}

	var rows [][]string
	for {
		cells, _, err := r.readRow()
		if err == io.EOF {
			return rows, nil
		}

		if err != nil {
			return rows, err
		}

		rows = append(rows, append([]string(nil), cells...))
	}
}

// blankRow reports whether every cell of a row is empty or white space,
// such as a row of only delimiters. objectBuilder leaves such cells out, so
// the row would be an empty object.
func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}

	return true
}

// validDelimiter reports whether d can separate fields: an ASCII character
// that encoding/csv accepts. quoteGuard compares single bytes, and every
// delimiter in use is ASCII.
func validDelimiter(d rune) bool {
	return d > 0 && d < utf8.RuneSelf && d != '"' && d != '\r' && d != '\n'
}

// detectDelimiter chooses among csvDelimiters the one that splits the
// sample best. The header line must contain the delimiter, and each later
// line scores 2 when it has as many delimiters as the header and 1 when it
// has fewer (a row that leaves out empty cells at its end). Delimiters
// inside quoted fields do not count, so that a semicolon file with decimal
// commas ("1,5") is read as semicolons. Without a delimiter in the header,
// the file is one column and the comma is as good as any.
func detectDelimiter(sample []byte, complete bool) rune {
	best := rune(',')
	bestScore, bestHeader := -1, 0
	for _, d := range csvDelimiters {
		counts := countDelimiters(sample, d, complete)
		if len(counts) == 0 || counts[0] == 0 {
			continue
		}

		score := 0
		for _, n := range counts[1:] {
			switch {
			case n == counts[0]:
				score += 2
			case n > 0 && n < counts[0]:
				score++
			}
		}

		if score > bestScore || (score == bestScore && counts[0] > bestHeader) {
			best, bestScore, bestHeader = rune(d), score, counts[0]
		}
	}

	return best
}

// countDelimiters returns how many times delim separates fields on each of
// the first csvSampleLines lines of sample that are not blank. A line break
// inside a quoted field does not end a line. A line of only whitespace and
// delim is blank, because the reader skips it as a row of empty cells. The
// last line counts only when complete is true (the sample is the whole
// file), since it may be cut short.
func countDelimiters(sample []byte, delim byte, complete bool) []int {
	var counts []int
	count := 0
	quoted := false
	fieldStart, lineBlank := true, true
	for i := 0; i < len(sample) && len(counts) < csvSampleLines; i++ {
		c := sample[i]
		switch {
		case quoted:
			if c == '"' {
				if i+1 < len(sample) && sample[i+1] == '"' {
					i++
				} else {
					quoted = false
				}
			}
		case c == '\n' || c == '\r':
			if !lineBlank {
				counts = append(counts, count)
			}

			count, fieldStart, lineBlank = 0, true, true
		case c == delim:
			count++
			fieldStart = true
		case c == '"' && fieldStart:
			quoted = true
			fieldStart, lineBlank = false, false
		case lineBlank:
			// Only a line that is blank so far needs its characters
			// checked, with unicode.IsSpace as strings.TrimSpace uses.
			r, size := utf8.DecodeRune(sample[i:])
			lineBlank = unicode.IsSpace(r)
			fieldStart = false
			i += size - 1
		default:
			fieldStart = false
		}
	}

	if complete && !lineBlank && len(counts) < csvSampleLines {
		counts = append(counts, count)
	}

	return counts
}

// crToLF reads r with every CR replaced by LF, for files with CR line ends.
type crToLF struct {
	r io.Reader
}

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	rest := p[:n]
	for i := bytes.IndexByte(rest, '\r'); i >= 0; i = bytes.IndexByte(rest, '\r') {
		rest[i] = '\n'
		rest = rest[i+1:]
	}

	return n, err
}

// rowLimiter passes on at most max bytes in total, then fails with
// errRowTooLong. The reader moves max forward before each row, so the
// parser may buffer one row of up to maxRowBytes plus its read-ahead.
type rowLimiter struct {
	r    io.Reader
	read int64
	max  int64
}

func (l *rowLimiter) Read(p []byte) (int, error) {
	if l.read >= l.max {
		return 0, errRowTooLong
	}

	if room := l.max - l.read; int64(len(p)) > room {
		p = p[:room]
	}

	n, err := l.r.Read(p)
	l.read += int64(n)

	return n, err
}

// quoteError is a quoted field that encoding/csv with LazyQuotes would read
// past its end: a quote in it that is not doubled and not followed by the
// delimiter or a line end, or a missing closing quote.
type quoteError struct {
	// line is the line of the quote, or of the opening quote when unclosed.
	line     int
	unclosed bool
}

func (e *quoteError) Error() string {
	if e.unclosed {
		return fmt.Sprintf("quoted field from line %d is not closed", e.line)
	}

	return fmt.Sprintf("stray quote in a quoted field on line %d", e.line)
}

// quoteState is the position of quoteGuard in the CSV grammar.
type quoteState uint8

const (
	atFieldStart quoteState = iota
	inField
	inQuotes
	afterQuote   // a quote inside a quoted field, next byte unknown
	afterQuoteCR // a quote and a CR inside a quoted field
)

// quoteGuard passes text on unchanged while it follows the quoting rules
// that encoding/csv applies without LazyQuotes inside quoted fields. It
// stops with a *quoteError at the first quote that breaks them, after
// passing on the bytes before it, so the parser reports the error on the
// row that contains the quote. It follows the parser's grammar: a quoted
// field is one whose first byte is a quote, and a quote inside it must be
// doubled or be followed by the delimiter, LF, CRLF or the end of the file.
// It finds quotes with bytes.IndexByte, so text without quotes costs little.
type quoteGuard struct {
	r         io.Reader
	delimiter byte
	state     quoteState
	// line is the 1-based line of the next byte, and openLine the line of
	// the opening quote of the current quoted field.
	line     int
	openLine int
	err      error
}

func (g *quoteGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}

	n, err := g.r.Read(p)
	if end, ok := g.scan(p[:n]); !ok {
		g.err = &quoteError{line: g.line}

		return end, g.err
	}

	if err == io.EOF && g.state == inQuotes {
		g.err = &quoteError{line: g.openLine, unclosed: true}

		return n, g.err
	}

	return n, err
}

// scan moves the state over b. When a quote breaks the rules it returns
// the index up to which b may be passed on, and false.
func (g *quoteGuard) scan(b []byte) (int, bool) {
	i := 0
	for i < len(b) {
		switch g.state {
		case atFieldStart, inField:
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				g.line += bytes.Count(b[i:], csvLineFeed)
				if last := b[len(b)-1]; last == g.delimiter || last == '\n' {
					g.state = atFieldStart
				} else {
					g.state = inField
				}

				return len(b), true
			}

			q := i + j
			g.line += bytes.Count(b[i:q], csvLineFeed)
			opens := g.state == atFieldStart
			if j > 0 {
				opens = b[q-1] == g.delimiter || b[q-1] == '\n'
			}

			// A quote that does not open a field is kept as a character.
			g.state = inField
			if opens {
				g.state = inQuotes
				g.openLine = g.line
			}

			i = q + 1
		case inQuotes:
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				g.line += bytes.Count(b[i:], csvLineFeed)

				return len(b), true
			}

			g.line += bytes.Count(b[i:i+j], csvLineFeed)
			g.state = afterQuote
			i += j + 1
		case afterQuote:
			switch b[i] {
			case '"':
				g.state = inQuotes
			case g.delimiter:
				g.state = atFieldStart
			case '\n':
				g.state = atFieldStart
				g.line++
			case '\r':
				g.state = afterQuoteCR
			default:
				return i, false
			}

			i++
		case afterQuoteCR:
			if b[i] != '\n' {
				return i, false
			}

			g.state = atFieldStart
			g.line++
			i++
		}
	}

	return len(b), true
}

var csvLineFeed = []byte{'\n'}
