package records

import (
	"bufio"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"os"
)

// xlsxStringMemory is how many bytes of shared string text are kept in
// memory. Beyond it the text moves to a temporary file. A variable so
// tests can force the spill.
var xlsxStringMemory = 16 << 20

const (
	// xlsxMaxSharedStrings bounds the shared string table. Its index costs
	// about 1.5 bytes a string, so the cap keeps it near 25 MB.
	// NOTE: chosen as 16 unique texts per row of a million-row sheet; a
	// larger real table is rejected with a FileError.
	xlsxMaxSharedStrings = 1 << 24
	// stringsPerAnchor is how many strings share one index anchor.
	stringsPerAnchor = 32
	// stringWindow is the size of the read cache of a spilled table. Sheets
	// mostly use strings in the order they were added, so one read serves
	// many cells.
	stringWindow = 64 << 10
)

// sharedStrings is the shared string table of a workbook. Strings are
// stored back to back: the first xlsxStringMemory bytes in memory, the
// rest in a temporary file. Keeping the first part in memory matters
// because sheets mix early strings (repeated names, cities) with late
// ones (unique e-mails, phones) in every row, and a single read window
// over the whole table would reload for almost every cell. The index
// keeps each string's length as a uvarint plus, for every
// stringsPerAnchor strings, the offset of the first one.
type sharedStrings struct {
	data []byte
	// spilled is the table offset where the file starts, len(data) at
	// the spill.
	spilled int64
	file    *os.File
	out     *bufio.Writer
	size    int64
	count   int
	lengths []byte
	anchors []stringAnchor

	window      []byte
	windowStart int64
}

type stringAnchor struct {
	offset int64 // offset of the string's text in the table
	length int   // position of its length in lengths
}

// add appends one string to the table.
func (t *sharedStrings) add(s []byte) error {
	if t.count%stringsPerAnchor == 0 {
		t.anchors = append(t.anchors, stringAnchor{offset: t.size, length: len(t.lengths)})
	}

	t.lengths = binary.AppendUvarint(t.lengths, uint64(len(s)))
	if t.file == nil && len(t.data)+len(s) > xlsxStringMemory {
		if err := t.spill(); err != nil {
			return err
		}
	}

	if t.file != nil {
		if _, err := t.out.Write(s); err != nil {
			return fmt.Errorf("writing shared strings to a temporary file: %w", err)
		}
	} else {
		t.data = append(t.data, s...)
	}

	t.size += int64(len(s))
	t.count++

	return nil
}

// spill opens the temporary file that takes the strings that no longer
// fit in memory.
func (t *sharedStrings) spill() error {
	f, err := os.CreateTemp("", "xlsx-strings-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file for shared strings: %w", err)
	}

	t.file = f
	t.out = bufio.NewWriterSize(f, 256<<10)
	t.spilled = int64(len(t.data))

	return nil
}

// finish makes a spilled table readable.
func (t *sharedStrings) finish() error {
	if t.out == nil {
		return nil
	}

	if err := t.out.Flush(); err != nil {
		return fmt.Errorf("writing shared strings to a temporary file: %w", err)
	}

	t.out = nil

	return nil
}

// appendString appends string i to dst. ok is false when the table has no
// string i.
func (t *sharedStrings) appendString(dst []byte, i int) (out []byte, ok bool, err error) {
	if i < 0 || i >= t.count {
		return dst, false, nil
	}

	a := t.anchors[i/stringsPerAnchor]
	offset, pos := a.offset, a.length
	for k := i - i%stringsPerAnchor; k < i; k++ {
		n, w := binary.Uvarint(t.lengths[pos:])
		offset += int64(n)
		pos += w
	}

	n, _ := binary.Uvarint(t.lengths[pos:])
	length := int64(n)
	if t.file == nil || offset < t.spilled {
		return append(dst, t.data[offset:offset+length]...), true, nil
	}

	// The spill happens between two strings, so a string is either all in
	// memory or all in the file.
	offset -= t.spilled

	// A string larger than the window is read straight into dst.
	if length > stringWindow {
		start := len(dst)
		dst = append(dst, make([]byte, length)...)
		if _, err := t.file.ReadAt(dst[start:], offset); err != nil {
			return dst[:start], false, fmt.Errorf("reading shared strings from a temporary file: %w", err)
		}

		return dst, true, nil
	}

	end := t.windowStart + int64(len(t.window))
	if offset < t.windowStart || offset+length > end {
		if err := t.load(offset); err != nil {
			return dst, false, err
		}
	}

	from := offset - t.windowStart

	return append(dst, t.window[from:from+length]...), true, nil
}

// load reads the window of the spilled table that starts at offset.
func (t *sharedStrings) load(offset int64) error {
	if t.window == nil {
		t.window = make([]byte, stringWindow)
	}

	n := min(int64(stringWindow), t.size-t.spilled-offset)
	t.window = t.window[:n]
	if _, err := t.file.ReadAt(t.window, offset); err != nil {
		t.window = t.window[:0]

		return fmt.Errorf("reading shared strings from a temporary file: %w", err)
	}

	t.windowStart = offset

	return nil
}

// close removes the temporary file, if any.
func (t *sharedStrings) close() error {
	if t.file == nil {
		return nil
	}

	name := t.file.Name()
	errClose := t.file.Close()
	errRemove := os.Remove(name)
	t.file = nil
	if errClose != nil {
		return fmt.Errorf("closing the shared strings file: %w", errClose)
	}

	if errRemove != nil {
		return fmt.Errorf("removing the shared strings file: %w", errRemove)
	}

	return nil
}

// readSharedStrings reads the shared string table. Each <si> item is the
// text of its <t> elements, direct or in rich text runs <r>; phonetic
// guides (<rPh>) are left out. Text beyond maxLen bytes of one item is
// dropped: such an item already makes any record that uses it too large.
// partSize, the part's declared size, sizes the memory buffer once
// instead of letting it grow by copies.
func readSharedStrings(part *xmlPart, maxLen int, partSize uint64) (*sharedStrings, error) {
	t := &sharedStrings{data: make([]byte, 0, min(partSize, uint64(xlsxStringMemory)))}
	var item []byte
	inItem, inText := false, false
	for {
		tok, err := part.token()
		if err == io.EOF {
			break
		}

		if err != nil {
			return t, err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			switch {
			case tok.Name.Local == "si":
				inItem, item = true, item[:0]
			case !inItem:
			case tok.Name.Local == "t":
				inText = true
			case tok.Name.Local == "rPh" || tok.Name.Local == "phoneticPr":
				if err := part.skip(); err != nil {
					return t, err
				}
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "t":
				inText = false
			case "si":
				if !inItem {
					break
				}

				inItem = false
				if t.count >= xlsxMaxSharedStrings {
					return t, &partError{reason: fmt.Sprintf(
						"the workbook has more than %d shared strings, more than this importer reads; split the file", xlsxMaxSharedStrings)}
				}

				if err := t.add(item); err != nil {
					return t, err
				}
			}
		case xml.CharData:
			if inText && len(item) <= maxLen {
				item = append(item, tok...)
			}
		}
	}

	return t, t.finish()
}
