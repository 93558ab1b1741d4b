package records

import (
	"fmt"
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
	// keys is the number of keys of a row with every cell set, groups
	// included. Rows need their keys counted only when it is over the limit.
	keys   int
	limits Limits
	buf    []byte
}

// headerNode is one key of the output object: a column (col >= 0) or a
// group of nested keys.
type headerNode struct {
	key      string
	col      int
	children []*headerNode
}

// newObjectBuilder checks the header row. Trailing columns without a name
// are allowed (spreadsheets often export some), but any other empty name,
// a duplicate, or a name that is both a value and a group is an error.
func newObjectBuilder(header []string, limits Limits) (*objectBuilder, error) {
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
		return nil, fmt.Errorf("the header has %d columns, more than the limit of %d", width, limits.MaxFields)
	}

	root := &headerNode{col: -1}
	seen := make(map[string]int, width)
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("column %d has no name; give every column a header", i+1)
		}

		if first, ok := seen[name]; ok {
			return nil, fmt.Errorf("the column name %q is used by columns %d and %d; make header names unique", name, first+1, i+1)
		}

		seen[name] = i
		if err := root.add(strings.Split(name, "."), name, i, limits.MaxDepth); err != nil {
			return nil, err
		}
	}

	return &objectBuilder{root: root, width: width, names: names, keys: root.countNodes(), limits: limits}, nil
}

func (n *headerNode) add(path []string, name string, col, maxDepth int) error {
	// Each part of the name opens one object, the record being the first.
	if len(path) > maxDepth {
		return fmt.Errorf("the column name %q nests %d objects deep, more than the limit of %d", name, len(path), maxDepth)
	}

	node := n
	for i, key := range path {
		key = strings.TrimSpace(key)
		if key == "" {
			return fmt.Errorf("the column name %q has an empty part between dots", name)
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
			return fmt.Errorf("the column name %q clashes with another column that uses %q both as a value and as a group", name, key)
		}

		if last {
			child.col = col
		}

		node = child
	}

	return nil
}

// build returns the record of one row, or a non-empty invalid message when
// the row breaks a rule and must not be sent.
func (b *objectBuilder) build(cells []string) ([]byte, string) {
	for i := b.width; i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) != "" {
			return nil, fmt.Sprintf("the row has a value in column %d, but the header has only %d named columns", i+1, b.width)
		}
	}

	for i := 0; i < len(cells) && i < b.width; i++ {
		if !utf8.ValidString(cells[i]) {
			return nil, fmt.Sprintf("the value of column %q is not valid text in the file's encoding; set the field \"encoding\"", b.names[i])
		}
	}

	if b.keys > b.limits.MaxFields {
		if n := b.root.countKeys(cells); n > b.limits.MaxFields {
			return nil, fmt.Sprintf("the record has %d fields, counting nested ones, more than the limit of %d", n, b.limits.MaxFields)
		}
	}

	b.buf = b.buf[:0]
	b.buf, _ = b.root.write(b.buf, cells)
	if len(b.buf) == 0 {
		b.buf = append(b.buf, '{', '}')
	}

	if len(b.buf) > b.limits.MaxRecordBytes {
		return nil, fmt.Sprintf("the record is %d bytes as JSON, more than the limit of %d", len(b.buf), b.limits.MaxRecordBytes)
	}

	out := make([]byte, len(b.buf))
	copy(out, b.buf)

	return out, ""
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
