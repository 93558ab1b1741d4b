package imports

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/dataflow/dataflow/platform/database"
)

// itemRow is one item as the item list and the error report read it.
type itemRow struct {
	Sequence     int     `gorm:"column:Sequence"`
	Status       string  `gorm:"column:Status"`
	ErrorMessage *string `gorm:"column:ErrorMessage"`
	LeadID       *string `gorm:"column:LeadId"`
	SourceLine   *int    `gorm:"column:SourceLine"`
	PayloadJSON  string  `gorm:"column:PayloadJson"`
}

// listItems returns up to limit items of a batch after the sequence
// after, in sequence order, only those with one of statuses when it is
// not empty.
func (s *store) listItems(ctx context.Context, id database.UUID, statuses []string, after, limit int) ([]itemRow, error) {
	q := s.db.WithContext(ctx).Model(&Item{}).
		Select(s.db.Render("{Sequence}, {Status}, {ErrorMessage}, {LeadId}, {SourceLine}, {PayloadJson}")).
		Where(s.db.Render("{BatchId} = ? AND {Sequence} > ?"), id, after)
	if len(statuses) == 1 {
		q = q.Where(s.db.Render("{Status} = ?"), statuses[0])
	} else if len(statuses) > 1 {
		q = q.Where(s.db.Render("{Status} IN ?"), statuses)
	}

	var rows []itemRow
	if err := q.Order(s.db.Render("{Sequence}")).Limit(limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("listing items: %w", err)
	}

	return rows, nil
}

// itemStatuses maps the accepted spellings of the status filter.
var itemStatuses = map[string]string{
	"pending": ItemPending, "imported": ItemImported, "error": ItemError, "skipped": ItemSkipped,
}

// Page sizes of the item list.
const (
	defaultItemsLimit = 100
	maxItemsLimit     = 1000
)

// encodeCursor and decodeCursor keep the cursor opaque, so clients pass it
// back as given and the format can change later.
func encodeCursor(sequence int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.Itoa(sequence)))
}

func decodeCursor(cursor string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, false
	}

	seq, ok := strings.CutPrefix(string(raw), "seq:")
	if !ok {
		return 0, false
	}

	n, err := strconv.Atoi(seq)
	if err != nil || n < 0 {
		return 0, false
	}

	return n, true
}

// isRedacted reports whether a stored payload was replaced by its mask,
// {"masked":true} with an optional "sha256".
func isRedacted(payload string) bool {
	if !strings.Contains(payload, `"masked"`) {
		return false
	}

	var mask map[string]json.RawMessage
	if json.Unmarshal([]byte(payload), &mask) != nil || string(mask["masked"]) != "true" {
		return false
	}

	for key := range mask {
		if key != "masked" && key != "sha256" {
			return false
		}
	}

	return true
}

// flatten appends the fields of a JSON object to out with dotted names for
// nested objects, as a CSV header names them. Arrays stay JSON text,
// strings lose their quotes, null becomes empty.
func flatten(prefix string, raw json.RawMessage, out map[string]string, order *[]string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var fields []struct {
			key   string
			value json.RawMessage
		}
		// Read the keys in file order; a map would lose it.
		if _, err := dec.Token(); err == nil {
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					break
				}

				var value json.RawMessage
				if err := dec.Decode(&value); err != nil {
					break
				}

				fields = append(fields, struct {
					key   string
					value json.RawMessage
				}{fmt.Sprint(tok), value})
			}
		}

		for _, f := range fields {
			name := f.key
			if prefix != "" {
				name = prefix + "." + f.key
			}

			flatten(name, f.value, out, order)
		}

		return
	}

	if prefix == "" {
		return
	}

	value := ""
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '"':
		_ = json.Unmarshal(raw, &value)
	default:
		value = string(raw)
	}

	if _, seen := out[prefix]; !seen && order != nil {
		*order = append(*order, prefix)
	}

	out[prefix] = value
}
