package dbtest

import (
	"flag"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/driver/sqlserver"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"github.com/dataflow/dataflow/platform/database"
)

var update = flag.Bool("update-sql", false, "rewrite the expected SQL Server statements")

// Recorder collects the statements a dry-run database would have sent.
type Recorder struct {
	mu         sync.Mutex
	statements []string
}

// Statements returns the recorded statements in order.
func (r *Recorder) Statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]string(nil), r.statements...)
}

func (r *Recorder) record(db *gorm.DB) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.statements = append(r.statements, db.Statement.SQL.String())
}

// OpenSQLServerDryRun returns a SQL Server database that sends nothing: GORM
// builds every statement with the SQL Server dialect and the Recorder keeps
// it. SQL Server is not available to the tests, so this is how they show
// exactly what production runs. Statements inside transactions cannot be
// recorded, because a transaction needs a connection.
func OpenSQLServerDryRun(t testing.TB) (*database.DB, *Recorder) {
	t.Helper()

	gdb, err := gorm.Open(sqlserver.Open("sqlserver://dryrun:dryrun@127.0.0.1:1?database=dryrun"), &gorm.Config{
		DryRun:                 true,
		DisableAutomaticPing:   true,
		SkipDefaultTransaction: true,
		NamingStrategy:         schema.NamingStrategy{NoLowerCase: true, SingularTable: true},
		Logger:                 logger.Discard,
	})
	require.NoError(t, err)

	rec := &Recorder{}
	require.NoError(t, gdb.Callback().Raw().After("gorm:raw").Register("dbtest:record_raw", rec.record))
	require.NoError(t, gdb.Callback().Query().After("gorm:query").Register("dbtest:record_query", rec.record))
	require.NoError(t, gdb.Callback().Row().After("gorm:row").Register("dbtest:record_row", rec.record))
	require.NoError(t, gdb.Callback().Update().After("gorm:update").Register("dbtest:record_update", rec.record))
	require.NoError(t, gdb.Callback().Create().After("gorm:create").Register("dbtest:record_create", rec.record))

	return &database.DB{DB: gdb, Dialect: database.Dialect{Provider: database.SQLServer}}, rec
}

// CheckSQL compares statements with the file at path, one statement per
// paragraph. With -update-sql it rewrites the file instead.
func CheckSQL(t testing.TB, path string, statements []string) {
	t.Helper()

	got := strings.Join(statements, ";\n\n") + ";\n"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}

	want, err := os.ReadFile(path)
	require.NoError(t, err, "run the test with -update-sql to create %s", path)
	require.Equal(t, string(want), got, "the SQL Server statements changed; review them and run the test with -update-sql")
}
