package records

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// objectBuilder turns rows of cells (CSV or XLSX) into JSON objects keyed
// by the header. Header names are trimmed, a name with dots
// ("leadContextJson.budget") becomes a nested object, and empty cells are
// left out so that defaults such as originDefault apply.
type objectBuilder struct {
	root  *headerNode
	width int // columns with a name; cells beyond are not part of the record
	names []string
	// column returns the label of a 0-based column for messages.
	column func(col int) string
	// keys is the number of keys of a row with every cell set, groups
	// included. Rows need their keys counted only when it is over the limit.
	keys   int
	limits Limits
	buf    []byte
	// clean holds the cells of an invalid row with their NUL bytes and
	// invalid UTF-8 replaced, so that its payload can still be built.
	clean []string
}

// headerNode is one key of the output object: a column (col >= 0) or a
// group of nested keys.
type headerNode struct {
	key      string
	col      int
	children []*headerNode
}

// maxQuotedName is the longest column name, in characters, that messages
// quote. In a file without a header row the names are a lead's values, so
// a column with a longer name is named only by its position.
const maxQuotedName = 40

// newObjectBuilder checks the header row and names columns in messages by
// their 1-based number, as CSV files count them.
func newObjectBuilder(header []string, limits Limits) (*objectBuilder, error) {
	return newLabeledObjectBuilder(header, limits, func(col int) string { return strconv.Itoa(col + 1) })
}

// newLabeledObjectBuilder checks the header row, and names columns in
// messages with column, which gets the 0-based index in header. Trailing
// columns without a name are allowed (spreadsheets often export some), but
// any other empty name, a duplicate, or a name that is both a value and a
// group is an error.
func newLabeledObjectBuilder(header []string, limits Limits, column func(col int) string) (*objectBuilder, error) {
	names := make([]string, len(header))
	width := 0
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
		if names[i] != "" {
			width = i + 1
		}
	}

	if width == 0 {
		return nil, fmt.Errorf("the header row is empty; the first row must name the columns")
	}

	names = names[:width]
	if width > limits.MaxFields {
		return nil, fmt.Errorf("the header has %s columns, more than the limit of %s",
			groupDigits(int64(width)), groupDigits(int64(limits.MaxFields)))
	}

	b := &objectBuilder{root: &headerNode{col: -1}, width: width, names: names, column: column, limits: limits}
	seen := make(map[string]int, width)
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("column %s has no name; give every column a header", column(i))
		}

		if first, ok := seen[name]; ok {
			same := "the same name"
			if q := quotedName(name); q != "" {
				same += " " + q
			}

			return nil, fmt.Errorf("columns %s and %s have %s; make header names unique", column(first), column(i), same)
		}

		seen[name] = i
		if err := b.add(strings.Split(name, "."), i); err != nil {
			return nil, err
		}
	}

	b.keys = b.root.countNodes()

	return b, nil
}

// add puts column col, whose name has the dot-separated parts path, into
// the tree of keys.
func (b *objectBuilder) add(path []string, col int) error {
	// Each part of the name opens one object, the record being the first.
	if len(path) > b.limits.MaxDepth {
		return fmt.Errorf("the name of %s nests %s objects deep, more than the limit of %s",
			b.columnRef(col), groupDigits(int64(len(path))), groupDigits(int64(b.limits.MaxDepth)))
	}

	node := b.root
	for i, key := range path {
		key = strings.TrimSpace(key)
		if key == "" {
			return fmt.Errorf("the name of %s has an empty part between dots; remove the extra dot", b.columnRef(col))
		}

		last := i == len(path)-1
		var child *headerNode
		for _, c := range node.children {
			if c.key == key {
				child = c

				break
			}
		}

		switch {
		case child == nil:
			child = &headerNode{key: key, col: -1}
			node.children = append(node.children, child)
		case last || child.col >= 0:
			return b.clashError(child.firstColumn(), col, key)
		}

		if last {
			child.col = col
		}

		node = child
	}

	return nil
}

// clashError is the error for two columns, first and col, whose names use
// key both as a value and as a group, as "phone" and "phone.ddd" do.
func (b *objectBuilder) clashError(first, col int, key string) error {
	part := "the same name part"
	if q := quotedName(key); q != "" {
		part = q
	}

	return fmt.Errorf("columns %s and %s use %s both as a value and as a group; rename one of them",
		b.labelWithName(first), b.labelWithName(col), part)
}

// firstColumn returns the column of n, or the first column of its group.
// Columns are added in order, so a group's first child leads to it.
func (n *headerNode) firstColumn() int {
	for n.col < 0 && len(n.children) > 0 {
		n = n.children[0]
	}

	return n.col
}

// columnRef names column col in a message, as in `column 2 ("phone")`.
func (b *objectBuilder) columnRef(col int) string {
	return "column " + b.labelWithName(col)
}

// labelWithName returns the label of column col followed by its quoted
// name, or the label alone when the name is too long to quote.
func (b *objectBuilder) labelWithName(col int) string {
	label := b.column(col)
	if q := quotedName(b.names[col]); q != "" {
		label += " (" + q + ")"
	}

	return label
}

// quotedName returns name quoted for a message, or "" when it is longer
// than maxQuotedName characters.
func quotedName(name string) string {
	if utf8.RuneCountInString(name) > maxQuotedName {
		return ""
	}

	return strconv.Quote(name)
}

// build returns the record of one row, and a non-empty invalid message
// when the row breaks a rule and must not be sent. An invalid record still
// gets the payload of the cells under the header, with NUL bytes and
// invalid UTF-8 replaced by U+FFFD, so that the error report shows the row.
// Only a payload over MaxRecordBytes is dropped.
func (b *objectBuilder) build(cells []string) ([]byte, string) {
	invalid := b.beyondHeader(cells)
	if reason := b.badCell(cells); reason != "" {
		if invalid == "" {
			invalid = reason
		}

		cells = b.cleanCells(cells)
	}

	if invalid == "" && b.keys > b.limits.MaxFields {
		if n := b.root.countKeys(cells); n > b.limits.MaxFields {
			invalid = fieldsReason(n, b.limits.MaxFields)
		}
	}

	b.buf = b.buf[:0]
	b.buf, _ = b.root.write(b.buf, cells)
	if len(b.buf) == 0 {
		b.buf = append(b.buf, '{', '}')
	}

	if len(b.buf) > b.limits.MaxRecordBytes {
		if invalid == "" {
			invalid = fmt.Sprintf("the record is %s bytes as JSON, more than the limit of %s",
				groupDigits(int64(len(b.buf))), groupDigits(int64(b.limits.MaxRecordBytes)))
		}

		return nil, invalid
	}

	out := make([]byte, len(b.buf))
	copy(out, b.buf)

	return out, invalid
}

// beyondHeader returns the invalid message for a row with a value after
// the last named column, or "".
func (b *objectBuilder) beyondHeader(cells []string) string {
	for i := b.width; i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) == "" {
			continue
		}

		named := "named columns"
		if b.width == 1 {
			named = "named column"
		}

		return fmt.Sprintf("the row has a value in column %s, but the header has only %s %s; name that column in the header row or remove the value",
			b.column(i), groupDigits(int64(b.width)), named)
	}

	return ""
}

// badCell returns the invalid message for the first cell under the header
// that contains a NUL byte or invalid UTF-8, or "".
func (b *objectBuilder) badCell(cells []string) string {
	for i := 0; i < len(cells) && i < b.width; i++ {
		switch {
		case strings.IndexByte(cells[i], 0) >= 0:
			return fmt.Sprintf("the value of %s contains a NUL byte (0x00), which the database cannot store; remove it from the file",
				b.columnRef(i))
		case !utf8.ValidString(cells[i]):
			return fmt.Sprintf("the value of %s is not valid text in the file's encoding; set the field \"encoding\" or save the file as UTF-8",
				b.columnRef(i))
		}
	}

	return ""
}

// cleanCells returns the cells under the header with NUL bytes and invalid
// UTF-8 replaced by U+FFFD. The slice is reused by the next call.
func (b *objectBuilder) cleanCells(cells []string) []string {
	b.clean = b.clean[:0]
	for i := 0; i < len(cells) && i < b.width; i++ {
		cell := strings.ToValidUTF8(cells[i], "\uFFFD")
		cell = strings.ReplaceAll(cell, "\x00", "\uFFFD")
		b.clean = append(b.clean, cell)
	}

	return b.clean
}

// countKeys returns the number of keys that n's object has for a row:
// columns with a value and groups with such a column inside.
func (n *headerNode) countKeys(cells []string) int {
	total := 0
	for _, c := range n.children {
		switch {
		case c.col < 0:
			if k := c.countKeys(cells); k > 0 {
				total += k + 1
			}
		case c.col < len(cells) && strings.TrimSpace(cells[c.col]) != "":
			total++
		}
	}

	return total
}

// countNodes returns the number of keys under n, nested ones included.
func (n *headerNode) countNodes() int {
	total := len(n.children)
	for _, c := range n.children {
		total += c.countNodes()
	}

	return total
}

// write appends n's object to buf, or nothing when all its cells are
// empty, and reports whether it wrote anything.
func (n *headerNode) write(buf []byte, cells []string) ([]byte, bool) {
	start := len(buf)
	wrote := false
	for _, c := range n.children {
		mark := len(buf)
		if wrote {
			buf = append(buf, ',')
		} else {
			buf = append(buf, '{')
		}

		buf = appendString(buf, c.key)
		buf = append(buf, ':')
		var ok bool
		if c.col >= 0 {
			if c.col < len(cells) && strings.TrimSpace(cells[c.col]) != "" {
				buf = appendString(buf, cells[c.col])
				ok = true
			}
		} else {
			buf, ok = c.write(buf, cells)
		}

		if !ok {
			buf = buf[:mark]

			continue
		}

		wrote = true
	}

	if !wrote {
		return buf[:start], false
	}

	return append(buf, '}'), true
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s must be valid UTF-8.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}

		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}

		start = i + 1
	}

	buf = append(buf, s[start:]...)

	return append(buf, '"')
}
