package database

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3"
	"github.com/microsoft/go-mssqldb/msdsn"
	"github.com/stretchr/testify/require"
)

// deploymentString is the SQL Server connection string form that existing
// .NET deployments use and that must keep working unchanged.
const deploymentString = "Data Source=sql.example.internal,1433;Initial Catalog=DataFlow;" +
	"User ID=dataflow;Password=p@ss;Encrypt=True;TrustServerCertificate=True"

// mssqlCase is one row of testdata/conformance/mssql-dsn/cases.tsv.
type mssqlCase struct {
	line        int
	input       string
	host        string
	port        string
	database    string
	user        string
	expectError bool
	source      string
}

func loadMSSQLCases(t *testing.T) []mssqlCase {
	t.Helper()

	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "conformance", "mssql-dsn", "cases.tsv"))
	require.NoError(t, err)

	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	require.Equal(t,
		"input\texpected_host\texpected_port\texpected_database\texpected_user\texpect_error\tother_asserted\tupstream_test\tinput_hex",
		string(lines[0]), "cases.tsv header changed")

	var cases []mssqlCase
	for i, line := range lines[1:] {
		fields := strings.Split(string(line), "\t")
		require.Len(t, fields, 9, "cases.tsv line %d", i+2)

		input, err := hex.DecodeString(fields[8])
		require.NoError(t, err, "cases.tsv line %d: input_hex", i+2)
		require.Contains(t, []string{"yes", "no"}, fields[5], "cases.tsv line %d: expect_error", i+2)

		cases = append(cases, mssqlCase{
			line:        i + 2,
			input:       string(input),
			host:        fields[1],
			port:        fields[2],
			database:    fields[3],
			user:        fields[4],
			expectError: fields[5] == "yes",
			source:      fields[7],
		})
	}
	return cases
}

func TestResolveTarget(t *testing.T) {
	t.Run("SQL Server conformance cases", func(t *testing.T) {
		cases := loadMSSQLCases(t)
		require.Len(t, cases, 174)

		var failures, successes int
		for _, c := range cases {
			target, err := ResolveTarget("sqlserver", c.input)
			where := "cases.tsv line " + strconv.Itoa(c.line) + " (" + c.source + ") " + strconv.Quote(c.input)

			if c.expectError {
				failures++
				require.Error(t, err, where)
				require.Contains(t, err.Error(), "ConnectionStrings:DataFlow", where)
				continue
			}

			successes++
			require.NoError(t, err, where)
			require.Equal(t, SQLServer, target.Provider, where)
			require.Equal(t, c.input, target.DSN, where)
			if c.host != "*" {
				require.Equal(t, c.host, target.Host, where)
			}
			if c.port != "*" {
				require.Equal(t, c.port, strconv.Itoa(target.Port), where)
			}
			if c.database != "*" {
				require.Equal(t, c.database, target.Database, where)
			}
			if c.user != "*" {
				require.Equal(t, c.user, target.User, where)
			}
		}
		require.Equal(t, 28, failures)
		require.Equal(t, 146, successes)
	})

	t.Run("SQL Server redaction keeps fields", func(t *testing.T) {
		// Parsing the redacted string with the driver's own parser must give
		// the mask as the password and leave host, user and database intact.
		for _, c := range loadMSSQLCases(t) {
			if c.expectError {
				continue
			}
			where := "cases.tsv line " + strconv.Itoa(c.line) + " " + strconv.Quote(c.input)

			original, err := msdsn.Parse(c.input)
			require.NoError(t, err, where)
			target, err := ResolveTarget("sqlserver", c.input)
			require.NoError(t, err, where)

			masked, err := msdsn.Parse(target.Redacted)
			require.NoError(t, err, where+" redacted as "+strconv.Quote(target.Redacted))
			if original.Password != "" {
				require.Equal(t, passwordMask, masked.Password, where)
			}
			require.Equal(t, original.Host, masked.Host, where)
			require.Equal(t, original.User, masked.User, where)
			require.Equal(t, original.Database, masked.Database, where)
		}
	})

	t.Run("SQL Server leading whitespace dropped", func(t *testing.T) {
		target, err := ResolveTarget("", "\n  sqlserver://sa:pw@sql.example.internal:1444?database=DataFlow")
		require.NoError(t, err)
		require.Equal(t, SQLServer, target.Provider)
		require.Equal(t, "sqlserver://sa:pw@sql.example.internal:1444?database=DataFlow", target.DSN)
		require.Equal(t, "sql.example.internal", target.Host)
		require.Equal(t, 1444, target.Port)
	})

	t.Run("deployment string without provider", func(t *testing.T) {
		target, err := ResolveTarget("", deploymentString)
		require.NoError(t, err)

		require.Equal(t, SQLServer, target.Provider)
		require.Equal(t, deploymentString, target.DSN)
		require.Equal(t, "sql.example.internal", target.Host)
		require.Equal(t, 1433, target.Port)
		require.Equal(t, "DataFlow", target.Database)
		require.Equal(t, "dataflow", target.User)
		require.NotContains(t, target.Redacted, "p@ss")
		require.Contains(t, target.Redacted, "Password="+passwordMask+";")
	})

	t.Run("provider detection by form", func(t *testing.T) {
		dir := t.TempDir()
		cases := []struct {
			name  string
			input string
			want  Provider
		}{
			{"postgres URL", "postgres://app:pw@localhost:5432/dataflow", Postgres},
			{"postgresql URL", "postgresql://localhost/dataflow", Postgres},
			{"libpq keywords", "host=localhost dbname=dataflow user=app", Postgres},
			{"libpq quoted value", "host=localhost password='a b' dbname=dataflow", Postgres},
			{"Npgsql", "Host=localhost;Database=dataflow;Username=app;Password=pw", Postgres},
			{"Npgsql with port", "Host=localhost;Port=5433;Database=dataflow", Postgres},
			{"sqlserver URL", "sqlserver://sa:pw@localhost:1433?database=DataFlow", SQLServer},
			{"odbc", "odbc:server=localhost;database=DataFlow", SQLServer},
			{"deployment string", deploymentString, SQLServer},
			{"Server and Database", "Server=localhost;Database=DataFlow", SQLServer},
			{"Server and Initial Catalog", "Server=localhost;Initial Catalog=DataFlow", SQLServer},
			{"Server and User ID", "Server=localhost;User ID=sa", SQLServer},
			{"Server and UID", "Server=localhost;UID=sa", SQLServer},
			{"Server and Integrated Security", "Server=localhost;Integrated Security=true", SQLServer},
			{"Server and Encrypt", "Server=localhost;Encrypt=false", SQLServer},
			{"Server and TrustServerCertificate", "Server=localhost;TrustServerCertificate=true", SQLServer},
			{"Server and Password", "Server=localhost;Password=pw", SQLServer},
			{"Server and Persist Security Info", "Server=localhost;Persist Security Info=false", SQLServer},
			{"Server and MARS", "Server=localhost;MultipleActiveResultSets=true", SQLServer},
			{"Data Source and Initial Catalog", "Data Source=localhost;Initial Catalog=DataFlow", SQLServer},
			{"lowercase keys", "server=localhost;database=DataFlow", SQLServer},
			{"file URI", "file:" + filepath.Join(dir, "uri.db") + "?cache=private", SQLite},
			{"memory", ":memory:", SQLite},
			{"plain path", filepath.Join(dir, "plain.db"), SQLite},
			{"relative path", "plain-relative.db", SQLite},
			{"Data Source path", "Data Source=" + filepath.Join(dir, "ado.db"), SQLite},
			{"Data Source with Mode and Cache", "Data Source=" + filepath.Join(dir, "mode.db") + ";Mode=ReadWriteCreate;Cache=Shared", SQLite},
		}

		t.Chdir(dir)
		for _, c := range cases {
			target, err := ResolveTarget("", c.input)
			require.NoError(t, err, c.name)
			require.Equal(t, c.want, target.Provider, c.name)
		}
	})

	t.Run("empty string uses default SQLite", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)

		target, err := ResolveTarget("", "")
		require.NoError(t, err)

		want := filepath.Join(dir, "data", "dataflow.db")
		require.Equal(t, SQLite, target.Provider)
		require.Equal(t, want, target.Host)
		require.DirExists(t, filepath.Join(dir, "data"))
		require.True(t, strings.HasPrefix(target.DSN, "file:"+want+"?"), target.DSN)
	})

	t.Run("ambiguous strings rejected", func(t *testing.T) {
		cases := []struct {
			name  string
			input string
		}{
			{"Server alone", "Server=localhost"},
			{"unknown keys", "Foo=bar;Baz=qux"},
			{"unsupported scheme", "mysql://app:S3cr3t-Unique-mysql@localhost/dataflow"},
			{"uppercase scheme", "Postgres://localhost/dataflow"},
			{"Npgsql Host with SQL Server key", "Host=localhost;Initial Catalog=DataFlow"},
			{"Server with Port", "Server=localhost;Port=1433;Database=DataFlow;Password=S3cr3t-Unique-port"},
			{"unclosed quote", "Server=localhost;Password=\"S3cr3t-Unique-quote;Database=x"},
		}
		for _, c := range cases {
			_, err := ResolveTarget("", c.input)
			require.Error(t, err, c.name)
			require.Contains(t, err.Error(), "ConnectionStrings:DataFlow", c.name)
			require.Contains(t, err.Error(), "Database:Provider", c.name)
			require.NotContains(t, err.Error(), "S3cr3t-Unique", c.name)
		}
	})

	t.Run("postgres URL and keywords unchanged", func(t *testing.T) {
		cases := []struct {
			input    string
			host     string
			port     int
			database string
			user     string
		}{
			{"postgres://app:pw@db.example.internal:5433/dataflow?sslmode=disable", "db.example.internal", 5433, "dataflow", "app"},
			{"postgresql://app@db.example.internal/dataflow", "db.example.internal", 0, "dataflow", "app"},
			{"postgres://app@[::1]:6543/dataflow", "::1", 6543, "dataflow", "app"},
			{"postgres://app@db.example.internal/dataflow?port=7000", "db.example.internal", 7000, "dataflow", "app"},
			{"host=db.example.internal port=5434 dbname=dataflow user=app sslmode=require", "db.example.internal", 5434, "dataflow", "app"},
			{"host=db.example.internal dbname='data flow' user=app", "db.example.internal", 0, "data flow", "app"},
		}
		for _, c := range cases {
			target, err := ResolveTarget("postgres", c.input)
			require.NoError(t, err, c.input)
			require.Equal(t, Postgres, target.Provider, c.input)
			require.Equal(t, c.input, target.DSN, c.input)
			require.Equal(t, c.host, target.Host, c.input)
			require.Equal(t, c.port, target.Port, c.input)
			require.Equal(t, c.database, target.Database, c.input)
			require.Equal(t, c.user, target.User, c.input)
		}
	})

	t.Run("Npgsql translated to keywords", func(t *testing.T) {
		cases := []struct {
			input string
			dsn   string
		}{
			{
				"Host=db.example.internal;Port=5433;Database=dataflow;Username=app;Password=pw",
				"host=db.example.internal port=5433 dbname=dataflow user=app password=pw",
			},
			{
				"host=db.example.internal;database=dataflow;user id=app;SSL Mode=VerifyFull;Timeout=20",
				"host=db.example.internal dbname=dataflow user=app sslmode=verify-full connect_timeout=20",
			},
			{
				"Server=db;DB=dataflow;User Name=app;SslMode=VerifyCA",
				"host=db dbname=dataflow user=app sslmode=verify-ca",
			},
			{
				"Host=db;User=app;SSL Mode=Disable;Application Name=Data Flow;Search Path=import,public",
				"host=db user=app sslmode=disable application_name='Data Flow' search_path=import,public",
			},
			{
				"Host=db;Username=app;Password='it''s a \\secret';SSL Mode=Prefer",
				`host=db user=app password='it\'s a \\secret' sslmode=prefer`,
			},
			{
				"Host=db;Username=app;Password=\"say \"\"hi\"\"\";SSL Mode=Require",
				`host=db user=app password='say "hi"' sslmode=require`,
			},
			{
				"Host=db;Username=app;Password=;",
				`host=db user=app password=''`,
			},
		}
		for _, c := range cases {
			target, err := ResolveTarget("postgres", c.input)
			require.NoError(t, err, c.input)
			require.Equal(t, c.dsn, target.DSN, c.input)

			// The translated DSN must mean the same to pgx as the Npgsql string
			// meant to Npgsql.
			config, err := pgx.ParseConfig(target.DSN)
			require.NoError(t, err, c.input)
			require.Equal(t, target.Host, config.Host, c.input)
			require.Equal(t, target.User, config.User, c.input)
		}

		target, err := ResolveTarget("postgres", "Host=db;Username=app;Password='it''s a \\secret'")
		require.NoError(t, err)
		config, err := pgx.ParseConfig(target.DSN)
		require.NoError(t, err)
		require.Equal(t, `it's a \secret`, config.Password)

		target, err = ResolveTarget("postgres", "Host=db;Port=5433;Database=dataflow;Username=app")
		require.NoError(t, err)
		require.Equal(t, 5433, target.Port)
		require.Equal(t, "dataflow", target.Database)
	})

	t.Run("invalid Npgsql strings rejected", func(t *testing.T) {
		cases := []struct {
			input   string
			message string
		}{
			{"Host=db;Maximum Pool Size=20;Password=S3cr3t-Unique-pool", `"maximum pool size"`},
			{"Host=db;SSL Mode=Sometimes;Password=S3cr3t-Unique-ssl", `"Sometimes"`},
			{"Host=db;Timeout=soon;Password=S3cr3t-Unique-timeout", `"soon"`},
			{"Database=dataflow;Username=app;Password=S3cr3t-Unique-host", "Host"},
			{"Host=db;Port=abc;Password=S3cr3t-Unique-port", "port"},
			{"Host=db;Password='S3cr3t-Unique-open", "quote"},
		}
		for _, c := range cases {
			_, err := ResolveTarget("postgres", c.input)
			require.Error(t, err, c.input)
			require.Contains(t, err.Error(), c.message, c.input)
			require.Contains(t, err.Error(), "ConnectionStrings:DataFlow", c.input)
			require.NotContains(t, err.Error(), "S3cr3t-Unique", c.input)
		}
	})

	t.Run("empty postgres string rejected", func(t *testing.T) {
		_, err := ResolveTarget("postgres", "  ")
		require.ErrorContains(t, err, "ConnectionStrings:DataFlow is empty")
	})

	t.Run("SQLite path forms", func(t *testing.T) {
		dir := t.TempDir()
		defaults := "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on"
		cases := []struct {
			name  string
			input string
			host  string
			dsn   string
		}{
			{
				"plain path",
				filepath.Join(dir, "plain", "a.db"),
				filepath.Join(dir, "plain", "a.db"),
				"file:" + filepath.Join(dir, "plain", "a.db") + "?" + defaults,
			},
			{
				"file URI keeps its query",
				"file:" + filepath.Join(dir, "uri", "b.db") + "?cache=private&_busy_timeout=500",
				filepath.Join(dir, "uri", "b.db"),
				"file:" + filepath.Join(dir, "uri", "b.db") +
					"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_foreign_keys=on&cache=private&_busy_timeout=500",
			},
			{
				"file URI with empty authority",
				"file://" + filepath.Join(dir, "authority", "c.db"),
				filepath.Join(dir, "authority", "c.db"),
				"file:" + filepath.Join(dir, "authority", "c.db") + "?" + defaults,
			},
			{
				"alias overrides the default",
				"file:" + filepath.Join(dir, "alias", "d.db") + "?_fk=off&_journal=DELETE",
				filepath.Join(dir, "alias", "d.db"),
				"file:" + filepath.Join(dir, "alias", "d.db") +
					"?_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate&_fk=off&_journal=DELETE",
			},
			{
				"Data Source",
				"Data Source=" + filepath.Join(dir, "ado", "e.db"),
				filepath.Join(dir, "ado", "e.db"),
				"file:" + filepath.Join(dir, "ado", "e.db") + "?" + defaults,
			},
			{
				"Data Source with options",
				"Data Source=" + filepath.Join(dir, "opts", "f.db") + ";Cache=Shared;Foreign Keys=False;Default Timeout=5",
				filepath.Join(dir, "opts", "f.db"),
				"file:" + filepath.Join(dir, "opts", "f.db") +
					"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&cache=shared&_foreign_keys=off&_busy_timeout=5000",
			},
			{
				"path with URI characters",
				filepath.Join(dir, "odd dir", "g?#%.db"),
				filepath.Join(dir, "odd dir", "g?#%.db"),
				"file:" + filepath.Join(dir, "odd dir", "g%3F%23%25.db") + "?" + defaults,
			},
			{
				"memory",
				":memory:",
				":memory:",
				"file::memory:?cache=shared&" + defaults,
			},
			{
				"named memory database",
				"Data Source=shared-one;Mode=Memory",
				"shared-one",
				"file:shared-one?cache=shared&" + defaults + "&mode=memory",
			},
		}

		for _, c := range cases {
			target, err := ResolveTarget("sqlite", c.input)
			require.NoError(t, err, c.name)
			require.Equal(t, SQLite, target.Provider, c.name)
			require.Equal(t, c.host, target.Host, c.name)
			require.Equal(t, c.dsn, target.DSN, c.name)
			if !strings.Contains(c.dsn, "memory") {
				require.DirExists(t, filepath.Dir(c.host), c.name)
			}
		}
	})

	t.Run("relative SQLite path", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)

		target, err := ResolveTarget("sqlite3", filepath.Join("nested", "rel.db"))
		require.NoError(t, err)
		require.Equal(t, filepath.Join(dir, "nested", "rel.db"), target.Host)
		require.DirExists(t, filepath.Join(dir, "nested"))
	})

	t.Run("SQLite DSN opens with driver", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "open", "dataflow.db")
		target, err := ResolveTarget("", path)
		require.NoError(t, err)

		db, err := sql.Open("sqlite3", target.DSN)
		require.NoError(t, err)
		defer func() { require.NoError(t, db.Close()) }()

		var journalMode string
		require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&journalMode))
		require.Equal(t, "wal", journalMode)

		var foreignKeys int
		require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&foreignKeys))
		require.Equal(t, 1, foreignKeys)

		var busyTimeout int
		require.NoError(t, db.QueryRow("PRAGMA busy_timeout").Scan(&busyTimeout))
		require.Equal(t, 10000, busyTimeout)

		_, err = db.Exec("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
		require.NoError(t, err)
		require.FileExists(t, path)
	})

	t.Run("SQLite path with URI characters", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "odd dir", "a?b#c%d.db")
		target, err := ResolveTarget("sqlite", path)
		require.NoError(t, err)

		db, err := sql.Open("sqlite3", target.DSN)
		require.NoError(t, err)
		defer func() { require.NoError(t, db.Close()) }()

		_, err = db.Exec("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
		require.NoError(t, err)
		require.FileExists(t, path)
	})

	t.Run("uncreatable SQLite directory", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "not-a-directory")
		require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))
		path := filepath.Join(blocker, "sub", "dataflow.db")

		_, err := ResolveTarget("sqlite", path)
		require.Error(t, err)
		require.Contains(t, err.Error(), "creating the directory")
		require.Contains(t, err.Error(), filepath.Join(blocker, "sub"))
		require.Contains(t, err.Error(), "ConnectionStrings:DataFlow")
		var pathErr *os.PathError
		require.ErrorAs(t, err, &pathErr, "the cause from os.MkdirAll stays wrapped")
	})

	t.Run("SQLite path is directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := ResolveTarget("sqlite", dir)
		require.ErrorContains(t, err, "the path is a directory")
	})

	t.Run("invalid SQLite strings rejected", func(t *testing.T) {
		dir := t.TempDir()
		cases := []struct {
			input   string
			message string
		}{
			{"Data Source=" + filepath.Join(dir, "a.db") + ";Journal=WAL", `"journal"`},
			{"Data Source=" + filepath.Join(dir, "a.db") + ";Mode=Sometimes", `"Sometimes"`},
			{"Data Source=" + filepath.Join(dir, "a.db") + ";Password=S3cr3t-Unique-cipher", "SQLCipher"},
			{"Data Source=|DataDirectory|a.db", "|DataDirectory|"},
			{"Data Source=\"" + filepath.Join(dir, "a.db"), "quote"},
			{"file://remote-host/a.db", `"remote-host"`},
			{"file:" + filepath.Join(dir, "a.db") + "?a=%zz", "query"},
		}
		for _, c := range cases {
			_, err := ResolveTarget("sqlite", c.input)
			require.Error(t, err, c.input)
			require.Contains(t, err.Error(), c.message, c.input)
			require.NotContains(t, err.Error(), "S3cr3t-Unique", c.input)
		}
	})

	t.Run("password never shown", func(t *testing.T) {
		// Each password is distinctive so that any leak, whole or in part
		// after unquoting, is found by a plain substring search.
		const secret = "Zx9-LEAK-"
		cases := []struct {
			provider string
			input    string
		}{
			{"sqlserver", "Server=db;Password=" + secret + "ado;port=notanumber"},
			{"sqlserver", "Server=db;Pwd=\"" + secret + "quoted;x\";log=invalid"},
			{"sqlserver", "Server=db;PWD='" + secret + "single';encrypt=maybe"},
			{"sqlserver", "odbc:server=db;password={" + secret + "braced;}}x};timezone=Nowhere/City"},
			{"sqlserver", "odbc:server=db;password={" + secret + "unclosed"},
			{"sqlserver", "sqlserver://sa:" + secret + "url@db:1433?database=x&database=y"},
			{"sqlserver", "sqlserver://sa:" + secret + "nul@db:1433\x00"},
			{"sqlserver", "sqlserver://db?password=" + secret + "query&log=x"},
			{"sqlserver", "Server=db;User ID=sa;Password=" + secret + "ok;Change Password=" + secret + "new"},
			{"sqlserver", deploymentString},
			{"postgres", "postgres://app:" + secret + "url@db:notaport/dataflow"},
			{"postgres", "postgres://app:" + secret + "url%2Fslash@db/dataflow?connect_timeout=x"},
			{"postgres", "host=db password=" + secret + "kw port=notaport"},
			{"postgres", "host=db password='" + secret + " quoted \\' kw' port=notaport"},
			{"postgres", "host=db sslpassword=" + secret + "ssl sslmode=bogus"},
			{"postgres", "Host=db;Password=" + secret + "npg;Port=notaport"},
			{"postgres", "Host=db;Password=\"" + secret + " npg\";Bogus Key=1"},
			{"postgres", "Host=db;Username=app;Password=" + secret + "ok"},
			{"", "Server=db;Password=" + secret + "guess"},
			{"", "Password=" + secret + "alone"},
			{"", "weird://user:" + secret + "scheme@host"},
			{"", "Host=db;Initial Catalog=x;Password=" + secret + "conflict"},
			{"", "host=db password=" + secret + "kw"},
			{"", "Data Source=x;Password=\"" + secret + "open"},
			{"sqlite", "Data Source=x.db;Password=" + secret + "sqlite"},
		}

		for _, c := range cases {
			where := c.provider + " " + strconv.Quote(c.input)
			target, err := ResolveTarget(c.provider, c.input)
			if err != nil {
				require.NotContains(t, err.Error(), "LEAK", where)
				require.NotContains(t, err.Error(), "p@ss", where)
				continue
			}
			require.NotContains(t, target.Redacted, "LEAK", where)
			require.NotContains(t, target.Redacted, "p@ss", where)
			require.Contains(t, target.Redacted, passwordMask, where)
		}
	})

	t.Run("mask hides password length", func(t *testing.T) {
		short, err := ResolveTarget("sqlserver", "Server=db;Password=a")
		require.NoError(t, err)
		long, err := ResolveTarget("sqlserver", "Server=db;Password="+strings.Repeat("b", 64))
		require.NoError(t, err)
		empty, err := ResolveTarget("sqlserver", "Server=db;Password=")
		require.NoError(t, err)

		require.Equal(t, "Server=db;Password="+passwordMask, short.Redacted)
		require.Equal(t, short.Redacted, long.Redacted)
		require.Equal(t, short.Redacted, empty.Redacted)
	})

	t.Run("unknown provider rejected", func(t *testing.T) {
		_, err := ResolveTarget("oracle", "Server=db")
		require.ErrorContains(t, err, "Database:Provider")
	})
}

func TestParseProvider(t *testing.T) {
	t.Run("names and aliases", func(t *testing.T) {
		cases := map[string]Provider{
			"":            "",
			"  ":          "",
			"sqlserver":   SQLServer,
			"SqlServer":   SQLServer,
			"MSSQL":       SQLServer,
			"postgres":    Postgres,
			"PostgreSQL":  Postgres,
			"pgsql":       Postgres,
			"sqlite":      SQLite,
			" Sqlite3 ":   SQLite,
			"SQLITE":      SQLite,
			"sqlserver\t": SQLServer,
		}
		for name, want := range cases {
			got, err := ParseProvider(name)
			require.NoError(t, err, name)
			require.Equal(t, want, got, name)
		}
	})

	t.Run("error lists allowed values", func(t *testing.T) {
		_, err := ParseProvider("mysql")
		require.Error(t, err)
		for _, part := range []string{"Database:Provider", `"mysql"`, "sqlserver", "mssql", "postgres", "postgresql", "pgsql", "sqlite", "sqlite3"} {
			require.Contains(t, err.Error(), part)
		}
	})
}

func TestResolveTargetMalformed(t *testing.T) {
	const password = "Sup3rS3cretXyz"
	for _, tc := range []struct {
		name, provider, input, reason string
	}{
		{"password glued to host with colon", "", "Host=127.0.0.1:Password=" + password, "without a ';'"},
		{"password glued to data source with space", "", "Data Source=127.0.0.1,1 Password=" + password, "without a ';'"},
		{"password glued with explicit provider", "postgres", "Host=db;Username=u Password=" + password, "without a ';'"},
		{"words that are not a path", "", "garbage string without form", "neither a connection string nor a file path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ResolveTarget(tc.provider, tc.input)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.reason)
			require.NotContains(t, err.Error(), password)
		})
	}

	t.Run("libpq keyword form keeps space separators", func(t *testing.T) {
		target, err := ResolveTarget("", "host=127.0.0.1 user=u password="+password+" dbname=d")
		require.NoError(t, err)
		require.Equal(t, Postgres, target.Provider)
	})

	t.Run("sqlite file names still work", func(t *testing.T) {
		target, err := ResolveTarget("", filepath.Join(t.TempDir(), "x.db"))
		require.NoError(t, err)
		require.Equal(t, SQLite, target.Provider)
	})
}
