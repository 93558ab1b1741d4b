package webhooks

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// TestStoreSQLServerStatements pins the statements of subscriptions, the
// outbox and deliveries on SQL Server, which the tests cannot reach.
// Statements that run inside a transaction are called here on their own.
func TestStoreSQLServerStatements(t *testing.T) {
	conn, rec := dbtest.OpenSQLServerDryRun(t)
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	s := &Store{db: conn, now: func() time.Time { return now }}
	ctx := context.Background()
	id := database.NewUUID()
	j := job{Delivery: Delivery{ID: id, SubscriptionID: id}}

	_, _ = s.Subscriptions(ctx, id)
	_, _ = s.Subscription(ctx, id, id)
	_, _ = s.Deliveries(ctx, id, []string{DeliveryFailed, DeliveryCancelled}, 51, &DeliveryCursor{CreatedAt: now, ID: id})
	_, _ = s.due(ctx, 200, 2)
	_, _ = s.claim(ctx, id, "webhooks-1", now.Add(time.Minute))
	_, _ = s.load(ctx, id)
	_ = s.disable(conn.DB, id, now, "the endpoint answered 410 Gone")
	_, _, _ = s.record(ctx, j, "webhooks-1", outcomeRetry, attempt{At: now, StatusCode: 503, Err: "the endpoint responded with 503"}, now.Add(time.Minute), time.Hour)
	_, _ = s.prune(ctx, now.Add(-30*24*time.Hour), 1000)

	dbtest.CheckSQL(t, filepath.Join("testdata", "sqlserver.sql"), rec.Statements())
}
