// Package policy decides at upload time whether an import batch runs now,
// waits until a later time, or is rejected.
//
// The package does no I/O. Callers load the client's ClientPolicies row and
// the global row (ClientId NULL) and merge them with [Merge]. They pass the
// result to [Evaluate] with the clock, the scheduling time zone and a
// function that counts the client's batches of one calendar day.
//
// Rules, in the order Evaluate applies them:
//
//   - A file larger than MaxFileSizeMb MiB is rejected.
//   - Outside the allowed hours the batch is scheduled for the first allowed
//     instant. With RequireSchedulingForLarge only files above
//     LargeThresholdMb MiB wait for the window.
//   - A batch counts against the daily quota of the local calendar day on
//     which it runs. When that day is full, the batch is rejected
//     (Input.RejectOverQuota) or moved to the first later day with room,
//     looking at most HorizonDays ahead.
//
// A batch moved to a later day starts at the first allowed instant of that
// day: the window start for a window within one day, and local midnight
// without a window or for a window that crosses midnight, because 22-6
// allows 00:00-05:59 of every day.
//
// Days and hours are wall-clock values in Input.Location. On days with a
// daylight saving time change:
//
//   - An hour that the clocks skip resolves to the instant of the jump. In
//     America/New_York 02:00 on 2026-03-08 resolves to 03:00 EDT, and in
//     America/Sao_Paulo the day 2018-11-04 starts at 01:00 -02. This differs
//     from time.Date, which resolves a skipped time to the offset before or
//     after the jump depending on the zone and can land on the previous day.
//   - An hour that the clocks repeat resolves to its first occurrence, which
//     time.Date does not guarantee either (it returns the second occurrence in
//     Europe/Berlin).
//   - A window whose hours all fall in the skipped hour has no allowed time
//     that day, and a calendar day that a zone skipped entirely (Pacific/Apia
//     on 2011-12-30) is skipped as well.
package policy

import (
	"errors"
	"fmt"

	"github.com/dataflow/dataflow/modules/clients"
)

// ErrInvalidLimits marks an effective policy that Evaluate cannot apply, such
// as an hour outside 0-23. It points to bad ClientPolicies rows or settings.
var ErrInvalidLimits = errors.New("invalid policy")

// Limits is the effective policy of one client.
type Limits struct {
	// MaxFileSizeMb is the maximum file size in MiB. It must be positive.
	MaxFileSizeMb int64
	// MaxBatchPerDay is the daily quota of batches. 0 means no quota.
	MaxBatchPerDay int
	// AllowedStartHour and AllowedEndHour bound the allowed hours
	// [start, end) in the scheduling time zone. Both nil means any time, and
	// setting only one of them is invalid. start > end crosses midnight
	// (22 and 6 allow 22:00-05:59). start == end allows the whole day.
	AllowedStartHour *int
	AllowedEndHour   *int
	// RequireSchedulingForLarge limits the allowed hours to files above
	// LargeThresholdMb MiB, so smaller files run at any time. With a
	// threshold of 0 every non-empty file is large.
	RequireSchedulingForLarge bool
	LargeThresholdMb          int
	// RateLimitPerMinute is the upload rate limit of the client. Evaluate
	// does not use it but checks that it is positive.
	RateLimitPerMinute int
}

// Defaults are the values used for columns that are NULL in both the client's
// row and the global row.
type Defaults struct {
	// MaxFileSizeMb is ImportStorage:MaxFileSizeMb.
	MaxFileSizeMb int64
	// RateLimitPerMinute is RateLimit:RequestsPerMinute.
	RateLimitPerMinute int
}

// Merge computes the effective limits column by column. Each column comes
// from the client's row when it is not NULL, else from the global row when it
// is not NULL, else from d. Either row may be nil. Columns without a default
// fall back to no quota, no window, RequireSchedulingForLarge false and a
// threshold of 0.
//
// Because the hours merge one column at a time, a client row that sets only
// AllowedStartHour combines with the global AllowedEndHour.
func Merge(client, global *clients.Policy, d Defaults) Limits {
	var c, g clients.Policy
	if client != nil {
		c = *client
	}
	if global != nil {
		g = *global
	}

	l := Limits{
		MaxFileSizeMb:             d.MaxFileSizeMb,
		MaxBatchPerDay:            merge(c.MaxBatchPerDay, g.MaxBatchPerDay, 0),
		RequireSchedulingForLarge: merge(c.RequireSchedulingForLarge, g.RequireSchedulingForLarge, false),
		LargeThresholdMb:          merge(c.LargeThresholdMb, g.LargeThresholdMb, 0),
		RateLimitPerMinute:        merge(c.RateLimitPerMinute, g.RateLimitPerMinute, d.RateLimitPerMinute),
	}
	if size := firstSet(c.MaxFileSizeMb, g.MaxFileSizeMb); size != nil {
		l.MaxFileSizeMb = int64(*size)
	}

	// Copy the hours so that the Limits do not alias the rows.
	if hour := firstSet(c.AllowedStartHour, g.AllowedStartHour); hour != nil {
		l.AllowedStartHour = new(*hour)
	}
	if hour := firstSet(c.AllowedEndHour, g.AllowedEndHour); hour != nil {
		l.AllowedEndHour = new(*hour)
	}

	return l
}

// firstSet returns client when it is not nil, else global.
func firstSet[T any](client, global *T) *T {
	if client != nil {
		return client
	}
	return global
}

// merge returns the first non-nil value of client and global, else fallback.
func merge[T any](client, global *T, fallback T) T {
	if v := firstSet(client, global); v != nil {
		return *v
	}
	return fallback
}

// Validate returns an error wrapping ErrInvalidLimits for the first field
// that Evaluate cannot apply.
func (l Limits) Validate() error {
	if l.MaxFileSizeMb <= 0 {
		return fmt.Errorf("%w: MaxFileSizeMb is %d, expected a positive number of MiB (set ClientPolicies.MaxFileSizeMb or ImportStorage:MaxFileSizeMb)",
			ErrInvalidLimits, l.MaxFileSizeMb)
	}
	if l.MaxBatchPerDay < 0 {
		return fmt.Errorf("%w: MaxBatchPerDay is %d, expected 0 (no quota) or a positive number of batches",
			ErrInvalidLimits, l.MaxBatchPerDay)
	}
	if err := validateHour("AllowedStartHour", l.AllowedStartHour); err != nil {
		return err
	}
	if err := validateHour("AllowedEndHour", l.AllowedEndHour); err != nil {
		return err
	}
	if (l.AllowedStartHour == nil) != (l.AllowedEndHour == nil) {
		return fmt.Errorf("%w: only one of AllowedStartHour (%s) and AllowedEndHour (%s) is set, expected both or neither",
			ErrInvalidLimits, formatHour(l.AllowedStartHour), formatHour(l.AllowedEndHour))
	}
	if l.LargeThresholdMb < 0 {
		return fmt.Errorf("%w: LargeThresholdMb is %d, expected 0 or more MiB",
			ErrInvalidLimits, l.LargeThresholdMb)
	}
	if l.RateLimitPerMinute <= 0 {
		return fmt.Errorf("%w: RateLimitPerMinute is %d, expected a positive number (set ClientPolicies.RateLimitPerMinute or RateLimit:RequestsPerMinute)",
			ErrInvalidLimits, l.RateLimitPerMinute)
	}
	return nil
}

func validateHour(name string, hour *int) error {
	if hour != nil && (*hour < 0 || *hour > 23) {
		return fmt.Errorf("%w: %s is %d, expected an hour from 0 to 23", ErrInvalidLimits, name, *hour)
	}
	return nil
}

func formatHour(hour *int) string {
	if hour == nil {
		return "NULL"
	}
	return fmt.Sprint(*hour)
}
