package policy

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcomes of Evaluate. Immediate and Scheduled are stored as the batch's
// PolicyDecision. The two rejections create no batch.
const (
	OutcomeImmediate       = "Immediate"
	OutcomeScheduled       = "Scheduled"
	OutcomeRejectTooLarge  = "RejectTooLarge"
	OutcomeRejectOverQuota = "RejectOverQuota"
)

// MaxReasonLength is the size of ImportBatches.PolicyReason in characters.
const MaxReasonLength = 200

// HorizonDays is how many days after today Evaluate looks for a day with room
// in the quota before it rejects the batch.
const HorizonDays = 31

// Input is the upload that Evaluate decides on.
type Input struct {
	// Now is the upload time, in any zone.
	Now time.Time
	// Location is the scheduling time zone (Scheduling:TimeZone) in which
	// hours and calendar days are read. nil means UTC.
	Location *time.Location
	// FileSizeBytes is the size of the uploaded file.
	FileSizeBytes int64
	// RejectOverQuota (Scheduling:RejectOverQuota) rejects a batch whose day
	// is full instead of moving it to a later day.
	RejectOverQuota bool
	// CountOnDay returns how many of the client's batches count against the
	// quota of the local calendar day [start, end): batches created that day
	// that ran immediately plus batches scheduled into that day, excluding
	// Cancelled ones. start and end are UTC. Evaluate calls it only when
	// MaxBatchPerDay > 0, at most once per day it considers.
	//
	// Evaluate only reads the count, so two uploads evaluated at the same
	// time could both take the last place of a day. The upload handler
	// therefore evaluates one client's uploads under a lock.
	CountOnDay func(start, end time.Time) (int, error)
}

// Decision is the result of Evaluate.
type Decision struct {
	// Outcome is one of the Outcome constants.
	Outcome string
	// ScheduledFor is the UTC start time of a Scheduled batch, else zero.
	ScheduledFor time.Time
	// Reason is one English sentence for ImportBatches.PolicyReason. It names
	// the rule and its values and contains no data from the file. It is at
	// most MaxReasonLength bytes long. Reasons for quotas of up to 12 digits
	// fit uncut even with the longest IANA zone name (32 characters), and
	// Evaluate cuts longer ones.
	Reason string
	// RetryAfter is, for RejectOverQuota, the time until the full day ends
	// in Location. It is exact, so callers that send whole seconds round it up.
	RetryAfter time.Duration
}

// Evaluate decides whether the upload in runs now, is scheduled, or is
// rejected under l. It returns an error when l is invalid (wrapping
// ErrInvalidLimits), when in is incomplete, or when CountOnDay fails.
func Evaluate(l Limits, in Input) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	if in.FileSizeBytes < 0 {
		return Decision{}, fmt.Errorf("policy: FileSizeBytes is %d, expected 0 or more", in.FileSizeBytes)
	}
	if l.MaxBatchPerDay > 0 && in.CountOnDay == nil {
		return Decision{}, fmt.Errorf("policy: CountOnDay is nil but MaxBatchPerDay is %d, so the quota cannot be checked", l.MaxBatchPerDay)
	}

	if reason, tooLarge := checkSize(l.MaxFileSizeMb, in.FileSizeBytes); tooLarge {
		return Decision{Outcome: OutcomeRejectTooLarge, Reason: reason}, nil
	}

	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	e := evaluation{limits: l, input: in, loc: loc, now: in.Now.In(loc)}
	e.resolveWindow()

	d, err := e.schedule()
	d.Reason = shorten(d.Reason)
	return d, err
}

// shorten cuts reason to at most MaxReasonLength bytes. It cuts at a rune
// boundary because a zone made with time.FixedZone may have a non-ASCII name.
func shorten(reason string) string {
	if len(reason) <= MaxReasonLength {
		return reason
	}

	cut := MaxReasonLength - len("...")
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + "..."
}

// checkSize returns a reason when the file is larger than maxMb MiB.
func checkSize(maxMb, size int64) (string, bool) {
	// A limit beyond math.MaxInt64 bytes cannot be exceeded.
	if maxMb > math.MaxInt64>>20 {
		return "", false
	}

	maxBytes := maxMb << 20
	if size <= maxBytes {
		return "", false
	}
	return fmt.Sprintf("file size %d bytes exceeds the maximum of %d MiB (%d bytes)", size, maxMb, maxBytes), true
}

// windowRule is the effect of the configured hours on one upload.
type windowRule int

const (
	noWindow      windowRule = iota // no hours are set
	wholeDay                        // start == end
	smallFile                       // the file is not large, so the hours do not apply
	windowApplies                   // the batch must run within the hours
)

// evaluation holds the state of one Evaluate call.
type evaluation struct {
	limits Limits
	input  Input
	loc    *time.Location
	now    time.Time // input.Now in loc

	rule       windowRule
	configured window  // the hours, unless rule is noWindow
	window     *window // the hours that restrict this batch, or nil
}

func (e *evaluation) resolveWindow() {
	l := e.limits
	if l.AllowedStartHour == nil {
		e.rule = noWindow
		return
	}

	e.configured = window{start: *l.AllowedStartHour, end: *l.AllowedEndHour}
	switch {
	case e.configured.wholeDay():
		e.rule = wholeDay
	case l.RequireSchedulingForLarge && e.input.FileSizeBytes <= int64(l.LargeThresholdMb)<<20:
		e.rule = smallFile
	default:
		e.rule = windowApplies
		e.window = &e.configured
	}
}

// schedule finds the first allowed instant on a day with room in the quota,
// starting today.
func (e *evaluation) schedule() (Decision, error) {
	today := dateOf(e.now)
	quota := e.limits.MaxBatchPerDay

	outsideWindow := false
	if e.window != nil {
		at, ok := firstAllowed(today, e.window, e.loc, e.now)
		outsideWindow = !ok || at.After(e.now)
	}

	var fullDays []civilDate
	for i := 0; i <= HorizonDays; i++ {
		day := today.addDays(i)
		at, ok := firstAllowed(day, e.window, e.loc, e.now)
		if !ok {
			continue
		}

		used := 0
		if quota > 0 {
			start, end := dayBounds(day, e.loc)
			n, err := e.input.CountOnDay(start.UTC(), end.UTC())
			if err != nil {
				return Decision{}, fmt.Errorf("policy: count batches of %s (%s): %w", day, e.loc, err)
			}
			if n >= quota {
				if e.input.RejectOverQuota {
					return e.rejectOverQuota(day, end), nil
				}
				fullDays = append(fullDays, day)
				continue
			}
			used = n
		}

		if !at.After(e.now) {
			return Decision{Outcome: OutcomeImmediate, Reason: e.immediateReason(day, used)}, nil
		}
		return Decision{
			Outcome:      OutcomeScheduled,
			ScheduledFor: at.UTC(),
			Reason:       e.scheduledReason(at, outsideWindow, fullDays),
		}, nil
	}

	if len(fullDays) == 0 {
		return Decision{}, fmt.Errorf("policy: no allowed time from %s to %s (%s) under the window %s",
			today, today.addDays(HorizonDays), e.loc, e.configured)
	}

	// The horizon moves by one day at the next local midnight, so a retry
	// makes sense then at the earliest.
	_, todayEnd := dayBounds(today, e.loc)
	return Decision{
		Outcome: OutcomeRejectOverQuota,
		Reason: fmt.Sprintf("the daily quota of %s is reached for every day from %s to %s (%s)",
			batchCount(quota), fullDays[0], fullDays[len(fullDays)-1], e.loc),
		RetryAfter: todayEnd.Sub(e.now),
	}, nil
}

func (e *evaluation) rejectOverQuota(day civilDate, dayEnd time.Time) Decision {
	return Decision{
		Outcome: OutcomeRejectOverQuota,
		Reason: fmt.Sprintf("the daily quota of %s is reached for %s (%s) and over-quota uploads are rejected",
			batchCount(e.limits.MaxBatchPerDay), day, e.loc),
		RetryAfter: dayEnd.Sub(e.now),
	}
}

// immediateReason explains an Immediate decision. used is the number of
// batches already counted on day.
func (e *evaluation) immediateReason(day civilDate, used int) string {
	var causes []string
	switch e.rule {
	case windowApplies:
		causes = append(causes, fmt.Sprintf("it is inside the allowed window %s", e.configured))
	case smallFile:
		causes = append(causes, fmt.Sprintf("files up to %d MiB may run outside the allowed window %s",
			e.limits.LargeThresholdMb, e.configured))
	case wholeDay:
		causes = append(causes, fmt.Sprintf("the allowed window %s covers the whole day", e.configured))
	}
	if quota := e.limits.MaxBatchPerDay; quota > 0 {
		causes = append(causes, fmt.Sprintf("it is batch %d of the %d allowed on %s", used+1, quota, day))
	}

	if len(causes) == 0 {
		return "runs immediately because no time window or daily quota applies"
	}
	return fmt.Sprintf("runs immediately because %s (%s)", strings.Join(causes, " and "), e.loc)
}

// scheduledReason explains a Scheduled decision for at.
func (e *evaluation) scheduledReason(at time.Time, outsideWindow bool, fullDays []civilDate) string {
	var causes []string
	if outsideWindow {
		causes = append(causes, fmt.Sprintf("it is outside the allowed window %s", e.configured))
	}
	if len(fullDays) > 0 {
		days := fullDays[0].String()
		if len(fullDays) > 1 {
			days += " to " + fullDays[len(fullDays)-1].String()
		}
		causes = append(causes, fmt.Sprintf("the daily quota of %s is reached for %s", batchCount(e.limits.MaxBatchPerDay), days))
	}

	when := fmt.Sprintf("scheduled for %s %s", at.In(e.loc).Format("2006-01-02 15:04"), e.loc)
	if len(causes) == 0 {
		return when + " because no earlier time is allowed"
	}
	return fmt.Sprintf("%s because %s", when, strings.Join(causes, " and "))
}

// batchCount writes n batches with the right plural.
func batchCount(n int) string {
	if n == 1 {
		return "1 batch"
	}

	return fmt.Sprintf("%d batches", n)
}
