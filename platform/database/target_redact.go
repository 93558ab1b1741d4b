package database

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

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
