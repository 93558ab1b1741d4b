package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/database"
)

// ErrNotFound is returned for a subscription or delivery the client does
// not have.
var ErrNotFound = errors.New("not found")

// ErrTooManySubscriptions is returned when the client has reached the
// limit of subscriptions.
var ErrTooManySubscriptions = errors.New("the client has reached the limit of webhook subscriptions")

// ErrRedeliveryPending is returned when the event already waits for a
// delivery to the subscription.
var ErrRedeliveryPending = errors.New("the event already waits for a delivery to this subscription")

// ErrDuplicateURL is returned when the client already has a subscription
// for the URL.
var ErrDuplicateURL = errors.New("the client already has a subscription for this URL")

// Store reads and writes subscriptions, the outbox and the delivery log.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// NewStore returns a store on db.
func NewStore(db *database.DB, now func() time.Time) *Store { return &Store{db: db, now: now} }

func (s *Store) utcNow() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// payload is the JSON body of a batch event: Standard Webhooks' type,
// timestamp and data. It holds counts and times, never lead data.
type payload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      payloadData `json:"data"`
}

type payloadData struct {
	BatchID          string     `json:"batchId"`
	ClientID         string     `json:"clientId"`
	ClientIdentifier string     `json:"clientIdentifier"`
	Status           string     `json:"status"`
	TotalRecords     int        `json:"totalRecords"`
	ProcessedRecords int        `json:"processedRecords"`
	ImportedRecords  int        `json:"importedRecords"`
	FailedRecords    int        `json:"failedRecords"`
	SkippedRecords   int        `json:"skippedRecords"`
	CreatedAt        time.Time  `json:"createdAt"`
	StartedAt        *time.Time `json:"startedAt"`
	CompletedAt      time.Time  `json:"completedAt"`
	DurationSeconds  *float64   `json:"durationSeconds"`
	ErrorSummary     *string    `json:"errorSummary"`
	TraceID          *string    `json:"traceId"`
	ParentBatchID    *string    `json:"parentBatchId"`
}

// eventPayload builds the JSON of a finished batch's event.
func eventPayload(typ string, e imports.BatchFinished, identifier string, at time.Time) ([]byte, error) {
	d := payloadData{
		BatchID: e.BatchID.String(), ClientID: e.ClientID.String(), ClientIdentifier: identifier, Status: e.Status,
		TotalRecords: e.TotalRecords, ProcessedRecords: e.ProcessedRecords,
		ImportedRecords: max(e.ProcessedRecords-e.FailedRecords-e.SkippedRecords, 0),
		FailedRecords:   e.FailedRecords, SkippedRecords: e.SkippedRecords,
		CreatedAt: e.CreatedAt.UTC(), CompletedAt: e.CompletedAt.UTC(),
	}
	if e.StartedAt != nil {
		started := e.StartedAt.UTC()
		d.StartedAt = &started
		secs := e.CompletedAt.Sub(started).Seconds()
		d.DurationSeconds = &secs
	}
	switch {
	case e.Status == "CompletedWithErrors":
		// The batch's own summary quotes OmniFlow's message for the first
		// failed record, which may repeat lead data, so the event carries
		// counts only.
		summary := fmt.Sprintf("%d of %d records failed; GET /imports/%s/items?status=Error lists them",
			e.FailedRecords, e.TotalRecords, e.BatchID)
		d.ErrorSummary = &summary
	case e.ErrorSummary != "":
		d.ErrorSummary = &e.ErrorSummary
	}
	if e.TraceID != "" {
		d.TraceID = &e.TraceID
	}
	if e.ParentBatchID != nil {
		parent := e.ParentBatchID.String()
		d.ParentBatchID = &parent
	}

	return json.Marshal(payload{Type: typ, Timestamp: at, Data: d})
}

// Enqueue writes the event of a finished batch and one pending delivery
// per active subscription of the client that wants it. It runs in the
// transaction of the batch's final status (see imports.FinishHook), so the
// event exists exactly when the status does. A client without matching
// subscriptions gets no row.
func (s *Store) Enqueue(tx *gorm.DB, e imports.BatchFinished) error {
	typ, ok := eventType(e.Status)
	if !ok {
		return nil
	}

	var subs []Subscription
	if err := tx.Where(s.db.Render("{ClientId} = ? AND {IsActive} = ?"), e.ClientID, true).Find(&subs).Error; err != nil {
		return fmt.Errorf("loading webhook subscriptions: %w", err)
	}

	var matching []Subscription
	for _, sub := range subs {
		if sub.Wants(typ) {
			matching = append(matching, sub)
		}
	}
	if len(matching) == 0 {
		return nil
	}

	var identifier string
	if err := tx.Raw(s.db.Render("SELECT {ClientIdentifier} FROM {Clients} WHERE {Id} = ?"), e.ClientID).Scan(&identifier).Error; err != nil {
		return fmt.Errorf("loading the client of the webhook event: %w", err)
	}

	now := s.utcNow()
	body, err := eventPayload(typ, e, identifier, now)
	if err != nil {
		return fmt.Errorf("encoding the webhook event: %w", err)
	}

	ev := Event{ID: database.NewUUID(), ClientID: e.ClientID, Type: typ, BatchID: e.BatchID, PayloadJSON: string(body), CreatedAt: now}
	if e.TraceID != "" {
		ev.TraceID = &e.TraceID
	}
	if err := tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("writing the webhook event: %w", err)
	}

	deliveries := make([]Delivery, 0, len(matching))
	for _, sub := range matching {
		deliveries = append(deliveries, Delivery{
			ID: database.NewUUID(), EventID: ev.ID, SubscriptionID: sub.ID, Status: DeliveryPending,
			NextAttemptAt: &now, CreatedAt: now,
		})
	}

	if err := tx.Create(&deliveries).Error; err != nil {
		return fmt.Errorf("writing webhook deliveries: %w", err)
	}

	return nil
}

// CreateSubscription adds a subscription with a new secret and returns it
// with the secret, which is never shown again. rawURL must be canonical
// (see ValidateURL). It holds a lock on the client's row, so parallel
// calls cannot pass maxPerClient subscriptions.
func (s *Store) CreateSubscription(ctx context.Context, clientID database.UUID, rawURL string, events []string, maxPerClient int) (Subscription, error) {
	sub := Subscription{
		ID: database.NewUUID(), ClientID: clientID, URL: rawURL, Secret: GenerateSecret(), IsActive: true, CreatedAt: s.utcNow(),
	}
	if len(events) > 0 {
		joined := strings.Join(events, ",")
		sub.Events = &joined
	}

	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(s.db.Render("UPDATE {Clients} SET {Status} = {Status} WHERE {Id} = ?"), clientID).Error; err != nil {
			return fmt.Errorf("locking the client: %w", err)
		}

		var existing []Subscription
		if err := tx.Select(s.db.Render("{Id}, {Url}")).Where(s.db.Render("{ClientId} = ?"), clientID).Find(&existing).Error; err != nil {
			return err
		}

		// Rows of the .NET service were stored as typed, so they are
		// compared in canonical form too.
		for _, e := range existing {
			if canonical, err := ValidateURL(e.URL, true); e.URL == rawURL || (err == nil && canonical == rawURL) {
				return ErrDuplicateURL
			}
		}

		if maxPerClient > 0 && len(existing) >= maxPerClient {
			return ErrTooManySubscriptions
		}

		return tx.Create(&sub).Error
	})
	if err != nil {
		if errors.Is(err, ErrDuplicateURL) || errors.Is(err, ErrTooManySubscriptions) {
			return Subscription{}, err
		}

		return Subscription{}, fmt.Errorf("creating the webhook subscription: %w", err)
	}

	return sub, nil
}

// Subscriptions lists a client's subscriptions, oldest first.
func (s *Store) Subscriptions(ctx context.Context, clientID database.UUID) ([]Subscription, error) {
	var subs []Subscription
	err := s.db.WithContext(ctx).Where(s.db.Render("{ClientId} = ?"), clientID).Order(s.db.Render("{CreatedAt}, {Id}")).Find(&subs).Error
	if err != nil {
		return nil, fmt.Errorf("listing webhook subscriptions: %w", err)
	}

	return subs, nil
}

// Subscription returns one subscription of the client.
func (s *Store) Subscription(ctx context.Context, clientID, id database.UUID) (Subscription, error) {
	var sub Subscription
	err := s.db.WithContext(ctx).Where(s.db.Render("{Id} = ? AND {ClientId} = ?"), id, clientID).Take(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("loading the webhook subscription: %w", err)
	}

	return sub, nil
}

// DeleteSubscription removes a subscription of the client with its
// delivery log.
func (s *Store) DeleteSubscription(ctx context.Context, clientID, id database.UUID) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Deliveries first: the cascade exists on every engine, but SQLite
		// applies it only when foreign keys are on for the connection.
		if err := tx.Exec(s.db.Render("DELETE FROM {WebhookDeliveries} WHERE {SubscriptionId} IN (SELECT {Id} FROM {WebhookSubscriptions} WHERE {Id} = ? AND {ClientId} = ?)"),
			id, clientID).Error; err != nil {
			return fmt.Errorf("deleting webhook deliveries: %w", err)
		}

		res := tx.Exec(s.db.Render("DELETE FROM {WebhookSubscriptions} WHERE {Id} = ? AND {ClientId} = ?"), id, clientID)
		if res.Error != nil {
			return fmt.Errorf("deleting the webhook subscription: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}

		return nil
	})
}

// DeliveryView is one row of a subscription's delivery log.
type DeliveryView struct {
	Delivery
	EventType string        `gorm:"column:EventType"`
	BatchID   database.UUID `gorm:"column:BatchId"`
}

// Deliveries lists a subscription's deliveries, newest first, at most
// limit, before the cursor (CreatedAt and Id of the last row of the
// previous page) when one is given. statuses filter when not empty.
func (s *Store) Deliveries(ctx context.Context, subscriptionID database.UUID, statuses []string, limit int, before *DeliveryCursor) ([]DeliveryView, error) {
	q := s.db.WithContext(ctx).Table(s.db.Render("{WebhookDeliveries} AS d")).
		Select(s.db.Render("d.*, e.{Type} AS {EventType}, e.{BatchId} AS {BatchId}")).
		Joins(s.db.Render("JOIN {WebhookEvents} AS e ON e.{Id} = d.{EventId}")).
		Where(s.db.Render("d.{SubscriptionId} = ?"), subscriptionID)
	if len(statuses) > 0 {
		q = q.Where(s.db.Render("d.{Status} IN ?"), statuses)
	}
	if before != nil {
		q = q.Where(s.db.Render("(d.{CreatedAt} < ? OR (d.{CreatedAt} = ? AND d.{Id} < ?))"), before.CreatedAt, before.CreatedAt, before.ID)
	}

	var out []DeliveryView
	if err := q.Order(s.db.Render("d.{CreatedAt} DESC, d.{Id} DESC")).Limit(limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("listing webhook deliveries: %w", err)
	}

	return out, nil
}

// DeliveryCursor is the position after which a delivery page starts.
type DeliveryCursor = database.Cursor

// Redeliver queues the event of a delivery again for its subscription, as
// a new delivery with its own log. The webhook-id stays the event's id, so
// a receiver can recognise the repeat.
func (s *Store) Redeliver(ctx context.Context, subscriptionID, deliveryID database.UUID) (Delivery, error) {
	now := s.utcNow()
	d := Delivery{ID: database.NewUUID(), SubscriptionID: subscriptionID, Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var old Delivery
		err := tx.Where(s.db.Render("{Id} = ? AND {SubscriptionId} = ?"), deliveryID, subscriptionID).Take(&old).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		d.EventID = old.EventID

		var waiting int64
		if err := tx.Model(&Delivery{}).Where(s.db.Render("{EventId} = ? AND {SubscriptionId} = ? AND {Status} = ?"),
			old.EventID, subscriptionID, DeliveryPending).Count(&waiting).Error; err != nil {
			return err
		}
		if waiting > 0 {
			return ErrRedeliveryPending
		}

		return tx.Create(&d).Error
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrRedeliveryPending) {
			return Delivery{}, err
		}

		return Delivery{}, fmt.Errorf("queueing the redelivery: %w", err)
	}

	return d, nil
}
