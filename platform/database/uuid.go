package database

import (
	"database/sql/driver"
	"fmt"

	"github.com/google/uuid"
)

// UUID is a uuid column value that reads the same from every engine: SQL
// Server returns a uniqueidentifier as 16 bytes with its first three groups
// little-endian, PostgreSQL and SQLite return the text form.
type UUID uuid.UUID

// NewUUID returns a random (version 4) UUID.
func NewUUID() UUID { return UUID(uuid.New()) }

// ParseUUID parses the text form.
func ParseUUID(s string) (UUID, error) {
	u, err := uuid.Parse(s)

	return UUID(u), err
}

// String returns the lower-case text form.
func (u UUID) String() string { return uuid.UUID(u).String() }

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// Value sends the text form, which every engine converts to its uuid type.
func (u UUID) Value() (driver.Value, error) { return u.String(), nil }

// Scan reads the text form or SQL Server's byte order.
func (u *UUID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		parsed, err := uuid.Parse(v)
		if err != nil {
			return fmt.Errorf("scanning uuid %q: %w", v, err)
		}

		*u = UUID(parsed)
	case []byte:
		if len(v) == 16 {
			*u = fromSQLServerBytes(v)

			return nil
		}

		parsed, err := uuid.ParseBytes(v)
		if err != nil {
			return fmt.Errorf("scanning uuid %q: %w", v, err)
		}

		*u = UUID(parsed)
	case nil:
		*u = UUID{}
	default:
		return fmt.Errorf("scanning uuid: unsupported type %T", src)
	}

	return nil
}

// MarshalText makes UUID a JSON string.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses the text form.
func (u *UUID) UnmarshalText(b []byte) error {
	parsed, err := uuid.ParseBytes(b)
	if err != nil {
		return err
	}

	*u = UUID(parsed)

	return nil
}

func fromSQLServerBytes(b []byte) UUID {
	var u UUID
	copy(u[:], b)
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5] = b[5], b[4]
	u[6], u[7] = b[7], b[6]

	return u
}
