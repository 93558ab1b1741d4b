// Package dbtest opens real databases for tests: a fresh SQLite file always,
// and a fresh PostgreSQL schema when DATAFLOW_TEST_POSTGRES is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/database"
)

// PostgresEnv names the variable with the PostgreSQL URL tests use.
const PostgresEnv = "DATAFLOW_TEST_POSTGRES"

// Engine is a database engine tests run against.
type Engine struct {
	Name string
	Open func(t testing.TB) *database.DB
}

// Engines returns SQLite, plus PostgreSQL when DATAFLOW_TEST_POSTGRES is set.
func Engines() []Engine {
	engines := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(PostgresEnv) != "" {
		engines = append(engines, Engine{Name: "postgres", Open: OpenPostgres})
	}

	return engines
}

// OpenSQLite opens a new SQLite file in a temporary folder.
func OpenSQLite(t testing.TB) *database.DB {
	t.Helper()

	target, err := database.ResolveTarget("sqlite", filepath.Join(t.TempDir(), "test.db"))
	require.NoError(t, err)

	return open(t, target)
}

// OpenPostgres opens DATAFLOW_TEST_POSTGRES with a new schema as the search
// path, and drops the schema when the test ends.
func OpenPostgres(t testing.TB) *database.DB {
	t.Helper()

	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set")
	}

	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	schema := "test_" + hex.EncodeToString(suffix)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err, "connecting to %s", PostgresEnv)

	_, err = admin.Exec(ctx, `CREATE SCHEMA "`+schema+`"`)
	require.NoError(t, err)
	_ = admin.Close(ctx)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping schema %s: %v", schema, err)

			return
		}
		defer conn.Close(ctx)

		if _, err := conn.Exec(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	require.NoError(t, err)

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	target, err := database.ResolveTarget("postgres", u.String())
	require.NoError(t, err)

	return open(t, target)
}

func open(t testing.TB, target database.Target) *database.DB {
	t.Helper()

	db, err := database.Open(context.Background(), target, database.Options{MaxOpenConns: 8, Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	return db
}

// Migrate applies migrations to db.
func Migrate(t testing.TB, db *database.DB, migrations []database.Migration) {
	t.Helper()

	m, err := database.NewMigrator(db.DB, db.Dialect, migrations)
	require.NoError(t, err)

	_, err = m.Up(context.Background())
	require.NoError(t, err)
}
