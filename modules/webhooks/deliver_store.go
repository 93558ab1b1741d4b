package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// job is a claimed delivery with what sending it needs.
type job struct {
	Delivery
	Event            Event
	Subscription     Subscription
	ClientIdentifier string
}

// dueRow is a delivery whose next attempt has come.
type dueRow struct {
	ID             database.UUID `gorm:"column:Id"`
	SubscriptionID database.UUID `gorm:"column:SubscriptionId"`
	ClientID       database.UUID `gorm:"column:ClientId"`
}

// due returns deliveries whose next attempt has come and that no worker
// holds, oldest first: at most perSubscription of each subscription, so a
// backlog of one endpoint cannot hide the others.
func (s *Store) due(ctx context.Context, limit, perSubscription int) ([]dueRow, error) {
	now := s.utcNow()

	ready := s.db.WithContext(ctx).Table(s.db.Render("{WebhookDeliveries} AS d")).
		Select(s.db.Render("d.{Id}, d.{SubscriptionId}, e.{ClientId}, d.{NextAttemptAt}, "+
			"ROW_NUMBER() OVER (PARTITION BY d.{SubscriptionId} ORDER BY d.{NextAttemptAt}, d.{Id}) AS {Rank}")).
		Joins(s.db.Render("JOIN {WebhookEvents} AS e ON e.{Id} = d.{EventId}")).
		Where(s.db.Render("d.{Status} = ? AND d.{NextAttemptAt} <= ? AND (d.{LockedUntil} IS NULL OR d.{LockedUntil} < ?)"), DeliveryPending, now, now)

	var rows []dueRow
	err := s.db.WithContext(ctx).Table("(?) AS ranked", ready).
		Select(s.db.Render("{Id}, {SubscriptionId}, {ClientId}")).Where(s.db.Render("{Rank} <= ?"), perSubscription).
		Order(s.db.Render("{NextAttemptAt}, {Id}")).Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("looking for due webhook deliveries: %w", err)
	}

	return rows, nil
}

// claim locks a due delivery for lockedBy until until. It returns false
// when another worker took it first.
func (s *Store) claim(ctx context.Context, id database.UUID, lockedBy string, until time.Time) (bool, error) {
	now := s.utcNow()
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {WebhookDeliveries} SET {LockedBy} = ?, {LockedUntil} = ? "+
			"WHERE {Id} = ? AND {Status} = ? AND {NextAttemptAt} <= ? AND ({LockedUntil} IS NULL OR {LockedUntil} < ?)"),
		lockedBy, until.UTC(), id, DeliveryPending, now, now)
	if res.Error != nil {
		return false, fmt.Errorf("claiming webhook delivery %s: %w", id, res.Error)
	}

	return res.RowsAffected == 1, nil
}

// load reads a claimed delivery with its event, subscription and client.
func (s *Store) load(ctx context.Context, id database.UUID) (job, error) {
	var j job
	db := s.db.WithContext(ctx)
	if err := db.Where(s.db.Render("{Id} = ?"), id).Take(&j.Delivery).Error; err != nil {
		return job{}, fmt.Errorf("loading webhook delivery %s: %w", id, err)
	}

	if err := db.Where(s.db.Render("{Id} = ?"), j.EventID).Take(&j.Event).Error; err != nil {
		return job{}, fmt.Errorf("loading webhook event %s: %w", j.EventID, err)
	}

	err := db.Where(s.db.Render("{Id} = ?"), j.SubscriptionID).Take(&j.Subscription).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return job{}, fmt.Errorf("loading webhook subscription %s: %w", j.SubscriptionID, err)
	}

	if err := db.Raw(s.db.Render("SELECT {ClientIdentifier} FROM {Clients} WHERE {Id} = ?"), j.Event.ClientID).
		Scan(&j.ClientIdentifier).Error; err != nil {
		return job{}, fmt.Errorf("loading the client of webhook event %s: %w", j.EventID, err)
	}

	return j, nil
}

// attempt is the result of one send.
type attempt struct {
	At         time.Time
	StatusCode int // 0 when no response came back
	Err        string
	Duration   time.Duration
	// Failure is the metric reason when no response came back: refused,
	// timeout or error.
	Failure string
}

// outcomeKind is the effect of an attempt on its delivery.
type outcomeKind int

const (
	outcomeDelivered outcomeKind = iota
	outcomeRetry
	outcomeExhausted
	outcomeGone
	outcomeDropped // the subscription is gone or disabled
)

// record writes an attempt's result under the claim. For a failure it
// also starts or continues the subscription's failing period, and
// disables the subscription when the endpoint responded with 410 or has failed
// for longer than disableAfter. It returns whether the subscription was
// disabled now.
func (s *Store) record(ctx context.Context, j job, lockedBy string, kind outcomeKind, a attempt, next time.Time, disableAfter time.Duration) (bool, string, error) {
	disabled, reason := false, ""
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		set := "{Attempts} = {Attempts} + 1, {LastAttemptAt} = ?, {LastStatusCode} = ?, {LastError} = ?, {LastDurationMs} = ?, " +
			"{LockedBy} = NULL, {LockedUntil} = NULL, {Status} = ?, {NextAttemptAt} = ?, {DeliveredAt} = ?"
		var code *int
		if a.StatusCode != 0 {
			code = &a.StatusCode
		}
		var errText *string
		if a.Err != "" {
			trimmed := truncate(a.Err, 512)
			errText = &trimmed
		}
		ms := int(a.Duration.Milliseconds())
		status, nextAt, deliveredAt := DeliveryFailed, (*time.Time)(nil), (*time.Time)(nil)
		switch kind {
		case outcomeDelivered:
			status, deliveredAt = DeliveryDelivered, &a.At
		case outcomeRetry:
			status, nextAt = DeliveryPending, &next
		case outcomeDropped:
			status = DeliveryCancelled
			set = "{LockedBy} = NULL, {LockedUntil} = NULL, {LastError} = ?, {Status} = ?, {NextAttemptAt} = ?, {DeliveredAt} = ?"
		}

		args := []any{a.At, code, errText, ms, status, nextAt, deliveredAt}
		if kind == outcomeDropped {
			args = []any{errText, status, nextAt, deliveredAt}
		}
		res := tx.Exec(s.db.Render("UPDATE {WebhookDeliveries} SET "+set+" WHERE {Id} = ? AND {LockedBy} = ? AND {Status} = ?"),
			append(args, j.ID, lockedBy, DeliveryPending)...)
		if res.Error != nil {
			return fmt.Errorf("recording webhook delivery %s: %w", j.ID, res.Error)
		}
		if res.RowsAffected == 0 || kind == outcomeDropped {
			// The claim expired and someone else took over, or the
			// subscription was disabled meanwhile: nothing more to write.
			return nil
		}

		switch kind {
		case outcomeDelivered:
			return tx.Exec(s.db.Render("UPDATE {WebhookSubscriptions} SET {FailingSince} = NULL WHERE {Id} = ?"), j.SubscriptionID).Error
		case outcomeGone:
			disabled, reason = true, "the endpoint responded with 410 Gone"

			return s.disable(tx, j.SubscriptionID, a.At, reason)
		}

		if err := tx.Exec(s.db.Render("UPDATE {WebhookSubscriptions} SET {FailingSince} = COALESCE({FailingSince}, ?) WHERE {Id} = ?"),
			a.At, j.SubscriptionID).Error; err != nil {
			return fmt.Errorf("marking webhook subscription %s as failing: %w", j.SubscriptionID, err)
		}

		var since *time.Time
		if err := tx.Raw(s.db.Render("SELECT {FailingSince} FROM {WebhookSubscriptions} WHERE {Id} = ? AND {IsActive} = ?"), j.SubscriptionID, true).
			Scan(&since).Error; err != nil {
			return fmt.Errorf("reading webhook subscription %s: %w", j.SubscriptionID, err)
		}
		if since != nil && !a.At.Before(since.Add(disableAfter)) {
			disabled = true
			reason = fmt.Sprintf("every delivery failed for %s (Webhooks:DisableAfterDays)", formatSpan(a.At.Sub(*since)))

			return s.disable(tx, j.SubscriptionID, a.At, reason)
		}

		return nil
	})

	return disabled, reason, err
}

// disable turns a subscription off and cancels its waiting deliveries.
func (s *Store) disable(tx *gorm.DB, id database.UUID, at time.Time, reason string) error {
	if err := tx.Exec(s.db.Render("UPDATE {WebhookSubscriptions} SET {IsActive} = ?, {DisabledAt} = ?, {DisabledReason} = ? WHERE {Id} = ?"),
		false, at, truncate(reason, 256), id).Error; err != nil {
		return fmt.Errorf("disabling webhook subscription %s: %w", id, err)
	}

	if err := tx.Exec(s.db.Render("UPDATE {WebhookDeliveries} SET {Status} = ?, {NextAttemptAt} = NULL, {LastError} = ? WHERE {SubscriptionId} = ? AND {Status} = ?"),
		DeliveryCancelled, "the subscription was disabled: "+truncate(reason, 400), id, DeliveryPending).Error; err != nil {
		return fmt.Errorf("cancelling deliveries of webhook subscription %s: %w", id, err)
	}

	return nil
}

// prune deletes events older than cutoff whose deliveries all ended, with
// their deliveries, at most limit events per call. It returns how many
// events it deleted.
func (s *Store) prune(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var ids []database.UUID
	err := s.db.WithContext(ctx).Model(&Event{}).
		Where(s.db.Render("{CreatedAt} < ? AND NOT EXISTS (SELECT 1 FROM {WebhookDeliveries} AS d WHERE d.{EventId} = {WebhookEvents}.{Id} AND d.{Status} = ?)"),
			cutoff.UTC(), DeliveryPending).
		Order(s.db.Render("{CreatedAt}")).Limit(limit).Pluck("Id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}

	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(s.db.Render("DELETE FROM {WebhookDeliveries} WHERE {EventId} IN ?"), ids).Error; err != nil {
			return err
		}

		return tx.Exec(s.db.Render("DELETE FROM {WebhookEvents} WHERE {Id} IN ?"), ids).Error
	})
	if err != nil {
		return 0, fmt.Errorf("pruning old webhook events: %w", err)
	}

	return len(ids), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}

	return s[:n]
}

// formatSpan writes a failing period in days, or in hours or minutes when
// it is shorter than a day.
func formatSpan(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	default:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
}
