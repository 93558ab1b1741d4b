package database

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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

// resolvePostgres accepts the URL and keyword forms that pgx parses, and
// translates the Npgsql form that the .NET service used.
func resolvePostgres(connectionString string) (Target, error) {
	redacted, secrets := redactConnectionString(connectionString)
	trimmed := strings.TrimSpace(connectionString)

	if trimmed == "" {
		return Target{}, fmt.Errorf("resolving the PostgreSQL connection: %s is empty; set it to a URL "+
			"(postgres://user:password@host:5432/dbname) or an Npgsql string (Host=...;Database=...;Username=...)",
			connectionStringKey)
	}

	var dsn string
	var portGiven bool

	switch {
	case strings.HasPrefix(trimmed, "postgres://"), strings.HasPrefix(trimmed, "postgresql://"):
		dsn = trimmed
		portGiven = postgresURLHasPort(trimmed)
	case isLibpqKeywordForm(trimmed):
		dsn = trimmed
		keys, _ := parseKeywordDSN(trimmed)
		_, portGiven = keys["port"]
	default:
		translated, err := translateNpgsql(trimmed)
		if err != nil {
			return Target{}, fmt.Errorf("translating %s %q from the Npgsql form: %w", connectionStringKey, redacted, err)
		}
		dsn = translated.dsn
		portGiven = translated.portGiven
		secrets = append(secrets, translated.secrets...)
	}

	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return Target{}, fmt.Errorf("parsing %s %q as a PostgreSQL connection string "+
			"(correct the value, or set %s if the database is not PostgreSQL): %w",
			connectionStringKey, redacted, providerKey, errors.New(scrubSecrets(pgxErrorReason(err), secrets)))
	}

	target := Target{
		Provider: Postgres,
		DSN:      dsn,
		Host:     config.Host,
		Database: config.Database,
		User:     config.User,
		Redacted: redacted,
	}
	if portGiven {
		target.Port = int(config.Port)
	}
	return target, nil
}

// pgxErrorReason drops the connection string that pgx puts at the start of
// its parse errors. DataFlow's message already shows the string, masked by
// its own rules.
func pgxErrorReason(err error) string {
	message := err.Error()
	const prefix = "cannot parse `"
	if rest, ok := strings.CutPrefix(message, prefix); ok {
		if _, reason, found := strings.Cut(rest, "`: "); found {
			return reason
		}
	}
	return message
}

// postgresURLHasPort reports whether a postgres:// URL names a port for any
// of its hosts or in a port query parameter.
func postgresURLHasPort(rawURL string) bool {
	_, rest, _ := strings.Cut(rawURL, "://")

	authority := rest
	query := ""
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		authority = rest[:end]
		query = rest[end:]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}

	for _, host := range strings.Split(authority, ",") {
		if closing := strings.LastIndexByte(host, ']'); closing >= 0 {
			host = host[closing+1:]
		}
		if strings.Contains(host, ":") {
			return true
		}
	}

	if _, rawQuery, ok := strings.Cut(query, "?"); ok {
		values, err := url.ParseQuery(rawQuery)
		if err == nil && values.Has("port") {
			return true
		}
	}
	return false
}

// npgsqlTranslation is a keyword DSN built from an Npgsql string, with the
// password spellings that scrubbing must also remove from errors.
type npgsqlTranslation struct {
	dsn       string
	portGiven bool
	secrets   []string
}

// npgsqlKeys maps Npgsql keys, lowercased and with spaces removed, to libpq
// keywords. Npgsql matches keys the same way, so "SSL Mode" and "SslMode"
// are one key.
var npgsqlKeys = map[string]string{
	"host":            "host",
	"server":          "host",
	"port":            "port",
	"database":        "dbname",
	"db":              "dbname",
	"username":        "user",
	"userid":          "user",
	"user":            "user",
	"password":        "password",
	"pwd":             "password",
	"psw":             "password",
	"sslmode":         "sslmode",
	"timeout":         "connect_timeout",
	"applicationname": "application_name",
	"searchpath":      "search_path",
	"options":         "options",
}

// libpqOutputOrder fixes the keyword order of translated DSNs so that the
// same input always gives the same DSN.
var libpqOutputOrder = []string{
	"host", "port", "dbname", "user", "password", "sslmode",
	"connect_timeout", "application_name", "search_path", "options",
}

// npgsqlSSLModes maps Npgsql's SSL Mode values to libpq's sslmode values.
var npgsqlSSLModes = map[string]string{
	"disable":     "disable",
	"allow":       "allow",
	"prefer":      "prefer",
	"require":     "require",
	"verifyca":    "verify-ca",
	"verify-ca":   "verify-ca",
	"verifyfull":  "verify-full",
	"verify-full": "verify-full",
}

// translateNpgsql converts an Npgsql connection string to a libpq keyword
// DSN. Errors name keys and non-secret values only.
func translateNpgsql(connectionString string) (npgsqlTranslation, error) {
	pairs, err := parseADO(connectionString)
	if err != nil {
		return npgsqlTranslation{}, err
	}

	settings := map[string]string{}
	var translation npgsqlTranslation

	for _, pair := range pairs {
		keyword, known := npgsqlKeys[strings.ReplaceAll(pair.key, " ", "")]
		if !known {
			return npgsqlTranslation{}, fmt.Errorf("unsupported Npgsql key %q: remove it, "+
				"or write the connection string as a postgres:// URL", pair.key)
		}

		value := pair.value
		switch keyword {
		case "sslmode":
			mode, ok := npgsqlSSLModes[strings.ToLower(value)]
			if !ok {
				return npgsqlTranslation{}, fmt.Errorf("invalid SSL Mode %q: use Disable, Allow, Prefer, "+
					"Require, VerifyCA or VerifyFull", value)
			}
			value = mode
		case "connect_timeout":
			seconds, err := strconv.Atoi(value)
			if err != nil || seconds < 0 {
				return npgsqlTranslation{}, fmt.Errorf("invalid Timeout %q: use a whole number of seconds, 0 or more", value)
			}
		case "port":
			translation.portGiven = true
		case "password":
			translation.secrets = append(translation.secrets, value, quoteLibpqValue(value))
		}
		settings[keyword] = value
	}

	if settings["host"] == "" {
		return npgsqlTranslation{}, errors.New("missing Host: add Host=<server name> to the connection string")
	}

	parts := make([]string, 0, len(settings))
	for _, keyword := range libpqOutputOrder {
		if value, ok := settings[keyword]; ok {
			parts = append(parts, keyword+"="+quoteLibpqValue(value))
		}
	}
	translation.dsn = strings.Join(parts, " ")
	return translation, nil
}

// quoteLibpqValue quotes a keyword DSN value the way libpq expects: single
// quotes around empty values and values with spaces, quotes or backslashes,
// with backslash escapes inside.
func quoteLibpqValue(value string) string {
	if value != "" && !strings.ContainsAny(value, " \t\r\n\f\v'\\") {
		return value
	}
	escaped := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value)
	return "'" + escaped + "'"
}

// libpqKeywords are libpq's connection keywords. Detection requires every key
// to be one of them, so that other key=value strings are not taken for
// PostgreSQL.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true,
	"password": true, "passfile": true, "require_auth": true, "channel_binding": true,
	"connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true,
	"keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
	"tcp_user_timeout": true, "replication": true, "gssencmode": true, "sslmode": true,
	"requiressl": true, "sslnegotiation": true, "sslcompression": true, "sslcert": true,
	"sslkey": true, "sslpassword": true, "sslcertmode": true, "sslrootcert": true,
	"sslcrl": true, "sslcrldir": true, "sslsni": true, "requirepeer": true,
	"ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"krbsrvname": true, "gsslib": true, "gssdelegation": true, "service": true,
	"target_session_attrs": true, "load_balance_hosts": true,
}

func allLibpqKeywords(keys map[string]string) bool {
	for key := range keys {
		if !libpqKeywords[key] {
			return false
		}
	}
	return len(keys) > 0
}

// isLibpqKeywordForm reports whether the string parses as libpq keyword/value
// pairs. Unknown lowercase keys are allowed because pgx sends them to the
// server as run-time parameters (search_path, for example), but a semicolon
// outside quotes means the Npgsql form.
func isLibpqKeywordForm(connectionString string) bool {
	_, ok := parseKeywordDSN(connectionString)
	return ok
}

// parseKeywordDSN parses the libpq keyword/value form: lowercase keywords,
// values separated by whitespace, optionally single-quoted with backslash
// escapes. It reports false for anything else, including unquoted values
// that contain a semicolon.
func parseKeywordDSN(connectionString string) (map[string]string, bool) {
	keys := map[string]string{}
	s := connectionString
	i := 0

	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}

		start := i
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
			i++
		}
		key := s[start:i]
		if key == "" {
			return nil, false
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) || s[i] != '=' {
			return nil, false
		}
		i++
		for i < len(s) && isSpace(s[i]) {
			i++
		}

		var value strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					value.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				value.WriteByte(c)
			}
			if !closed || i < len(s) && !isSpace(s[i]) {
				return nil, false
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				c := s[i]
				if c == ';' {
					return nil, false
				}
				if c == '\\' && i+1 < len(s) {
					i++
					c = s[i]
				}
				value.WriteByte(c)
				i++
			}
		}
		keys[key] = value.String()
	}

	return keys, len(keys) > 0
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

// sqliteSource is a SQLite database named by a connection string, before
// the DSN is built.
type sqliteSource struct {
	// path is the file path, or the name of an in-memory database.
	path string
	// rawPath is path as written in a file: URI, kept for in-memory names.
	rawPath string
	memory  bool
	// createDir is false for read-only and read-write modes, where SQLite
	// never creates the file, so a missing directory is the real error.
	createDir bool
	params    []queryParam
}

// queryParam is one URI query parameter. raw keeps the original text so that
// the user's parameters reach the driver byte for byte.
type queryParam struct {
	key string
	raw string
}

// sqliteDefaultParams are mattn/go-sqlite3 DSN parameters for a service with
// a connection pool. WAL lets readers run beside the writer. NORMAL
// synchronous under WAL keeps commits across a crash of the process, though
// not always across a power loss. The busy timeout (milliseconds) absorbs
// short lock waits. Immediate transactions take the write lock at BEGIN,
// where the busy timeout applies, instead of failing with SQLITE_BUSY when a
// reading transaction later tries to write.
var sqliteDefaultParams = []queryParam{
	{key: "_journal_mode", raw: "_journal_mode=WAL"},
	{key: "_synchronous", raw: "_synchronous=NORMAL"},
	{key: "_busy_timeout", raw: "_busy_timeout=10000"},
	{key: "_txlock", raw: "_txlock=immediate"},
	{key: "_foreign_keys", raw: "_foreign_keys=on"},
}

// sqliteMemoryParams come first for in-memory databases, so that every
// pooled connection opens the same database instead of a new empty one.
var sqliteMemoryParams = []queryParam{{key: "cache", raw: "cache=shared"}}

// sqliteParamAliases lists the spellings mattn/go-sqlite3 (v1.14) accepts for
// each default, so a user's alias also replaces the default.
var sqliteParamAliases = map[string][]string{
	"_journal_mode": {"_journal_mode", "_journal"},
	"_synchronous":  {"_synchronous", "_sync"},
	"_busy_timeout": {"_busy_timeout", "_timeout"},
	"_txlock":       {"_txlock"},
	"_foreign_keys": {"_foreign_keys", "_fk"},
	"cache":         {"cache"},
}

// resolveSQLite accepts an empty string, :memory:, a file: URI, a
// Microsoft.Data.Sqlite string (Data Source=path;Mode=...) or a plain path.
func resolveSQLite(connectionString string) (Target, error) {
	redacted := redact(connectionString)
	trimmed := strings.TrimSpace(connectionString)

	var source sqliteSource
	var err error

	switch {
	case trimmed == "":
		source = sqliteSource{path: DefaultSQLitePath, createDir: true}
	case trimmed == ":memory:":
		source = sqliteSource{path: ":memory:", rawPath: ":memory:", memory: true}
	case strings.HasPrefix(trimmed, "file:"):
		source, err = parseSQLiteURI(trimmed)
	default:
		pairs, adoErr := parseADO(trimmed)
		switch {
		case adoErr == nil && hasSQLiteDataSource(pairs):
			source, err = parseSQLiteADO(pairs)
		case adoErr != nil && dataSourcePrefix.MatchString(trimmed):
			// The string is meant as Data Source=..., so a syntax error in it
			// is more useful than opening a file with that odd name.
			err = adoErr
		default:
			source = sqliteSource{path: trimmed, createDir: true}
		}
	}
	if err != nil {
		return Target{}, fmt.Errorf("parsing %s %q as a SQLite connection string: %w", connectionStringKey, redacted, err)
	}

	return buildSQLiteTarget(source, redacted)
}

// dataSourcePrefix matches strings that start with a Microsoft.Data.Sqlite
// file key.
var dataSourcePrefix = regexp.MustCompile(`(?i)^(data\s+source|datasource|filename)\s*=`)

func hasSQLiteDataSource(pairs []keyValue) bool {
	for _, pair := range pairs {
		switch pair.key {
		case "data source", "datasource", "filename":
			return true
		}
	}
	return false
}

// parseSQLiteURI reads a SQLite file: URI. The path may be relative, or
// absolute with an empty or localhost authority (file:///path).
func parseSQLiteURI(uri string) (sqliteSource, error) {
	rest := strings.TrimPrefix(uri, "file:")
	if hash := strings.IndexByte(rest, '#'); hash >= 0 {
		rest = rest[:hash]
	}
	rawPath, rawQuery, _ := strings.Cut(rest, "?")

	if after, ok := strings.CutPrefix(rawPath, "//"); ok {
		authority, path, _ := strings.Cut(after, "/")
		if authority != "" && authority != "localhost" {
			return sqliteSource{}, fmt.Errorf("unsupported authority %q in the file: URI: "+
				"write file:/absolute/path or file:relative/path", authority)
		}
		rawPath = "/" + path
	}

	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return sqliteSource{}, fmt.Errorf("decoding the path %q of the file: URI: %w", rawPath, err)
	}

	params, err := parseQueryParams(rawQuery)
	if err != nil {
		return sqliteSource{}, err
	}

	source := sqliteSource{path: path, rawPath: rawPath, params: params, createDir: true}
	for _, param := range params {
		if param.key != "mode" {
			continue
		}
		_, value, _ := strings.Cut(param.raw, "=")
		switch strings.ToLower(value) {
		case "memory":
			source.memory = true
		case "ro", "rw":
			source.createDir = false
		}
	}
	if path == ":memory:" {
		source.memory = true
	}
	if path == "" && !source.memory {
		return sqliteSource{}, errors.New("missing file path in the file: URI: write file:/path/to/dataflow.db")
	}
	return source, nil
}

// parseQueryParams splits a URI query and checks it the way the driver will,
// because mattn/go-sqlite3 rejects the whole DSN when url.ParseQuery fails.
func parseQueryParams(rawQuery string) ([]queryParam, error) {
	if rawQuery == "" {
		return nil, nil
	}
	if _, err := url.ParseQuery(rawQuery); err != nil {
		return nil, fmt.Errorf("parsing the query %q of the file: URI: %w", rawQuery, err)
	}

	var params []queryParam
	for _, raw := range strings.Split(rawQuery, "&") {
		if raw == "" {
			continue
		}
		rawKey, _, _ := strings.Cut(raw, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("parsing the query parameter %q of the file: URI: %w", raw, err)
		}
		params = append(params, queryParam{key: key, raw: raw})
	}
	return params, nil
}

// parseSQLiteADO reads the Microsoft.Data.Sqlite keys. Keys that have no
// equivalent in mattn/go-sqlite3 are rejected rather than silently dropped.
func parseSQLiteADO(pairs []keyValue) (sqliteSource, error) {
	source := sqliteSource{createDir: true}
	add := func(key, value string) {
		source.params = append(source.params, queryParam{key: key, raw: key + "=" + url.QueryEscape(value)})
	}

	for _, pair := range pairs {
		value := pair.value
		switch pair.key {
		case "data source", "datasource", "filename":
			source.path = value
			source.rawPath = value
		case "mode":
			switch strings.ToLower(value) {
			case "readwritecreate", "":
			case "readwrite":
				add("mode", "rw")
				source.createDir = false
			case "readonly":
				add("mode", "ro")
				source.createDir = false
			case "memory":
				add("mode", "memory")
				source.memory = true
			default:
				return sqliteSource{}, fmt.Errorf("invalid Mode %q: use ReadWriteCreate, ReadWrite, ReadOnly or Memory", value)
			}
		case "cache":
			switch strings.ToLower(value) {
			case "default", "":
			case "shared":
				add("cache", "shared")
			case "private":
				add("cache", "private")
			default:
				return sqliteSource{}, fmt.Errorf("invalid Cache %q: use Default, Private or Shared", value)
			}
		case "foreign keys", "recursive triggers":
			enabled, err := strconv.ParseBool(value)
			if err != nil {
				return sqliteSource{}, fmt.Errorf("invalid %s value %q: use True or False", pair.key, value)
			}
			setting := "off"
			if enabled {
				setting = "on"
			}
			add("_"+strings.ReplaceAll(pair.key, " ", "_"), setting)
		case "default timeout":
			seconds, err := strconv.Atoi(value)
			if err != nil || seconds < 0 {
				return sqliteSource{}, fmt.Errorf("invalid Default Timeout %q: use a whole number of seconds, 0 or more", value)
			}
			add("_busy_timeout", strconv.Itoa(seconds*1000))
		case "pooling":
			// database/sql pools connections itself, so Pooling has no effect.
		case "password":
			return sqliteSource{}, errors.New("unsupported key \"password\": encrypted SQLite databases " +
				"(SQLCipher) are not supported, so remove the password")
		default:
			return sqliteSource{}, fmt.Errorf("unsupported key %q: use Data Source, Mode, Cache, Foreign Keys, "+
				"Recursive Triggers, Default Timeout or Pooling", pair.key)
		}
	}

	if source.path == "" {
		return sqliteSource{}, errors.New("missing file path: set Data Source=<path to the database file>")
	}
	if strings.Contains(source.path, "|DataDirectory|") {
		return sqliteSource{}, fmt.Errorf("unsupported |DataDirectory| placeholder in %q: write the path itself", source.path)
	}
	if source.path == ":memory:" {
		source.memory = true
	}
	return source, nil
}

// buildSQLiteTarget makes the path absolute, creates its directory and
// writes the driver DSN.
func buildSQLiteTarget(source sqliteSource, redacted string) (Target, error) {
	if source.memory {
		defaults := append(append([]queryParam{}, sqliteMemoryParams...), sqliteDefaultParams...)
		return Target{
			Provider: SQLite,
			DSN:      "file:" + escapeSQLiteURIPath(source.rawPath) + "?" + mergeQueryParams(defaults, source.params),
			Host:     source.path,
			Redacted: redacted,
		}, nil
	}

	absolute, err := filepath.Abs(source.path)
	if err != nil {
		return Target{}, fmt.Errorf("making the SQLite path %q absolute (set %s to an absolute path): %w",
			source.path, connectionStringKey, err)
	}

	if info, err := os.Stat(absolute); err == nil && info.IsDir() {
		return Target{}, fmt.Errorf("opening the SQLite database %q: the path is a directory; "+
			"set %s to a file path such as %s", absolute, connectionStringKey, filepath.Join(absolute, "dataflow.db"))
	}

	if source.createDir {
		directory := filepath.Dir(absolute)
		if err := os.MkdirAll(directory, sqliteDirPerm); err != nil {
			return Target{}, fmt.Errorf("creating the directory %q for the SQLite database %q "+
				"(create it with write access for the service user, or point %s to a writable location): %w",
				directory, absolute, connectionStringKey, err)
		}
	}

	uriPath := filepath.ToSlash(absolute)
	if !strings.HasPrefix(uriPath, "/") {
		// A Windows path such as C:/data/x.db becomes /C:/data/x.db.
		// NOTE: SQLite is expected to read that as a drive letter path, but
		// this has not been tested on Windows.
		uriPath = "/" + uriPath
	}

	return Target{
		Provider: SQLite,
		DSN:      "file:" + escapeSQLiteURIPath(uriPath) + "?" + mergeQueryParams(sqliteDefaultParams, source.params),
		Host:     absolute,
		Redacted: redacted,
	}, nil
}

// escapeSQLiteURIPath escapes the characters that end the path ('?', '#') or
// start an escape ('%') in a SQLite URI, which decodes %HH sequences.
func escapeSQLiteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

// mergeQueryParams writes the defaults that the user did not set, under any
// alias, followed by the user's parameters unchanged.
func mergeQueryParams(defaults, user []queryParam) string {
	userKeys := map[string]bool{}
	for _, param := range user {
		userKeys[param.key] = true
	}

	var parts []string
	for _, param := range defaults {
		overridden := false
		for _, alias := range sqliteParamAliases[param.key] {
			if userKeys[alias] {
				overridden = true
			}
		}
		if !overridden {
			parts = append(parts, param.raw)
		}
	}
	for _, param := range user {
		parts = append(parts, param.raw)
	}
	return strings.Join(parts, "&")
}

// redact returns the connection string with its passwords masked.
func redact(connectionString string) string {
	redacted, _ := redactConnectionString(connectionString)
	return redacted
}

// secretKeys are the keys whose values are masked. "change password" is
// covered by "password" because a key may start after whitespace.
var secretKeys = map[string]bool{
	"password":    true,
	"pwd":         true,
	"psw":         true,
	"sslpassword": true,
	"_auth_pass":  true,
}

// redactConnectionString masks every password value in URL, ADO, ODBC and
// libpq keyword strings. It also returns the password spellings it found, so
// that error messages can be scrubbed. When the form is unclear it masks
// more than the value rather than less.
func redactConnectionString(connectionString string) (string, []string) {
	if urlSchemePattern.MatchString(connectionString) {
		return redactURL(connectionString)
	}
	if len(connectionString) >= 5 && strings.EqualFold(connectionString[:5], "odbc:") {
		redacted, secrets := redactKeyValues(connectionString[5:])
		return connectionString[:5] + redacted, secrets
	}
	return redactKeyValues(connectionString)
}

// redactURL masks the password of the user information and any password
// query parameter.
func redactURL(rawURL string) (string, []string) {
	schemeEnd := strings.Index(rawURL, "://") + len("://")
	rest := rawURL[schemeEnd:]
	var secrets []string

	authorityEnd := strings.IndexAny(rest, "/?#")
	if authorityEnd < 0 {
		authorityEnd = len(rest)
	}

	// A password with an unescaped '/', '?' or '#' ends the authority early
	// for url.Parse. The '@' after it still marks the user information, so the
	// mask runs to that '@' unless the text in between looks like a query.
	at := strings.LastIndexByte(rest[:authorityEnd], '@')
	if at < 0 {
		if candidate := strings.IndexByte(rest, '@'); candidate >= 0 && !strings.Contains(rest[:candidate], "=") {
			at = candidate
		}
	}

	if at >= 0 {
		if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
			password := rest[colon+1 : at]
			secrets = append(secrets, password)
			if decoded, err := url.PathUnescape(password); err == nil {
				secrets = append(secrets, decoded)
			}
			rest = rest[:colon+1] + passwordMask + rest[at:]
			authorityEnd = strings.IndexAny(rest[colon+1+len(passwordMask):], "/?#")
			if authorityEnd < 0 {
				authorityEnd = len(rest)
			} else {
				authorityEnd += colon + 1 + len(passwordMask)
			}
		}
	}

	queryStart := strings.IndexByte(rest[authorityEnd:], '?')
	if queryStart < 0 {
		return rawURL[:schemeEnd] + rest, secrets
	}
	queryStart += authorityEnd + 1

	query := rest[queryStart:]
	fragment := ""
	if hash := strings.IndexByte(query, '#'); hash >= 0 {
		query, fragment = query[:hash], query[hash:]
	}

	params := strings.Split(query, "&")
	for i, param := range params {
		rawKey, rawValue, found := strings.Cut(param, "=")
		if !found {
			continue
		}
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			key = rawKey
		}
		if !isSecretKey(normalizeADOKey(key)) {
			continue
		}
		secrets = append(secrets, rawValue)
		if decoded, err := url.QueryUnescape(rawValue); err == nil {
			secrets = append(secrets, decoded)
		}
		params[i] = rawKey + "=" + passwordMask
	}

	return rawURL[:schemeEnd] + rest[:queryStart] + strings.Join(params, "&") + fragment, secrets
}

func isSecretKey(key string) bool {
	if secretKeys[key] {
		return true
	}
	// "change password" in go-mssqldb, and keys written after an unquoted
	// value in the libpq form, end with a secret key after a space.
	if space := strings.LastIndexByte(key, ' '); space >= 0 {
		return secretKeys[key[space+1:]]
	}
	return false
}

// nextKeyPattern matches a libpq keyword followed by '=', which ends an
// unquoted value in strings without semicolons.
var nextKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*[ \t]*=`)

// redactKeyValues masks secret values in key=value strings. With a semicolon
// anywhere, values end at the next semicolon outside quotes, as in ADO and
// ODBC strings. Without one, an unquoted value ends where whitespace is
// followed by another keyword, as in libpq strings, or at the end.
func redactKeyValues(s string) (string, []string) {
	semicolons := strings.Contains(s, ";")
	var builder strings.Builder
	var secrets []string
	i := 0

	for i < len(s) {
		equals := strings.IndexByte(s[i:], '=')
		if equals < 0 {
			builder.WriteString(s[i:])
			break
		}
		equals += i

		keyText := s[i:equals]
		if semicolons {
			if semicolon := strings.LastIndexByte(keyText, ';'); semicolon >= 0 {
				keyText = keyText[semicolon+1:]
			}
		}
		valueEnd := scanValueEnd(s, equals+1, semicolons)

		builder.WriteString(s[i : equals+1])
		if isSecretKey(normalizeADOKey(keyText)) {
			raw := strings.TrimSpace(s[equals+1 : valueEnd])
			secrets = append(secrets, secretSpellings(raw)...)
			builder.WriteString(passwordMask)
		} else {
			builder.WriteString(s[equals+1 : valueEnd])
		}
		i = valueEnd
	}

	return builder.String(), secrets
}

// scanValueEnd returns the index just after the value that starts at from.
func scanValueEnd(s string, from int, semicolons bool) int {
	i := from
	for i < len(s) && isSpace(s[i]) {
		i++
	}

	if i < len(s) {
		switch s[i] {
		case '"', '\'':
			i = scanQuoted(s, i, !semicolons)
		case '{':
			i = scanBraced(s, i)
		}
	}

	if semicolons {
		// go-mssqldb toggles its quote state on every double quote, even in
		// the middle of a value, so the value runs to the next semicolon that
		// is outside double quotes.
		inQuotes := false
		for i < len(s) {
			switch s[i] {
			case '"':
				inQuotes = !inQuotes
			case ';':
				if !inQuotes {
					return i
				}
			}
			i++
		}
		return len(s)
	}

	for i < len(s) {
		if isSpace(s[i]) {
			rest := strings.TrimLeft(s[i:], " \t\r\n\f\v")
			if nextKeyPattern.MatchString(rest) {
				return i
			}
		}
		i++
	}
	return len(s)
}

// scanQuoted returns the index after the closing quote, or len(s) when the
// quote is never closed. A doubled quote stands for one quote, and so does a
// backslash-escaped one when backslashes escape.
func scanQuoted(s string, open int, backslashEscapes bool) int {
	quote := s[open]
	i := open + 1
	for i < len(s) {
		switch {
		case backslashEscapes && s[i] == '\\':
			i += 2
		case s[i] == quote && i+1 < len(s) && s[i+1] == quote:
			i += 2
		case s[i] == quote:
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// scanBraced returns the index after an ODBC braced value, where "}}" stands
// for one closing brace, or len(s) when the brace is never closed.
func scanBraced(s string, open int) int {
	i := open + 1
	for i < len(s) {
		if s[i] == '}' {
			if i+1 < len(s) && s[i+1] == '}' {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(s)
}

// secretSpellings returns a raw secret value together with its unquoted
// forms, because drivers quote the decoded value in their errors.
func secretSpellings(raw string) []string {
	spellings := []string{raw}
	if len(raw) >= 2 {
		first, last := raw[0], raw[len(raw)-1]
		inner := raw[1 : len(raw)-1]
		switch {
		case first == '"' && last == '"':
			spellings = append(spellings, inner, strings.ReplaceAll(inner, `""`, `"`))
		case first == '\'' && last == '\'':
			spellings = append(spellings, inner, strings.ReplaceAll(inner, `''`, `'`),
				strings.NewReplacer(`\\`, `\`, `\'`, `'`).Replace(inner))
		case first == '{' && last == '}':
			spellings = append(spellings, inner, strings.ReplaceAll(inner, "}}", "}"))
		}
	}
	return spellings
}

// scrubSecrets replaces every known spelling of a secret in a driver message
// with the mask, longest first so that a shorter spelling cannot leave part
// of a longer one behind.
func scrubSecrets(message string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(a, b int) bool { return len(sorted[a]) > len(sorted[b]) })
	for _, secret := range sorted {
		if secret != "" && secret != passwordMask {
			message = strings.ReplaceAll(message, secret, passwordMask)
		}
	}
	return message
}
