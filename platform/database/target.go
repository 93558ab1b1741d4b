package database

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/microsoft/go-mssqldb/msdsn"
)

// Provider is a database engine DataFlow can store its data in. The values
// match the names that Database:Provider accepts after normalization.
type Provider string

// Supported providers.
const (
	SQLite    Provider = "sqlite"
	SQLServer Provider = "sqlserver"
	Postgres  Provider = "postgres"
)

// Target is a resolved database to open.
type Target struct {
	// Provider is the engine the DSN is meant for.
	Provider Provider
	// DSN is the data source name handed to the Go driver:
	// mattn/go-sqlite3, microsoft/go-mssqldb or jackc/pgx. It may contain the
	// password, so log Redacted instead.
	DSN string
	// Host is the server host name for logs, or the absolute file path for
	// SQLite (":memory:" or the shared-cache name for in-memory databases).
	// For PostgreSQL it is the first host after pgx applied its defaults:
	// PGHOST, else an existing Unix socket directory, else localhost.
	Host string
	// Port is the port written in the connection string, or 0 when the string
	// gives none. The driver then applies its own default: 1433 or SQL Browser
	// for a named SQL Server instance, PGPORT or 5432 for PostgreSQL.
	Port int
	// Database is the database name. It is empty for SQLite and when the
	// string names no database.
	Database string
	// User is the login name. It is empty when the string gives none, except
	// for PostgreSQL, where pgx falls back to PGUSER and then the
	// operating-system user.
	User string
	// Redacted is the connection string as configured, with every password
	// replaced by a fixed mask, so it is safe to log.
	Redacted string
}

const (
	// connectionStringKey and providerKey are the configuration keys that
	// error messages point the operator to.
	connectionStringKey = "ConnectionStrings:DataFlow"
	providerKey         = "Database:Provider"

	// DefaultSQLitePath is the database file used when
	// ConnectionStrings:DataFlow is empty. A relative path is resolved
	// against the working directory of the process.
	DefaultSQLitePath = "./data/dataflow.db"

	// passwordMask replaces password values. It has a fixed length so that it
	// never reveals the length of the password.
	passwordMask = "*****"

	// sqliteDirPerm is the mode of directories created for SQLite files:
	// the service user and its group only.
	sqliteDirPerm = 0o750
)

// ParseProvider normalizes a Database:Provider value. The match ignores case
// and surrounding spaces. It accepts sqlserver or mssql, postgres, postgresql
// or pgsql, and sqlite or sqlite3. An empty name returns "", and ResolveTarget
// then detects the provider from the connection string.
func ParseProvider(name string) (Provider, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return "", nil
	case "sqlserver", "mssql":
		return SQLServer, nil
	case "postgres", "postgresql", "pgsql":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	}

	return "", fmt.Errorf("invalid %s %q: use sqlserver (or mssql), postgres (or postgresql, pgsql), "+
		"sqlite (or sqlite3), or leave it empty to detect the provider from %s",
		providerKey, name, connectionStringKey)
}

// ResolveTarget turns the configured provider and connection string into the
// driver DSN and the details to log.
//
// An empty provider means that the provider is detected from the string,
// and an empty string then means the SQLite file DefaultSQLitePath.
// SQL Server strings are passed to go-mssqldb after its own parser accepted
// them, unchanged apart from leading whitespace. PostgreSQL URLs and keyword
// strings are passed to pgx unchanged, and Npgsql strings
// (Host=...;Username=...) are translated to the keyword form. SQLite paths are
// made absolute, their parent directory is created, and WAL, a busy timeout
// and foreign keys are switched on unless the string sets those parameters
// itself.
//
// Errors name ConnectionStrings:DataFlow and show the string with passwords
// masked. Driver messages are scrubbed of every spelling of the password found
// in the string.
// NOTE: go-mssqldb's ODBC syntax errors quote the one unexpected character,
// which can come from a malformed braced password such as {abc}d.
func ResolveTarget(provider, connectionString string) (Target, error) {
	parsed, err := ParseProvider(provider)
	if err != nil {
		return Target{}, err
	}

	if err := checkEmbeddedPassword(connectionString); err != nil {
		return Target{}, err
	}

	if parsed == "" {
		parsed, err = detectProvider(connectionString)
		if err != nil {
			return Target{}, err
		}
	}

	switch parsed {
	case SQLServer:
		return resolveSQLServer(connectionString)
	case Postgres:
		return resolvePostgres(connectionString)
	default:
		return resolveSQLite(connectionString)
	}
}

// urlSchemePattern matches the start of any URL with an authority part, so
// that unsupported schemes such as mysql:// get a clear error.
var urlSchemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// sqlServerADOKeys are the keys that mark an ADO string with a Server or
// Data Source key as a SQL Server string rather than a SQLite file name.
var sqlServerADOKeys = map[string]bool{
	"initial catalog":          true,
	"database":                 true,
	"user id":                  true,
	"uid":                      true,
	"integrated security":      true,
	"encrypt":                  true,
	"trustservercertificate":   true,
	"trust server certificate": true,
	"password":                 true,
	"persist security info":    true,
	"multipleactiveresultsets": true,
}

// sqlServerOnlyKeys are SqlClient keys that Npgsql does not accept, so a
// string with both these and Npgsql keys fits neither driver.
var sqlServerOnlyKeys = map[string]bool{
	"data source":              true,
	"initial catalog":          true,
	"uid":                      true,
	"encrypt":                  true,
	"trustservercertificate":   true,
	"multipleactiveresultsets": true,
}

// npgsqlMarkerKeys are Npgsql keys that SQL Server's SqlClient does not
// accept, so their presence points to PostgreSQL.
var npgsqlMarkerKeys = map[string]bool{
	"host":        true,
	"username":    true,
	"user name":   true,
	"port":        true,
	"ssl mode":    true,
	"sslmode":     true,
	"search path": true,
}

// sqliteADOKeys are the Microsoft.Data.Sqlite keys that may accompany
// Data Source when the provider is detected.
var sqliteADOKeys = map[string]bool{
	"data source":        true,
	"datasource":         true,
	"filename":           true,
	"mode":               true,
	"cache":              true,
	"foreign keys":       true,
	"recursive triggers": true,
	"default timeout":    true,
}

// detectProvider guesses the provider from the form of the connection string.
func detectProvider(connectionString string) (Provider, error) {
	trimmed := strings.TrimSpace(connectionString)

	switch {
	case trimmed == "":
		return SQLite, nil
	case strings.HasPrefix(trimmed, "postgres://"), strings.HasPrefix(trimmed, "postgresql://"):
		return Postgres, nil
	case strings.HasPrefix(trimmed, "sqlserver://"), strings.HasPrefix(trimmed, "odbc:"):
		return SQLServer, nil
	case strings.HasPrefix(trimmed, "file:"), trimmed == ":memory:":
		return SQLite, nil
	case urlSchemePattern.MatchString(trimmed):
		scheme, _, _ := strings.Cut(trimmed, "://")
		return "", fmt.Errorf("detecting the database provider from %s %q: no provider uses the URL scheme %q; "+
			"use postgres://, postgresql:// or sqlserver:// in lowercase, or set %s",
			connectionStringKey, redact(connectionString), scheme, providerKey)
	case !strings.Contains(trimmed, "="):
		if !looksLikeSQLitePath(trimmed) {
			return "", fmt.Errorf("detecting the database provider from %s %q: it is neither a connection string nor "+
				"a file path (a SQLite path contains / or ends in .db, .sqlite or .sqlite3); fix the string or set %s",
				connectionStringKey, redact(connectionString), providerKey)
		}

		return SQLite, nil
	}

	if keys, ok := parseKeywordDSN(trimmed); ok && allLibpqKeywords(keys) {
		return Postgres, nil
	}

	pairs, err := parseADO(trimmed)
	if err == nil {
		if provider, ok := classifyADO(pairs); ok {
			return provider, nil
		}
	}

	return "", fmt.Errorf("detecting the database provider from %s %q: the string does not match exactly one "+
		"of the SQL Server, PostgreSQL and SQLite forms; set %s to sqlserver, postgres or sqlite",
		connectionStringKey, redact(connectionString), providerKey)
}

// looksLikeSQLitePath reports whether a string without '=' is plausibly a
// file path, so that a mistyped connection string does not silently become
// a new SQLite file in the working directory.
func looksLikeSQLitePath(s string) bool {
	if strings.ContainsAny(s, `/\`) {
		return true
	}

	switch strings.ToLower(filepath.Ext(s)) {
	case ".db", ".sqlite", ".sqlite3", ".db3":
		return true
	}

	return false
}

// embeddedPassword finds a password key inside another key's value, which
// is what a missing ';' (or a ':' typed for it) produces.
var embeddedPassword = regexp.MustCompile(`(?i)[^;\s]\s*(password|pwd)\s*=`)

// checkEmbeddedPassword rejects a string whose password key is glued to the
// previous value (Host=db:Password=x, Data Source=h,1 Password=x). Such a
// string would otherwise put the password into a host name or a file name,
// and from there into logs.
func checkEmbeddedPassword(connectionString string) error {
	trimmed := strings.TrimSpace(connectionString)
	if urlSchemePattern.MatchString(trimmed) {
		return nil
	}

	// libpq keyword strings separate pairs with spaces: "host=x password=y".
	if _, ok := parseKeywordDSN(trimmed); ok {
		return nil
	}

	body := trimmed
	if len(body) >= 5 && strings.EqualFold(body[:5], "odbc:") {
		body = body[5:]
	}

	for _, m := range embeddedPassword.FindAllStringSubmatchIndex(body, -1) {
		before := strings.TrimRight(body[:m[2]], " \t")
		if before == "" || strings.HasSuffix(before, ";") {
			continue
		}

		return fmt.Errorf("invalid %s %q: the Password key follows another value without a ';' between them; "+
			"separate every key=value pair with ';'", connectionStringKey, maskAfterPassword(connectionString))
	}

	return nil
}

// maskAfterPassword masks everything after a password key, for strings too
// malformed for the regular redaction to find their pairs.
func maskAfterPassword(s string) string {
	loc := regexp.MustCompile(`(?i)(password|pwd)\s*=`).FindStringIndex(s)
	if loc == nil {
		return redact(s)
	}

	return s[:loc[1]] + "***"
}

// classifyADO picks the provider of an ADO key=value string from its keys.
// It reports false when the keys fit none or more than one provider.
func classifyADO(pairs []keyValue) (Provider, bool) {
	var hasServer, hasDataSource, hasSQLServerKey, hasSQLServerOnlyKey, hasNpgsqlKey bool
	onlySQLiteKeys := true

	for _, pair := range pairs {
		switch pair.key {
		case "server":
			hasServer = true
		case "data source", "datasource", "filename":
			hasDataSource = true
		}
		if sqlServerADOKeys[pair.key] {
			hasSQLServerKey = true
		}
		if sqlServerOnlyKeys[pair.key] {
			hasSQLServerOnlyKey = true
		}
		if npgsqlMarkerKeys[pair.key] {
			hasNpgsqlKey = true
		}
		if !sqliteADOKeys[pair.key] {
			onlySQLiteKeys = false
		}
	}

	isSQLServer := (hasServer || hasDataSource) && hasSQLServerKey

	switch {
	case hasDataSource && onlySQLiteKeys:
		return SQLite, true
	case isSQLServer && hasNpgsqlKey:
		return "", false
	case isSQLServer:
		return SQLServer, true
	case hasNpgsqlKey && hasSQLServerOnlyKey:
		return "", false
	case hasNpgsqlKey:
		return Postgres, true
	}
	return "", false
}

// resolveSQLServer validates the string with go-mssqldb's own parser, so that
// DataFlow accepts exactly the strings that the driver accepts.
//
// Leading whitespace is dropped because go-mssqldb recognizes the
// sqlserver:// and odbc: forms only at the very start. With a leading space
// it would read a URL as an ADO string without keys and connect to localhost.
// Everything else reaches the driver unchanged.
func resolveSQLServer(connectionString string) (Target, error) {
	connectionString = strings.TrimLeft(connectionString, " \t\r\n\f\v")
	redacted, secrets := redactConnectionString(connectionString)

	config, err := msdsn.Parse(connectionString)
	if err != nil {
		// The partially parsed parameters give the password exactly as the
		// driver read it, which may differ from what the redaction found.
		for _, key := range []string{msdsn.Password, msdsn.ChangePassword} {
			if value := config.Parameters[key]; value != "" {
				secrets = append(secrets, value)
			}
		}
		return Target{}, fmt.Errorf("parsing %s %q as a SQL Server connection string "+
			"(correct the value, or set %s if the database is not SQL Server): %w",
			connectionStringKey, redacted, providerKey, errors.New(scrubSecrets(err.Error(), secrets)))
	}

	return Target{
		Provider: SQLServer,
		DSN:      connectionString,
		Host:     config.Host,
		Port:     int(config.Port),
		Database: config.Database,
		User:     config.User,
		Redacted: redacted,
	}, nil
}

// keyValue is one pair of an ADO connection string. The key is lowercased
// with runs of whitespace collapsed to one space.
type keyValue struct {
	key   string
	value string
}

// parseADO parses the ADO.NET connection string syntax that Npgsql and
// Microsoft.Data.Sqlite use: key=value pairs separated by semicolons, and
// values optionally quoted with ' or " where a doubled quote stands for one.
func parseADO(connectionString string) ([]keyValue, error) {
	var pairs []keyValue
	s := connectionString
	i := 0

	for {
		for i < len(s) && (s[i] == ';' || isSpace(s[i])) {
			i++
		}
		if i == len(s) {
			break
		}

		start := i
		for i < len(s) && s[i] != '=' && s[i] != ';' {
			i++
		}
		key := normalizeADOKey(s[start:i])
		if i == len(s) || s[i] == ';' {
			return nil, fmt.Errorf("invalid connection string part %q: expected key=value", key)
		}
		if key == "" {
			return nil, errors.New("invalid connection string: a part starts with '=' and has no key")
		}
		i++

		for i < len(s) && isSpace(s[i]) {
			i++
		}

		var value string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			quote := s[i]
			i++
			var builder strings.Builder
			closed := false
			for i < len(s) {
				if s[i] == quote {
					if i+1 < len(s) && s[i+1] == quote {
						builder.WriteByte(quote)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				builder.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("invalid value of key %q: the opening quote is never closed", key)
			}
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && s[i] != ';' {
				return nil, fmt.Errorf("invalid value of key %q: text follows the closing quote; "+
					"put the whole value inside the quotes", key)
			}
			value = builder.String()
		} else {
			start := i
			for i < len(s) && s[i] != ';' {
				i++
			}
			value = strings.TrimRight(s[start:i], " \t\r\n\f\v")
		}

		pairs = append(pairs, keyValue{key: key, value: value})
	}

	return pairs, nil
}

func normalizeADOKey(key string) string {
	return strings.ToLower(strings.Join(strings.Fields(key), " "))
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
