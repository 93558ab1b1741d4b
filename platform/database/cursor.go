package database

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Cursor is a keyset position in a list sorted by time and id: the
// values of the last row of a page.
type Cursor struct {
	CreatedAt time.Time
	ID        UUID
}

// Encode returns the cursor as opaque URL-safe text. kind names the list,
// so a cursor of one list is not accepted by another.
func (c Cursor) Encode(kind string) string {
	raw := kind + ":" + strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + ":" + c.ID.String()

	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reads a cursor that Encode wrote for the same kind. ok is
// false for anything else.
func DecodeCursor(kind, text string) (c Cursor, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return Cursor{}, false
	}

	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[0] != kind {
		return Cursor{}, false
	}

	nanos, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Cursor{}, false
	}

	id, err := ParseUUID(parts[2])
	if err != nil {
		return Cursor{}, false
	}

	return Cursor{CreatedAt: time.Unix(0, nanos).UTC(), ID: id}, true
}
