package database

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

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
