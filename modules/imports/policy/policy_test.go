package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
)

var defaults = Defaults{MaxFileSizeMb: 100, RateLimitPerMinute: 30}

func TestMergeNoRows(t *testing.T) {
	l := Merge(nil, nil, defaults)

	assert.Equal(t, int64(100), l.MaxFileSizeMb)
	assert.Equal(t, 30, l.RateLimitPerMinute)
	assert.Equal(t, 0, l.MaxBatchPerDay)
	assert.Nil(t, l.AllowedStartHour)
	assert.Nil(t, l.AllowedEndHour)
	assert.False(t, l.RequireSchedulingForLarge)
	assert.Equal(t, 0, l.LargeThresholdMb)
	assert.NoError(t, l.Validate())
}

func TestMergePrecedence(t *testing.T) {
	global := &clients.Policy{
		MaxFileSizeMb:             new(50),
		MaxBatchPerDay:            new(10),
		AllowedStartHour:          new(22),
		AllowedEndHour:            new(6),
		RequireSchedulingForLarge: new(true),
		LargeThresholdMb:          new(20),
		RateLimitPerMinute:        new(60),
	}
	client := &clients.Policy{
		MaxFileSizeMb:             new(200),
		MaxBatchPerDay:            new(3),
		AllowedStartHour:          new(9),
		AllowedEndHour:            new(18),
		RequireSchedulingForLarge: new(false),
		LargeThresholdMb:          new(5),
		RateLimitPerMinute:        new(5),
	}

	tests := []struct {
		name           string
		client, global *clients.Policy
		want           Limits
	}{
		{
			name: "defaults only",
			want: Limits{MaxFileSizeMb: 100, RateLimitPerMinute: 30},
		},
		{
			name:   "global row",
			global: global,
			want: Limits{MaxFileSizeMb: 50, MaxBatchPerDay: 10, AllowedStartHour: new(22), AllowedEndHour: new(6),
				RequireSchedulingForLarge: true, LargeThresholdMb: 20, RateLimitPerMinute: 60},
		},
		{
			name:   "client row",
			client: client,
			want: Limits{MaxFileSizeMb: 200, MaxBatchPerDay: 3, AllowedStartHour: new(9), AllowedEndHour: new(18),
				RequireSchedulingForLarge: false, LargeThresholdMb: 5, RateLimitPerMinute: 5},
		},
		{
			name:   "client over global",
			client: client,
			global: global,
			want: Limits{MaxFileSizeMb: 200, MaxBatchPerDay: 3, AllowedStartHour: new(9), AllowedEndHour: new(18),
				RequireSchedulingForLarge: false, LargeThresholdMb: 5, RateLimitPerMinute: 5},
		},
		{
			name:   "NULL client columns",
			client: &clients.Policy{},
			global: global,
			want: Limits{MaxFileSizeMb: 50, MaxBatchPerDay: 10, AllowedStartHour: new(22), AllowedEndHour: new(6),
				RequireSchedulingForLarge: true, LargeThresholdMb: 20, RateLimitPerMinute: 60},
		},
		{
			name:   "NULL global columns",
			client: &clients.Policy{MaxBatchPerDay: new(7)},
			global: &clients.Policy{},
			want:   Limits{MaxFileSizeMb: 100, MaxBatchPerDay: 7, RateLimitPerMinute: 30},
		},
		{
			name:   "mixed columns",
			client: &clients.Policy{MaxFileSizeMb: new(1), AllowedStartHour: new(8), RequireSchedulingForLarge: new(false)},
			global: &clients.Policy{MaxFileSizeMb: new(2), AllowedEndHour: new(17), RequireSchedulingForLarge: new(true), LargeThresholdMb: new(4)},
			want: Limits{MaxFileSizeMb: 1, AllowedStartHour: new(8), AllowedEndHour: new(17),
				LargeThresholdMb: 4, RateLimitPerMinute: 30},
		},
		{
			name:   "zero is not NULL",
			client: &clients.Policy{MaxBatchPerDay: new(0), AllowedStartHour: new(0), AllowedEndHour: new(0)},
			global: global,
			want: Limits{MaxFileSizeMb: 50, MaxBatchPerDay: 0, AllowedStartHour: new(0), AllowedEndHour: new(0),
				RequireSchedulingForLarge: true, LargeThresholdMb: 20, RateLimitPerMinute: 60},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.client, tt.global, defaults)

			assert.Equal(t, tt.want.MaxFileSizeMb, got.MaxFileSizeMb, "MaxFileSizeMb")
			assert.Equal(t, tt.want.MaxBatchPerDay, got.MaxBatchPerDay, "MaxBatchPerDay")
			assert.Equal(t, tt.want.AllowedStartHour, got.AllowedStartHour, "AllowedStartHour")
			assert.Equal(t, tt.want.AllowedEndHour, got.AllowedEndHour, "AllowedEndHour")
			assert.Equal(t, tt.want.RequireSchedulingForLarge, got.RequireSchedulingForLarge, "RequireSchedulingForLarge")
			assert.Equal(t, tt.want.LargeThresholdMb, got.LargeThresholdMb, "LargeThresholdMb")
			assert.Equal(t, tt.want.RateLimitPerMinute, got.RateLimitPerMinute, "RateLimitPerMinute")
		})
	}
}

func TestMergeCopiesHours(t *testing.T) {
	row := &clients.Policy{AllowedStartHour: new(22), AllowedEndHour: new(6)}

	l := Merge(row, nil, defaults)
	*row.AllowedStartHour = 1
	*row.AllowedEndHour = 2

	require.NotNil(t, l.AllowedStartHour)
	require.NotNil(t, l.AllowedEndHour)
	assert.Equal(t, 22, *l.AllowedStartHour)
	assert.Equal(t, 6, *l.AllowedEndHour)
}

func TestValidateLimits(t *testing.T) {
	valid := Limits{MaxFileSizeMb: 100, RateLimitPerMinute: 30}

	tests := []struct {
		name    string
		change  func(*Limits)
		message string
	}{
		{"zero file size", func(l *Limits) { l.MaxFileSizeMb = 0 }, "MaxFileSizeMb is 0"},
		{"negative file size", func(l *Limits) { l.MaxFileSizeMb = -1 }, "MaxFileSizeMb is -1"},
		{"negative quota", func(l *Limits) { l.MaxBatchPerDay = -1 }, "MaxBatchPerDay is -1"},
		{"start hour 24", func(l *Limits) { l.AllowedStartHour, l.AllowedEndHour = new(24), new(6) }, "AllowedStartHour is 24"},
		{"negative start hour", func(l *Limits) { l.AllowedStartHour, l.AllowedEndHour = new(-1), new(6) }, "AllowedStartHour is -1"},
		{"end hour 24", func(l *Limits) { l.AllowedStartHour, l.AllowedEndHour = new(22), new(24) }, "AllowedEndHour is 24"},
		{"only start hour", func(l *Limits) { l.AllowedStartHour = new(22) }, "AllowedStartHour (22) and AllowedEndHour (NULL)"},
		{"only end hour", func(l *Limits) { l.AllowedEndHour = new(6) }, "AllowedStartHour (NULL) and AllowedEndHour (6)"},
		{"negative threshold", func(l *Limits) { l.LargeThresholdMb = -5 }, "LargeThresholdMb is -5"},
		{"zero rate limit", func(l *Limits) { l.RateLimitPerMinute = 0 }, "RateLimitPerMinute is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := valid
			tt.change(&l)

			err := l.Validate()

			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidLimits)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}

func TestValidateHourBounds(t *testing.T) {
	for _, hours := range [][2]int{{0, 0}, {0, 23}, {23, 0}, {22, 6}} {
		l := Limits{MaxFileSizeMb: 1, RateLimitPerMinute: 1, AllowedStartHour: new(hours[0]), AllowedEndHour: new(hours[1])}

		assert.NoError(t, l.Validate(), "hours %v", hours)
	}
}
