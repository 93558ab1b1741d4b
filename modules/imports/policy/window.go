package policy

import (
	"fmt"
	"time"
)

// civilDate is a calendar day without a time zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	year, month, day := t.Date()
	return civilDate{year, month, day}
}

func (d civilDate) addDays(n int) civilDate {
	// Noon UTC keeps the arithmetic clear of any time zone.
	return dateOf(time.Date(d.year, d.month, d.day+n, 12, 0, 0, 0, time.UTC))
}

func (d civilDate) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
}

// wallClock returns the first instant at which the clock in loc reads hour:00
// on day d or later. For an hour skipped by a daylight saving time change that
// is the instant of the jump, and for a repeated hour it is the first
// occurrence.
func wallClock(d civilDate, hour int, loc *time.Location) time.Time {
	t := time.Date(d.year, d.month, d.day, hour, 0, 0, 0, loc)
	want := time.Date(d.year, d.month, d.day, hour, 0, 0, 0, time.UTC)
	got := naive(t)

	// A mismatch means the wall time does not exist, and time.Date applied the
	// offset of one side of the gap. The gap ends at the zone boundary next
	// to t.
	if got.Before(want) {
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
		return t
	}
	if got.After(want) {
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			return start
		}
		return t
	}

	return firstOccurrence(t)
}

// firstOccurrence returns the earlier instant with the same wall time as t
// when the clocks were set back just before t's zone period began, else t.
func firstOccurrence(t time.Time) time.Time {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}

	_, offset := t.Zone()
	_, previousOffset := start.Add(-time.Nanosecond).Zone()
	if previousOffset <= offset {
		return t
	}

	earlier := t.Add(-time.Duration(previousOffset-offset) * time.Second)
	if earlier.Before(start) && naive(earlier).Equal(naive(t)) {
		return earlier
	}
	return t
}

// naive returns the wall time of t as a UTC time, for comparing wall times.
func naive(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// dayBounds returns the instants [start, end) of day d in loc. start equals
// end for a day that loc skipped.
func dayBounds(d civilDate, loc *time.Location) (start, end time.Time) {
	return wallClock(d, 0, loc), wallClock(d.addDays(1), 0, loc)
}

// window is a validated pair of allowed hours.
type window struct {
	start, end int
}

func (w window) wholeDay() bool { return w.start == w.end }

func (w window) String() string {
	return fmt.Sprintf("%02d:00-%02d:00", w.start, w.end)
}

// interval is the instants [from, to).
type interval struct {
	from, to time.Time
}

// allowedIntervals returns the allowed instants of day d in order. A nil
// window allows the whole day.
func allowedIntervals(d civilDate, w *window, loc *time.Location) []interval {
	dayStart, dayEnd := dayBounds(d, loc)
	if w == nil || w.wholeDay() {
		return []interval{{dayStart, dayEnd}}
	}

	windowStart := wallClock(d, w.start, loc)
	windowEnd := wallClock(d, w.end, loc)
	if w.start < w.end {
		return []interval{{windowStart, windowEnd}}
	}

	// The window crosses midnight, so day d holds the end of the window that
	// began the day before and the start of the next one.
	return []interval{{dayStart, windowEnd}, {windowStart, dayEnd}}
}

// firstAllowed returns the first allowed instant of day d at or after now.
func firstAllowed(d civilDate, w *window, loc *time.Location, now time.Time) (time.Time, bool) {
	for _, in := range allowedIntervals(d, w, loc) {
		if !in.from.Before(in.to) || !now.Before(in.to) {
			continue
		}
		if in.from.After(now) {
			return in.from, true
		}
		return now, true
	}
	return time.Time{}, false
}
