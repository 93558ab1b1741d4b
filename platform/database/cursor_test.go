package database

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2026, 12, 5, 12, 0, 0, 123456789, time.UTC), ID: NewUUID()}

	got, ok := DecodeCursor("d", c.Encode("d"))
	require.True(t, ok)
	require.Equal(t, c, got)

	_, ok = DecodeCursor("b", c.Encode("d"))
	require.False(t, ok, "a cursor of another list")

	for _, bad := range []string{"", "!!", "ZDox", c.Encode("d") + "x"} {
		_, ok = DecodeCursor("d", bad)
		require.False(t, ok, bad)
	}
}
