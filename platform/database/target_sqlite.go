package database

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

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
