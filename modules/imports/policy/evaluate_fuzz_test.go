package policy

import (
	"testing"
	"time"
)

// fuzzZones mix daylight saving rules: none, jumps at midnight (Sao_Paulo
// 2018, Havana), 30-minute shifts (Lord_Howe), a skipped day (Apia) and
// positive and negative offsets.
var fuzzZones = []string{
	"UTC", "America/Sao_Paulo", "America/New_York", "Europe/Berlin", "Pacific/Apia",
	"Australia/Lord_Howe", "America/Havana", "America/Santiago", "Asia/Kathmandu", "Pacific/Chatham",
}

// FuzzEvaluate checks invariants that hold for every decision: a batch runs
// now or later, inside the allowed hours and on a day with room in the quota.
func FuzzEvaluate(f *testing.F) {
	f.Add(int64(1796439600), false, int16(0), uint8(1), uint8(22), uint8(6), true, uint8(2), uint32(1), false)
	f.Add(int64(1541289600), true, int16(-90), uint8(1), uint8(0), uint8(6), true, uint8(1), uint32(3), true)
	f.Add(int64(1772951400), true, int16(30), uint8(2), uint8(2), uint8(3), true, uint8(0), uint32(0), false)
	f.Add(int64(1541289524), false, int16(0), uint8(1), uint8(0), uint8(1), true, uint8(1), uint32(86), true)

	f.Fuzz(func(t *testing.T, unix int64, nearChange bool, minutes int16, zone, start, end uint8, hasWindow bool, quota uint8, fullDays uint32, reject bool) {
		// Keep the instants between 1970 and 2100.
		unix %= 4102444800
		if unix < 0 {
			unix = -unix
		}
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(unix, 0).In(loc)

		// Most instants are far from a clock change, so nearChange moves now
		// to within 36 hours of the last change before it.
		if change, _ := now.ZoneBounds(); nearChange && !change.IsZero() {
			now = change.Add(time.Duration(minutes%(36*60)) * time.Minute)
		}
		today := dateOf(now.In(loc))

		l := Limits{MaxFileSizeMb: 1, RateLimitPerMinute: 1, MaxBatchPerDay: int(quota % 3)}
		w := window{int(start % 24), int(end % 24)}
		if hasWindow {
			l.AllowedStartHour, l.AllowedEndHour = new(w.start), new(w.end)
		}

		// Day i after today is full when bit i of fullDays is set.
		full := func(d civilDate) bool {
			offset := daysBetween(today, d)
			return offset < 32 && fullDays&(1<<offset) != 0
		}
		count := func(dayStart, _ time.Time) (int, error) {
			if full(dateOf(dayStart.In(loc))) {
				return l.MaxBatchPerDay, nil
			}
			return 0, nil
		}

		got, err := Evaluate(l, Input{Now: now, Location: loc, RejectOverQuota: reject, CountOnDay: count})
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}

		windowApplies := hasWindow && !w.wholeDay()
		quotaApplies := l.MaxBatchPerDay > 0
		switch got.Outcome {
		case OutcomeImmediate:
			if windowApplies && !insideHours(now.In(loc).Hour(), w) {
				t.Errorf("immediate at %s outside %s: %s", now.In(loc), w, got.Reason)
			}
			if quotaApplies && full(today) {
				t.Errorf("immediate at %s on a full day: %s", now.In(loc), got.Reason)
			}

		case OutcomeScheduled:
			at := got.ScheduledFor.In(loc)
			if !got.ScheduledFor.After(now) {
				t.Errorf("scheduled for %s, not after %s", at, now.In(loc))
			}
			if windowApplies && !insideHours(at.Hour(), w) {
				t.Errorf("scheduled for %s outside %s: %s", at, w, got.Reason)
			}
			if quotaApplies && full(dateOf(at)) {
				t.Errorf("scheduled for %s on a full day: %s", at, got.Reason)
			}
			if offset := daysBetween(today, dateOf(at)); offset > HorizonDays {
				t.Errorf("scheduled for %s, %d days ahead", at, offset)
			}

			// Every zone changes its offset by multiples of 15 minutes, so
			// 15-minute steps meet each local hour.
			for step := now; step.Before(got.ScheduledFor); step = step.Truncate(15 * time.Minute).Add(15 * time.Minute) {
				local := step.In(loc)
				inside := !windowApplies || insideHours(local.Hour(), w)
				if inside && !(quotaApplies && full(dateOf(local))) {
					t.Errorf("scheduled for %s, but %s is allowed: %s", at, local, got.Reason)
					break
				}
			}

		case OutcomeRejectOverQuota:
			if !quotaApplies {
				t.Errorf("rejected without a quota: %s", got.Reason)
			}
			// The full day is at most two days after today: today's window can
			// be over, and the next day's can fall in a skipped hour.
			if got.RetryAfter <= 0 || got.RetryAfter > 3*25*time.Hour {
				t.Errorf("RetryAfter is %s: %s", got.RetryAfter, got.Reason)
			}

		default:
			t.Errorf("unexpected outcome %q", got.Outcome)
		}

		if len(got.Reason) == 0 || len(got.Reason) > MaxReasonLength {
			t.Errorf("reason has %d bytes: %q", len(got.Reason), got.Reason)
		}
	})
}

func insideHours(hour int, w window) bool {
	switch {
	case w.wholeDay():
		return true
	case w.start < w.end:
		return w.start <= hour && hour < w.end
	default:
		return hour >= w.start || hour < w.end
	}
}

func daysBetween(from, to civilDate) int {
	a := time.Date(from.year, from.month, from.day, 12, 0, 0, 0, time.UTC)
	b := time.Date(to.year, to.month, to.day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}
