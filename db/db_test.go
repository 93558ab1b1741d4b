package db_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

var update = flag.Bool("update", false, "rewrite the reference SQL scripts")

func TestScripts(t *testing.T) {
	for _, p := range []database.Provider{database.SQLServer, database.Postgres, database.SQLite} {
		t.Run(string(p), func(t *testing.T) {
			stmts := database.Script(database.Dialect{Provider: p}, db.Migrations())
			var b strings.Builder
			b.WriteString("-- Generated from the migrations by `go test ./db -update`; do not edit.\n")
			for _, s := range stmts {
				b.WriteString(s)
				if !strings.HasPrefix(s, "--") {
					b.WriteString(";")
				}

				b.WriteString("\n")
			}

			path := filepath.Join(".", string(p)+".sql")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}

			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), b.String(), "run `go test ./db -update` after changing a migration")
		})
	}
}

func TestSQLServerScript(t *testing.T) {
	sql := strings.Join(database.Script(database.Dialect{Provider: database.SQLServer}, db.Migrations()), "\n")

	t.Run("quotes identifiers with brackets", func(t *testing.T) {
		require.Contains(t, sql, "CREATE TABLE [ImportBatches]")
		require.NotContains(t, sql, `"ImportBatches"`)
	})
	t.Run("uses SQL Server types", func(t *testing.T) {
		require.Contains(t, sql, "[Id] uniqueidentifier NOT NULL PRIMARY KEY")
		require.Contains(t, sql, "[SecretHash] varbinary(max) NOT NULL")
		require.Contains(t, sql, "[Id] bigint IDENTITY(1,1) NOT NULL PRIMARY KEY")
		require.Contains(t, sql, "[IsLocked] bit NOT NULL DEFAULT 0")
		require.Contains(t, sql, "[CreatedAt] datetime2 NOT NULL")
	})
	t.Run("adopts existing tables", func(t *testing.T) {
		require.Contains(t, sql, "IF OBJECT_ID(N'dbo.Clients', N'U') IS NULL")
		require.Contains(t, sql, "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'UX_ImportItems_BatchId_Sequence'")
	})
	t.Run("adds columns without COLUMN keyword", func(t *testing.T) {
		require.Contains(t, sql, "ALTER TABLE [ImportBatches] ADD [LeaseToken] bigint NOT NULL DEFAULT 0")
	})
}

func TestMigrations(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := engine.Open(t)
			m, err := database.NewMigrator(conn.DB, conn.Dialect, db.Migrations())
			require.NoError(t, err)

			applied, err := m.Up(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"}, applied)
			count := len(applied)
			last := applied[count-1]

			t.Run("up twice is a no-op", func(t *testing.T) {
				again, err := m.Up(ctx)
				require.NoError(t, err)
				require.Empty(t, again)
			})

			t.Run("tables and slot 1 exist", func(t *testing.T) {
				for _, table := range []string{"Clients", "ClientPolicies", "ImportBatches", "ImportItems", "BatchLocks", "WebhookSubscriptions"} {
					var n int64
					require.NoError(t, conn.Raw(conn.Render("SELECT COUNT(*) FROM {"+table+"}")).Scan(&n).Error, table)
				}

				var row struct {
					ID       int  `gorm:"column:Id"`
					IsLocked bool `gorm:"column:IsLocked"`
				}
				require.NoError(t, conn.Raw(conn.Render("SELECT {Id}, {IsLocked} FROM {BatchLocks}")).Scan(&row).Error)
				require.Equal(t, 1, row.ID)
				require.False(t, row.IsLocked)
			})

			t.Run("down one step then up", func(t *testing.T) {
				version, err := m.Down(ctx)
				require.NoError(t, err)
				require.Equal(t, last, version)

				pending, err := m.Pending(ctx)
				require.NoError(t, err)
				require.Equal(t, 1, pending)

				applied, err := m.Up(ctx)
				require.NoError(t, err)
				require.Equal(t, []string{last}, applied)
			})

			t.Run("down to empty and up again", func(t *testing.T) {
				for range count {
					_, err := m.Down(ctx)
					require.NoError(t, err)
				}

				_, err := m.Down(ctx)
				require.ErrorIs(t, err, database.ErrNothingToRollBack)

				applied, err := m.Up(ctx)
				require.NoError(t, err)
				require.Len(t, applied, count)
			})

			t.Run("status lists every migration as applied", func(t *testing.T) {
				status, err := m.Status(ctx)
				require.NoError(t, err)
				require.Len(t, status, count)
				for _, s := range status {
					require.NotNil(t, s.AppliedAt, s.Version)
				}
			})
		})
	}
}

func TestConcurrentMigrations(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			conn := engine.Open(t)
			errs := make(chan error, 4)
			for range 4 {
				go func() {
					m, err := database.NewMigrator(conn.DB, conn.Dialect, db.Migrations())
					if err == nil {
						_, err = m.Up(context.Background())
					}

					errs <- err
				}()
			}

			for range 4 {
				require.NoError(t, <-errs)
			}

			m, err := database.NewMigrator(conn.DB, conn.Dialect, db.Migrations())
			require.NoError(t, err)
			pending, err := m.Pending(context.Background())
			require.NoError(t, err)
			require.Zero(t, pending)
		})
	}
}

func TestMigrateDownKeepsData(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := engine.Open(t)
			m, err := database.NewMigrator(conn.DB, conn.Dialect, db.Migrations())
			require.NoError(t, err)
			_, err = m.Up(ctx)
			require.NoError(t, err)

			require.NoError(t, conn.Exec(conn.Render("INSERT INTO {Clients} ({Id}, {Name}, {ClientIdentifier}, {SecretHash}, {SecretSalt}, {Status}, {CreatedAt}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
				database.NewUUID(), "Kept", "kept", []byte{1}, []byte{1}, "Active", time.Now().UTC()).Error)

			// Every migration but the first rolls back; the first would drop
			// Clients, which has a row.
			for range len(db.Migrations()) - 1 {
				_, err := m.Down(ctx)
				require.NoError(t, err)
			}

			_, err = m.Down(ctx)
			require.ErrorContains(t, err, "table Clients has 1 row(s)")

			var n int64
			require.NoError(t, conn.Raw(conn.Render("SELECT COUNT(*) FROM {Clients}")).Scan(&n).Error)
			require.EqualValues(t, 1, n)
		})
	}
}

func TestMigrateStatusOnlyReads(t *testing.T) {
	conn := dbtest.OpenSQLite(t)
	m, err := database.NewMigrator(conn.DB, conn.Dialect, db.Migrations())
	require.NoError(t, err)

	status, err := m.Status(context.Background())
	require.NoError(t, err)
	require.Len(t, status, len(db.Migrations()))
	require.Nil(t, status[0].AppliedAt)
	require.False(t, conn.Migrator().HasTable("SchemaMigrations"))
}
