package webhooks

import (
	"time"

	"github.com/dataflow/dataflow/platform/database"
)

// Event types, one per final batch status.
const (
	EventCompleted           = "batch.completed"
	EventCompletedWithErrors = "batch.completed_with_errors"
	EventFailed              = "batch.failed"
	EventCancelled           = "batch.cancelled"
)

// EventTypes lists every event type in a stable order.
var EventTypes = []string{EventCompleted, EventCompletedWithErrors, EventFailed, EventCancelled}

// Delivery statuses.
const (
	// DeliveryPending waits for its next attempt.
	DeliveryPending = "Pending"
	// DeliveryDelivered got a 2xx response.
	DeliveryDelivered = "Delivered"
	// DeliveryFailed used up its attempts or got 410.
	DeliveryFailed = "Failed"
	// DeliveryCancelled was dropped because its subscription was disabled.
	DeliveryCancelled = "Cancelled"
)

// Subscription is one endpoint of a client (table WebhookSubscriptions).
type Subscription struct {
	ID        database.UUID `gorm:"column:Id;primaryKey"`
	ClientID  database.UUID `gorm:"column:ClientId"`
	URL       string        `gorm:"column:Url"`
	Secret    string        `gorm:"column:Secret"`
	IsActive  bool          `gorm:"column:IsActive"`
	CreatedAt time.Time     `gorm:"column:CreatedAt"`

	// Columns added by DataFlow.

	// Events is a comma-separated list of event types; NULL means all.
	Events *string `gorm:"column:Events"`
	// FailingSince is the first failed attempt after the last success.
	FailingSince   *time.Time `gorm:"column:FailingSince"`
	DisabledAt     *time.Time `gorm:"column:DisabledAt"`
	DisabledReason *string    `gorm:"column:DisabledReason"`
}

// TableName keeps the .NET table name.
func (Subscription) TableName() string { return "WebhookSubscriptions" }

// Wants reports whether the subscription receives events of type t.
func (s Subscription) Wants(t string) bool {
	if s.Events == nil || *s.Events == "" {
		return true
	}

	for _, e := range splitEvents(*s.Events) {
		if e == t {
			return true
		}
	}

	return false
}

// Event is one batch event in the outbox (table WebhookEvents). It is
// written in the transaction of the batch's final status.
type Event struct {
	ID          database.UUID `gorm:"column:Id;primaryKey"`
	ClientID    database.UUID `gorm:"column:ClientId"`
	Type        string        `gorm:"column:Type"`
	BatchID     database.UUID `gorm:"column:BatchId"`
	PayloadJSON string        `gorm:"column:PayloadJson"`
	TraceID     *string       `gorm:"column:TraceId"`
	CreatedAt   time.Time     `gorm:"column:CreatedAt"`
}

// TableName names the outbox table.
func (Event) TableName() string { return "WebhookEvents" }

// Delivery is one event for one subscription, with the state of its
// attempts (table WebhookDeliveries).
type Delivery struct {
	ID             database.UUID `gorm:"column:Id;primaryKey"`
	EventID        database.UUID `gorm:"column:EventId"`
	SubscriptionID database.UUID `gorm:"column:SubscriptionId"`
	Status         string        `gorm:"column:Status"`
	Attempts       int           `gorm:"column:Attempts"`
	NextAttemptAt  *time.Time    `gorm:"column:NextAttemptAt"`
	// LockedBy and LockedUntil mark a delivery a worker is sending, so two
	// workers never send it at once; a lock past LockedUntil is abandoned.
	LockedBy       *string    `gorm:"column:LockedBy"`
	LockedUntil    *time.Time `gorm:"column:LockedUntil"`
	LastAttemptAt  *time.Time `gorm:"column:LastAttemptAt"`
	LastStatusCode *int       `gorm:"column:LastStatusCode"`
	LastError      *string    `gorm:"column:LastError"`
	LastDurationMs *int       `gorm:"column:LastDurationMs"`
	DeliveredAt    *time.Time `gorm:"column:DeliveredAt"`
	CreatedAt      time.Time  `gorm:"column:CreatedAt"`
}

// TableName names the delivery table.
func (Delivery) TableName() string { return "WebhookDeliveries" }

// eventType maps a final batch status to its event type.
func eventType(status string) (string, bool) {
	switch status {
	case "Completed":
		return EventCompleted, true
	case "CompletedWithErrors":
		return EventCompletedWithErrors, true
	case "Failed":
		return EventFailed, true
	case "Cancelled":
		return EventCancelled, true
	default:
		return "", false
	}
}
