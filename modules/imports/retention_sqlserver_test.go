package imports

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// TestRetentionSQLServerStatements pins the statements of retention and
// purge on SQL Server, which the tests cannot reach. Regenerate the file
// with -update-sql and review the difference.
func TestRetentionSQLServerStatements(t *testing.T) {
	conn, rec := dbtest.OpenSQLServerDryRun(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := &store{db: conn, now: func() time.Time { return now }}
	ctx := context.Background()
	id := database.NewUUID()
	cutoff := now.AddDate(0, 0, -30)

	_, _ = s.finishedBefore(ctx, cutoff, 100, clientScope{withoutOwnRetention: true})
	_, _ = s.finishedBefore(ctx, cutoff, 100, clientScope{only: []database.UUID{id, id}})
	_, _ = s.finishedBefore(ctx, cutoff, 10000, clientScope{})
	_, _ = s.batchesByID(ctx, []database.UUID{id, id, id})
	_, _ = s.allPolicies(ctx)
	_, _ = s.countBatchItems(ctx, id)
	_, _ = s.deleteItemsPiece(ctx, id)
	_, _ = s.deleteEmptyBatch(ctx, id)
	_, _ = s.finishedBatchExists(ctx, id)
	_, _ = s.clientIdentifiers(ctx, []database.UUID{id, id})

	dbtest.CheckSQL(t, filepath.Join("testdata", "sqlserver_retention.sql"), rec.Statements())
}
