package policy

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the zoneinfo files of the host

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func mustParse(t *testing.T, value string) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339, value)
	require.NoError(t, err)
	return parsed
}

func TestWallClock(t *testing.T) {
	tests := []struct {
		name string
		zone string
		date civilDate
		hour int
		want string
	}{
		{"UTC", "UTC", civilDate{2026, 12, 4}, 9, "2026-12-04T09:00:00Z"},
		{"Sao Paulo", "America/Sao_Paulo", civilDate{2026, 12, 4}, 0, "2026-12-04T03:00:00Z"},
		{"New York skipped hour", "America/New_York", civilDate{2026, 3, 8}, 2, "2026-03-08T07:00:00Z"},
		{"New York hour after gap", "America/New_York", civilDate{2026, 3, 8}, 3, "2026-03-08T07:00:00Z"},
		{"New York repeated hour", "America/New_York", civilDate{2026, 11, 1}, 1, "2026-11-01T05:00:00Z"},
		{"New York hour after repeat", "America/New_York", civilDate{2026, 11, 1}, 2, "2026-11-01T07:00:00Z"},
		{"Berlin skipped hour", "Europe/Berlin", civilDate{2026, 3, 29}, 2, "2026-03-29T01:00:00Z"},
		{"Berlin repeated hour", "Europe/Berlin", civilDate{2026, 10, 25}, 2, "2026-10-25T00:00:00Z"},
		{"Sao Paulo skipped midnight", "America/Sao_Paulo", civilDate{2018, 11, 4}, 0, "2018-11-04T03:00:00Z"},
		{"Sao Paulo repeated hour", "America/Sao_Paulo", civilDate{2019, 2, 16}, 23, "2019-02-17T01:00:00Z"},
		{"Apia skipped day", "Pacific/Apia", civilDate{2011, 12, 30}, 0, "2011-12-30T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wallClock(tt.date, tt.hour, loadZone(t, tt.zone))

			assert.Equal(t, mustParse(t, tt.want), got.UTC())
		})
	}
}

func TestDayBounds(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		date       civilDate
		start, end string
	}{
		{"UTC", "UTC", civilDate{2026, 12, 4}, "2026-12-04T00:00:00Z", "2026-12-05T00:00:00Z"},
		{"Sao Paulo", "America/Sao_Paulo", civilDate{2026, 12, 4}, "2026-12-04T03:00:00Z", "2026-12-05T03:00:00Z"},
		{"Sao Paulo 23 hours", "America/Sao_Paulo", civilDate{2018, 11, 4}, "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"},
		{"Sao Paulo 25 hours", "America/Sao_Paulo", civilDate{2019, 2, 16}, "2019-02-16T02:00:00Z", "2019-02-17T03:00:00Z"},
		{"New York 23 hours", "America/New_York", civilDate{2026, 3, 8}, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"},
		{"Berlin 25 hours", "Europe/Berlin", civilDate{2026, 10, 25}, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
		{"Apia skipped day", "Pacific/Apia", civilDate{2011, 12, 30}, "2011-12-30T10:00:00Z", "2011-12-30T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := dayBounds(tt.date, loadZone(t, tt.zone))

			assert.Equal(t, mustParse(t, tt.start), start.UTC(), "start")
			assert.Equal(t, mustParse(t, tt.end), end.UTC(), "end")
		})
	}
}

func TestCivilDateAddDays(t *testing.T) {
	assert.Equal(t, civilDate{2027, 1, 1}, civilDate{2026, 12, 31}.addDays(1))
	assert.Equal(t, civilDate{2028, 2, 29}, civilDate{2028, 2, 28}.addDays(1))
	assert.Equal(t, civilDate{2027, 1, 4}, civilDate{2026, 12, 4}.addDays(31))
	assert.Equal(t, "2026-03-08", civilDate{2026, 3, 8}.String())
}
