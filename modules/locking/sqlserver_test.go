package locking

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// TestSlotsSQLServerStatements pins the statements the slot rules send to
// SQL Server, which the tests cannot reach: each transition is one
// conditional UPDATE whose row count decides, as on the engines tested.
func TestSlotsSQLServerStatements(t *testing.T) {
	conn, rec := dbtest.OpenSQLServerDryRun(t)
	slots := NewSlots(conn, zerolog.Nop(), func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) })
	ctx := context.Background()
	lease := Lease{Slot: 1, Token: 7}

	_ = slots.Ensure(ctx, 1)
	_, _ = slots.Acquire(ctx, 2, "worker-a")
	_, _ = slots.take(ctx, 1, 6, "worker-a")
	_ = slots.Assign(ctx, lease, database.NewUUID())
	_ = slots.Heartbeat(ctx, lease)
	_ = slots.Release(ctx, lease)
	_, _ = slots.ExpireStale(ctx, time.Minute)
	_, _ = slots.free(ctx, 1, 7)

	dbtest.CheckSQL(t, filepath.Join("testdata", "sqlserver.sql"), rec.Statements())
}
