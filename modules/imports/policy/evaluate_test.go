package policy

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// dayCounter is a CountOnDay fake. counts maps a local date (2006-01-02) to
// its batch count, and days missing from counts have fallback batches.
type dayCounter struct {
	loc      *time.Location
	counts   map[string]int
	fallback int
	calls    [][2]time.Time
}

func (c *dayCounter) count(start, end time.Time) (int, error) {
	c.calls = append(c.calls, [2]time.Time{start, end})
	if n, ok := c.counts[start.In(c.loc).Format(time.DateOnly)]; ok {
		return n, nil
	}
	return c.fallback, nil
}

func limits(change func(*Limits)) Limits {
	l := Limits{MaxFileSizeMb: 100, RateLimitPerMinute: 30}
	if change != nil {
		change(&l)
	}
	return l
}

func withWindow(start, end int) func(*Limits) {
	return func(l *Limits) { l.AllowedStartHour, l.AllowedEndHour = new(start), new(end) }
}

func withQuota(quota int, start, end int) func(*Limits) {
	return func(l *Limits) {
		l.MaxBatchPerDay = quota
		withWindow(start, end)(l)
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		limits   Limits
		zone     string
		now      string
		size     int64
		reject   bool
		counts   map[string]int
		fallback int

		outcome      string
		scheduledFor string
		retryAfter   time.Duration
		reason       string
	}{
		// Window 22-6 in São Paulo (UTC-3): 22:00 local is 01:00Z.
		{name: "night window before", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-04T22:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T01:00:00Z",
			reason: "scheduled for 2026-12-04 22:00 America/Sao_Paulo because it is outside the allowed window 22:00-06:00"},
		{name: "night window start", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T01:00:00Z",
			outcome: OutcomeImmediate, reason: "runs immediately because it is inside the allowed window 22:00-06:00 (America/Sao_Paulo)"},
		{name: "night window before midnight", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T02:30:00Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 22:00-06:00"},
		{name: "night window after midnight", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T06:00:00Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 22:00-06:00"},
		{name: "night window last second", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T08:59:59Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 22:00-06:00"},
		{name: "night window end", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T09:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-06T01:00:00Z",
			reason: "scheduled for 2026-12-05 22:00 America/Sao_Paulo because it is outside the allowed window 22:00-06:00"},
		{name: "night window after", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T13:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-06T01:00:00Z", reason: "outside the allowed window 22:00-06:00"},

		// Window 9-18 in UTC.
		{name: "day window before", limits: limits(withWindow(9, 18)), zone: "UTC", now: "2026-12-04T08:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-04T09:00:00Z",
			reason: "scheduled for 2026-12-04 09:00 UTC because it is outside the allowed window 09:00-18:00"},
		{name: "day window start", limits: limits(withWindow(9, 18)), zone: "UTC", now: "2026-12-04T09:00:00Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 09:00-18:00 (UTC)"},
		{name: "day window last second", limits: limits(withWindow(9, 18)), zone: "UTC", now: "2026-12-04T17:59:59Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 09:00-18:00"},
		{name: "day window end", limits: limits(withWindow(9, 18)), zone: "UTC", now: "2026-12-04T18:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T09:00:00Z", reason: "scheduled for 2026-12-05 09:00 UTC"},
		{name: "day window late", limits: limits(withWindow(9, 18)), zone: "UTC", now: "2026-12-04T23:30:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T09:00:00Z", reason: "outside the allowed window 09:00-18:00"},
		{name: "day window other zone", limits: limits(withWindow(9, 18)), zone: "America/Sao_Paulo", now: "2026-12-04T11:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-12-04T12:00:00Z", reason: "scheduled for 2026-12-04 09:00 America/Sao_Paulo"},

		// start == end allows the whole day.
		{name: "whole day window", limits: limits(withWindow(9, 9)), zone: "UTC", now: "2026-12-04T03:00:00Z",
			outcome: OutcomeImmediate, reason: "runs immediately because the allowed window 09:00-09:00 covers the whole day (UTC)"},
		{name: "whole day window midnight", limits: limits(withWindow(0, 0)), zone: "UTC", now: "2026-12-04T23:59:59Z",
			outcome: OutcomeImmediate, reason: "covers the whole day"},
		{name: "no window", limits: limits(nil), zone: "UTC", now: "2026-12-04T03:00:00Z",
			outcome: OutcomeImmediate, reason: "runs immediately because no time window or daily quota applies"},

		// RequireSchedulingForLarge with a 10 MiB threshold, at 10:00 in São Paulo.
		{name: "small file outside window", zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z", size: 10 * mib,
			limits: limits(func(l *Limits) {
				withWindow(22, 6)(l)
				l.RequireSchedulingForLarge, l.LargeThresholdMb = true, 10
			}),
			outcome: OutcomeImmediate,
			reason:  "runs immediately because files up to 10 MiB may run outside the allowed window 22:00-06:00 (America/Sao_Paulo)"},
		{name: "large file outside window", zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z", size: 10*mib + 1,
			limits: limits(func(l *Limits) {
				withWindow(22, 6)(l)
				l.RequireSchedulingForLarge, l.LargeThresholdMb = true, 10
			}),
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T01:00:00Z", reason: "outside the allowed window 22:00-06:00"},
		{name: "small file without rule", limits: limits(withWindow(22, 6)), zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z", size: 1,
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T01:00:00Z", reason: "outside the allowed window 22:00-06:00"},
		{name: "empty file zero threshold", zone: "UTC", now: "2026-12-04T13:00:00Z", size: 0,
			limits: limits(func(l *Limits) {
				withWindow(22, 6)(l)
				l.RequireSchedulingForLarge = true
			}),
			outcome: OutcomeImmediate, reason: "files up to 0 MiB may run outside"},
		{name: "one byte zero threshold", zone: "UTC", now: "2026-12-04T13:00:00Z", size: 1,
			limits: limits(func(l *Limits) {
				withWindow(22, 6)(l)
				l.RequireSchedulingForLarge = true
			}),
			outcome: OutcomeScheduled, scheduledFor: "2026-12-04T22:00:00Z", reason: "outside the allowed window 22:00-06:00"},

		// File size, with a maximum of 100 MiB.
		{name: "file at maximum", limits: limits(nil), zone: "UTC", now: "2026-12-04T13:00:00Z", size: 100 * mib,
			outcome: OutcomeImmediate, reason: "no time window"},
		{name: "file over maximum", limits: limits(nil), zone: "UTC", now: "2026-12-04T13:00:00Z", size: 100*mib + 1,
			outcome: OutcomeRejectTooLarge, reason: "file size 104857601 bytes exceeds the maximum of 100 MiB (104857600 bytes)"},
		{name: "huge maximum", limits: limits(func(l *Limits) { l.MaxFileSizeMb = 1 << 50 }), zone: "UTC", now: "2026-12-04T13:00:00Z", size: 1 << 62,
			outcome: OutcomeImmediate, reason: "no time window"},

		// Quota of 5 in São Paulo, where 2026-12-04 starts at 03:00Z.
		{name: "quota full before midnight", limits: limits(withQuota(5, 0, 0)), zone: "America/Sao_Paulo", now: "2026-12-04T02:59:59Z",
			counts:  map[string]int{"2026-12-03": 5},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-04T03:00:00Z",
			reason: "scheduled for 2026-12-04 00:00 America/Sao_Paulo because the daily quota of 5 batches is reached for 2026-12-03"},
		{name: "quota full until midnight", limits: limits(withQuota(5, 0, 0)), zone: "America/Sao_Paulo", now: "2026-12-04T03:00:00Z",
			counts:  map[string]int{"2026-12-03": 5},
			outcome: OutcomeImmediate,
			reason:  "runs immediately because the allowed window 00:00-00:00 covers the whole day and it is batch 1 of the 5 allowed on 2026-12-04 (America/Sao_Paulo)"},
		{name: "quota rejects before midnight", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 5 }), zone: "America/Sao_Paulo", now: "2026-12-04T02:59:59Z",
			reject: true, counts: map[string]int{"2026-12-03": 5},
			outcome: OutcomeRejectOverQuota, retryAfter: time.Second,
			reason: "the daily quota of 5 batches is reached for 2026-12-03 (America/Sao_Paulo) and over-quota uploads are rejected"},
		{name: "quota last place", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 5 }), zone: "America/Sao_Paulo", now: "2026-12-04T15:00:00Z",
			reject: true, counts: map[string]int{"2026-12-04": 4},
			outcome: OutcomeImmediate, reason: "runs immediately because it is batch 5 of the 5 allowed on 2026-12-04 (America/Sao_Paulo)"},
		{name: "quota over", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 5 }), zone: "America/Sao_Paulo", now: "2026-12-04T15:00:00Z",
			counts:  map[string]int{"2026-12-04": 7},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T03:00:00Z", reason: "the daily quota of 5 batches is reached for 2026-12-04"},

		// Quota together with a window.
		{name: "quota full next window", limits: limits(withQuota(5, 9, 18)), zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z",
			counts:  map[string]int{"2026-12-04": 5},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T12:00:00Z",
			reason: "scheduled for 2026-12-05 09:00 America/Sao_Paulo because the daily quota of 5 batches is reached for 2026-12-04"},
		{name: "quota full night window", limits: limits(withQuota(5, 22, 6)), zone: "America/Sao_Paulo", now: "2026-12-05T02:00:00Z",
			counts:  map[string]int{"2026-12-04": 5},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-05T03:00:00Z",
			reason: "scheduled for 2026-12-05 00:00 America/Sao_Paulo because the daily quota of 5 batches is reached for 2026-12-04"},
		{name: "quota full window day", limits: limits(withQuota(5, 9, 18)), zone: "UTC", now: "2026-12-04T19:00:00Z",
			counts:  map[string]int{"2026-12-05": 5},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-06T09:00:00Z",
			reason: "scheduled for 2026-12-06 09:00 UTC because it is outside the allowed window 09:00-18:00 and the daily quota of 5 batches is reached for 2026-12-05"},
		{name: "quota rejects window day", limits: limits(withQuota(5, 9, 18)), zone: "UTC", now: "2026-12-04T19:00:00Z",
			reject: true, counts: map[string]int{"2026-12-04": 5, "2026-12-05": 5},
			outcome: OutcomeRejectOverQuota, retryAfter: 29 * time.Hour,
			reason: "the daily quota of 5 batches is reached for 2026-12-05 (UTC) and over-quota uploads are rejected"},
		{name: "quota rejects night window", limits: limits(withQuota(5, 22, 6)), zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z",
			reject: true, counts: map[string]int{"2026-12-04": 5},
			outcome: OutcomeRejectOverQuota, retryAfter: 14 * time.Hour,
			reason: "reached for 2026-12-04 (America/Sao_Paulo)"},
		{name: "quota full three days", limits: limits(withQuota(2, 9, 18)), zone: "UTC", now: "2026-12-04T10:00:00Z",
			counts:  map[string]int{"2026-12-04": 2, "2026-12-05": 3, "2026-12-06": 2},
			outcome: OutcomeScheduled, scheduledFor: "2026-12-07T09:00:00Z",
			reason: "scheduled for 2026-12-07 09:00 UTC because the daily quota of 2 batches is reached for 2026-12-04 to 2026-12-06"},
		{name: "quota full horizon", limits: limits(withQuota(2, 9, 18)), zone: "America/Sao_Paulo", now: "2026-12-04T13:00:00Z",
			fallback: 2,
			outcome:  OutcomeRejectOverQuota, retryAfter: 14 * time.Hour,
			reason: "the daily quota of 2 batches is reached for every day from 2026-12-04 to 2027-01-04 (America/Sao_Paulo)"},
		{name: "quota last horizon day", limits: limits(withQuota(2, 9, 18)), zone: "UTC", now: "2026-12-04T10:00:00Z",
			fallback: 2, counts: map[string]int{"2027-01-04": 1},
			outcome: OutcomeScheduled, scheduledFor: "2027-01-04T09:00:00Z",
			reason: "the daily quota of 2 batches is reached for 2026-12-04 to 2027-01-03"},

		// Daylight saving time in New York: 2026-03-08 skips 02:00-03:00,
		// 2026-11-01 repeats 01:00-02:00.
		{name: "New York skipped start", limits: limits(withWindow(2, 6)), zone: "America/New_York", now: "2026-03-08T05:30:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-03-08T07:00:00Z",
			reason: "scheduled for 2026-03-08 03:00 America/New_York because it is outside the allowed window 02:00-06:00"},
		{name: "New York skipped window", limits: limits(withWindow(2, 3)), zone: "America/New_York", now: "2026-03-08T05:30:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-03-09T06:00:00Z", reason: "scheduled for 2026-03-09 02:00 America/New_York"},
		{name: "New York after jump", limits: limits(withWindow(2, 6)), zone: "America/New_York", now: "2026-03-08T07:00:00Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 02:00-06:00"},
		{name: "New York repeated start", limits: limits(withWindow(1, 5)), zone: "America/New_York", now: "2026-11-01T04:30:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-11-01T05:00:00Z", reason: "scheduled for 2026-11-01 01:00 America/New_York"},
		{name: "New York repeated hour", limits: limits(withWindow(1, 2)), zone: "America/New_York", now: "2026-11-01T06:30:00Z",
			outcome: OutcomeImmediate, reason: "inside the allowed window 01:00-02:00"},
		{name: "New York after repeat", limits: limits(withWindow(1, 2)), zone: "America/New_York", now: "2026-11-01T07:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-11-02T06:00:00Z", reason: "outside the allowed window 01:00-02:00"},

		// Europe/Berlin: 2026-03-29 skips 02:00-03:00, 2026-10-25 repeats 02:00-03:00.
		{name: "Berlin skipped start", limits: limits(withWindow(2, 6)), zone: "Europe/Berlin", now: "2026-03-28T23:30:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-03-29T01:00:00Z", reason: "scheduled for 2026-03-29 03:00 Europe/Berlin"},
		{name: "Berlin repeated start", limits: limits(withWindow(2, 5)), zone: "Europe/Berlin", now: "2026-10-24T23:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2026-10-25T00:00:00Z", reason: "scheduled for 2026-10-25 02:00 Europe/Berlin"},

		// America/Sao_Paulo skipped 00:00-01:00 on 2018-11-04.
		{name: "Sao Paulo skipped midnight", limits: limits(withWindow(0, 6)), zone: "America/Sao_Paulo", now: "2018-11-03T23:00:00Z",
			outcome: OutcomeScheduled, scheduledFor: "2018-11-04T03:00:00Z", reason: "scheduled for 2018-11-04 01:00 America/Sao_Paulo"},
		{name: "Sao Paulo quota at jump", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), zone: "America/Sao_Paulo", now: "2018-11-04T01:00:00Z",
			counts:  map[string]int{"2018-11-03": 1},
			outcome: OutcomeScheduled, scheduledFor: "2018-11-04T03:00:00Z",
			reason: "scheduled for 2018-11-04 01:00 America/Sao_Paulo because the daily quota of 1 batch is reached for 2018-11-03"},
		{name: "Sao Paulo retry at jump", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), zone: "America/Sao_Paulo", now: "2018-11-04T01:00:00Z",
			reject: true, counts: map[string]int{"2018-11-03": 1},
			outcome: OutcomeRejectOverQuota, retryAfter: 2 * time.Hour, reason: "reached for 2018-11-03"},

		// Pacific/Apia skipped 2011-12-30 when it moved to UTC+14.
		{name: "Apia skipped day", limits: limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), zone: "Pacific/Apia", now: "2011-12-29T22:00:00Z",
			counts:  map[string]int{"2011-12-29": 1},
			outcome: OutcomeScheduled, scheduledFor: "2011-12-30T10:00:00Z", reason: "scheduled for 2011-12-31 00:00 Pacific/Apia"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := loadZone(t, tt.zone)
			counter := &dayCounter{loc: loc, counts: tt.counts, fallback: tt.fallback}

			got, err := Evaluate(tt.limits, Input{
				Now:             mustParse(t, tt.now),
				Location:        loc,
				FileSizeBytes:   tt.size,
				RejectOverQuota: tt.reject,
				CountOnDay:      counter.count,
			})

			require.NoError(t, err)
			assert.Equal(t, tt.outcome, got.Outcome, "outcome")
			if tt.scheduledFor == "" {
				assert.True(t, got.ScheduledFor.IsZero(), "ScheduledFor is %s", got.ScheduledFor)
			} else {
				assert.Equal(t, mustParse(t, tt.scheduledFor), got.ScheduledFor, "ScheduledFor")
				assert.Equal(t, time.UTC, got.ScheduledFor.Location(), "ScheduledFor zone")
			}
			assert.Equal(t, tt.retryAfter, got.RetryAfter, "RetryAfter")
			assert.Contains(t, got.Reason, tt.reason)
			assert.LessOrEqual(t, len(got.Reason), MaxReasonLength, "reason length")
		})
	}
}

func TestEvaluateCountBounds(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		now        string
		start, end string
	}{
		{"Sao Paulo day", "America/Sao_Paulo", "2026-12-04T03:00:00Z", "2026-12-04T03:00:00Z", "2026-12-05T03:00:00Z"},
		{"Sao Paulo previous day", "America/Sao_Paulo", "2026-12-04T02:59:59Z", "2026-12-03T03:00:00Z", "2026-12-04T03:00:00Z"},
		{"Sao Paulo short day", "America/Sao_Paulo", "2018-11-04T12:00:00Z", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"},
		{"New York short day", "America/New_York", "2026-03-08T12:00:00Z", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"},
		{"Berlin long day", "Europe/Berlin", "2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := loadZone(t, tt.zone)
			counter := &dayCounter{loc: loc}

			_, err := Evaluate(limits(func(l *Limits) { l.MaxBatchPerDay = 3 }), Input{
				Now: mustParse(t, tt.now), Location: loc, CountOnDay: counter.count,
			})

			require.NoError(t, err)
			require.Len(t, counter.calls, 1)
			assert.Equal(t, mustParse(t, tt.start), counter.calls[0][0], "start")
			assert.Equal(t, mustParse(t, tt.end), counter.calls[0][1], "end")
			assert.Equal(t, time.UTC, counter.calls[0][0].Location(), "start zone")
			assert.Equal(t, time.UTC, counter.calls[0][1].Location(), "end zone")
		})
	}
}

func TestEvaluateSkipsEmptyDay(t *testing.T) {
	loc := loadZone(t, "Pacific/Apia")
	counter := &dayCounter{loc: loc, counts: map[string]int{"2011-12-29": 1}}

	_, err := Evaluate(limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), Input{
		Now: mustParse(t, "2011-12-29T22:00:00Z"), Location: loc, CountOnDay: counter.count,
	})

	require.NoError(t, err)
	require.Len(t, counter.calls, 2)
	assert.Equal(t, mustParse(t, "2011-12-30T10:00:00Z"), counter.calls[1][0], "start of 2011-12-31")
}

func TestEvaluateNoQuotaNoCount(t *testing.T) {
	count := func(start, end time.Time) (int, error) {
		t.Errorf("CountOnDay called for [%s, %s) without a quota", start, end)
		return 0, nil
	}

	got, err := Evaluate(limits(withWindow(9, 18)), Input{Now: mustParse(t, "2026-12-04T19:00:00Z"), CountOnDay: count})

	require.NoError(t, err)
	assert.Equal(t, OutcomeScheduled, got.Outcome)
}

func TestEvaluateTooLargeNoCount(t *testing.T) {
	count := func(start, end time.Time) (int, error) {
		t.Errorf("CountOnDay called for [%s, %s) for a file that is too large", start, end)
		return 0, nil
	}

	got, err := Evaluate(limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), Input{
		Now: mustParse(t, "2026-12-04T19:00:00Z"), FileSizeBytes: 101 * mib, CountOnDay: count,
	})

	require.NoError(t, err)
	assert.Equal(t, OutcomeRejectTooLarge, got.Outcome)
}

func TestEvaluateNowZone(t *testing.T) {
	saoPaulo := loadZone(t, "America/Sao_Paulo")
	tokyo := loadZone(t, "Asia/Tokyo")
	now := mustParse(t, "2026-12-04T13:00:00Z")
	l := limits(withWindow(22, 6))

	fromUTC, err := Evaluate(l, Input{Now: now, Location: saoPaulo})
	require.NoError(t, err)
	fromTokyo, err := Evaluate(l, Input{Now: now.In(tokyo), Location: saoPaulo})
	require.NoError(t, err)

	assert.Equal(t, fromUTC, fromTokyo)
}

func TestEvaluateNilLocation(t *testing.T) {
	got, err := Evaluate(limits(withWindow(9, 18)), Input{Now: mustParse(t, "2026-12-04T08:00:00Z")})

	require.NoError(t, err)
	assert.Equal(t, mustParse(t, "2026-12-04T09:00:00Z"), got.ScheduledFor)
	assert.Contains(t, got.Reason, "UTC")
}

func TestEvaluateCountError(t *testing.T) {
	failure := errors.New("database is closed")
	count := func(start, end time.Time) (int, error) { return 0, failure }

	_, err := Evaluate(limits(func(l *Limits) { l.MaxBatchPerDay = 1 }), Input{
		Now: mustParse(t, "2026-12-04T19:00:00Z"), CountOnDay: count,
	})

	require.Error(t, err)
	assert.ErrorIs(t, err, failure)
	assert.Contains(t, err.Error(), "2026-12-04 (UTC)")
}

func TestEvaluateInvalidInput(t *testing.T) {
	now := mustParse(t, "2026-12-04T19:00:00Z")

	tests := []struct {
		name    string
		limits  Limits
		input   Input
		message string
	}{
		{"invalid limits", limits(withWindow(24, 6)), Input{Now: now}, "AllowedStartHour is 24"},
		{"negative size", limits(nil), Input{Now: now, FileSizeBytes: -1}, "FileSizeBytes is -1"},
		{"missing counter", limits(func(l *Limits) { l.MaxBatchPerDay = 5 }), Input{Now: now}, "CountOnDay is nil but MaxBatchPerDay is 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.limits, tt.input)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}

func TestEvaluateInvalidLimitsError(t *testing.T) {
	_, err := Evaluate(limits(func(l *Limits) { l.MaxFileSizeMb = 0 }), Input{})

	assert.ErrorIs(t, err, ErrInvalidLimits)
}

// TestReasonLength checks that the longest reasons for a 12-digit quota fit
// MaxReasonLength uncut, with the longest zone name in the IANA database.
func TestReasonLength(t *testing.T) {
	loc := loadZone(t, "America/Argentina/ComodRivadavia")
	require.Len(t, loc.String(), 32)
	quota := withQuota(999_999_999_999, 22, 6)

	tests := []struct {
		name     string
		now      string
		reject   bool
		counts   map[string]int
		fallback int
		outcome  string
	}{
		{"scheduled", "2026-12-04T13:00:00Z", false, map[string]int{"2026-12-04": 999_999_999_999, "2026-12-05": 999_999_999_999}, 0, OutcomeScheduled},
		{"immediate", "2026-12-05T02:00:00Z", false, map[string]int{"2026-12-04": 999_999_999_998}, 0, OutcomeImmediate},
		{"rejected", "2026-12-04T13:00:00Z", true, map[string]int{"2026-12-04": 999_999_999_999}, 0, OutcomeRejectOverQuota},
		{"horizon", "2026-12-04T13:00:00Z", false, nil, 999_999_999_999, OutcomeRejectOverQuota},
		{"too large", "2026-12-04T13:00:00Z", false, nil, 0, OutcomeRejectTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter := &dayCounter{loc: loc, counts: tt.counts, fallback: tt.fallback}
			size := int64(2_000_000 * mib)
			if tt.outcome == OutcomeRejectTooLarge {
				size = math.MaxInt64
			}

			got, err := Evaluate(limits(func(l *Limits) {
				quota(l)
				l.MaxFileSizeMb = math.MaxInt64 >> 21
				l.RequireSchedulingForLarge, l.LargeThresholdMb = true, 1_000_000
			}), Input{
				Now: mustParse(t, tt.now), Location: loc, FileSizeBytes: size,
				RejectOverQuota: tt.reject, CountOnDay: counter.count,
			})

			require.NoError(t, err)
			require.Equal(t, tt.outcome, got.Outcome, got.Reason)
			assert.LessOrEqual(t, len(got.Reason), MaxReasonLength, got.Reason)
			assert.NotContains(t, got.Reason, "...")
		})
	}
}

func TestReasonCut(t *testing.T) {
	loc := loadZone(t, "America/Argentina/ComodRivadavia")
	counter := &dayCounter{loc: loc, counts: map[string]int{"2026-12-04": math.MaxInt, "2026-12-05": math.MaxInt}}

	got, err := Evaluate(limits(withQuota(math.MaxInt, 22, 6)), Input{
		Now: mustParse(t, "2026-12-04T13:00:00Z"), Location: loc, CountOnDay: counter.count,
	})

	require.NoError(t, err)
	assert.Len(t, got.Reason, MaxReasonLength)
	assert.True(t, strings.HasSuffix(got.Reason, "..."), got.Reason)
	assert.True(t, strings.HasPrefix(got.Reason, "scheduled for 2026-12-06 00:00 America/Argentina/ComodRivadavia because"), got.Reason)
}

func TestReasonCutRune(t *testing.T) {
	loc := time.FixedZone(strings.Repeat("é", 100), 0)

	got, err := Evaluate(limits(withWindow(9, 18)), Input{Now: mustParse(t, "2026-12-04T19:00:00Z"), Location: loc})

	require.NoError(t, err)
	assert.LessOrEqual(t, len(got.Reason), MaxReasonLength)
	assert.True(t, utf8.ValidString(got.Reason), got.Reason)
	assert.True(t, strings.HasSuffix(got.Reason, "..."), got.Reason)
}
