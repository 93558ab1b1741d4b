package imports

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// TestStoreSQLServerStatements pins the statements that claim, fence and
// finish batches on SQL Server, which the tests cannot reach. Statements
// that run inside a transaction are called here on their own.
func TestStoreSQLServerStatements(t *testing.T) {
	conn, rec := dbtest.OpenSQLServerDryRun(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := &store{db: conn, now: func() time.Time { return now }}
	ctx := context.Background()
	id := database.NewUUID()
	later := now.Add(time.Minute)

	_, _ = s.candidates(ctx, 10, 3)
	_, _, _ = s.claim(ctx, Batch{ID: id, LeaseToken: 4}, "worker-a", 100)
	_ = s.heartbeat(ctx, id, 5)
	_ = s.finishStaging(ctx, id, 5, 3000)
	_, _, _ = s.firstPending(ctx, id)
	_, _ = s.loadChunk(ctx, id, 2, 100)
	_, _ = s.countItems(conn.DB, id, 200, 299, ItemPending)
	_ = guardedUpdate(conn.DB, conn.Dialect, id, 5,
		"{ProcessedRecords} = {ProcessedRecords} + ?, {FailedRecords} = {FailedRecords} + ?, {HeartbeatAt} = ?", 100, 1, now)
	_ = updateOutcomes(conn.DB, conn.Dialect, id, []itemOutcome{
		{Sequence: 200, Status: ItemImported}, {Sequence: 201, Status: ItemImported},
		{Sequence: 202, Status: ItemImported, LeadID: "lead-1"}, {Sequence: 203, Status: ItemError, Error: "missing phoneNumber"},
	})
	_ = maskPayloads(conn.DB, conn.Dialect, id, []itemOutcome{{Sequence: 200, Status: ItemImported, Mask: `{"masked":true}`}})
	_ = s.finish(ctx, id, 5, StatusCompleted, "")
	_ = s.release(ctx, id, 5, releaseStop, nil)
	_ = s.release(ctx, id, 5, releasePause, &later)
	_ = s.release(ctx, id, 5, releaseFailure, &later)
	_, _ = s.recoverStale(ctx, now)
	_, _, _ = s.duplicateOf(ctx, id, "ab12", now.Add(-24*time.Hour))
	_, _ = s.listBatches(ctx, batchFilter{clientID: id, statuses: []string{StatusFailed}, createdFrom: &now, createdTo: &later,
		before: &batchCursor{CreatedAt: now, ID: id}, limit: 51})
	_, _ = s.cancelWaiting(ctx, id, id, "cancelled")
	_, _ = s.requestCancel(ctx, id, id)
	_, _ = s.cancelRequested(ctx, id)
	_ = s.finishCancelled(ctx, id, 5, "cancelled after 200 of 500 records")
	_, _, _ = s.policies(ctx, id)
	_, _ = s.countOnDay(ctx, id, now, later)
	_, _ = s.clientLoads(ctx, []database.UUID{id})
	_, _ = s.listItems(ctx, id, []string{ItemError, ItemSkipped}, 10, 100)
	_, _ = s.listItems(ctx, id, nil, -1, 101)
	_ = guardedUpdate(conn.DB, conn.Dialect, id, 5,
		"{StagedRecords} = ?, {HeartbeatAt} = ?, {ProcessedRecords} = {ProcessedRecords} + ?, {FailedRecords} = {FailedRecords} + ?, {SkippedRecords} = {SkippedRecords} + ?",
		1000, now, 3, 2, 1)

	dbtest.CheckSQL(t, filepath.Join("testdata", "sqlserver.sql"), rec.Statements())
}
