package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// maskedValue replaces every secret. It has a fixed length so that the
// output does not reveal the length of the secret.
const maskedValue = "***"

// Dump writes the effective configuration as indented JSON with the .NET
// names (ImportBatch.ChunkSize, ConnectionStrings.DataFlow), in the field
// order of Settings. Secrets appear as "***", or "" when empty. Connection
// strings keep their shape with the password masked (see
// MaskConnectionString). Durations appear as Go duration strings such as
// "1m0s", which Load reads back.
func Dump(s *Settings, w io.Writer) error {
	tree := dumpValue(settingsSchema, reflect.ValueOf(*s))

	data, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding settings: %w", err)
	}
	data = append(data, '\n')
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("writing settings: %w", err)
	}
	return nil
}

// orderedObject is a JSON object that keeps the member order of the struct,
// which a Go map would not.
type orderedObject []objectMember

type objectMember struct {
	name  string
	value any
}

// MarshalJSON writes the members in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, member := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(member.name)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(member.value)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", member.name, err)
		}
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func dumpValue(field *schemaField, v reflect.Value) any {
	switch field.kind {
	case kindStruct:
		obj := orderedObject{}
		for i := range v.NumField() {
			child := childByGoName(field, v.Type().Field(i).Name)
			if child == nil {
				continue
			}
			obj = append(obj, objectMember{name: child.goName, value: dumpValue(child, v.Field(i))})
		}
		return obj
	case kindSlice:
		items := make([]any, 0, v.Len())
		for i := range v.Len() {
			items = append(items, dumpValue(field.elem, v.Index(i)))
		}
		return items
	case kindDuration:
		return time.Duration(v.Int()).String()
	case kindString:
		return displayValue(field, v.String())
	default:
		return v.Interface()
	}
}

func childByGoName(field *schemaField, goName string) *schemaField {
	for _, child := range field.children {
		if child.goName == goName {
			return child
		}
	}
	return nil
}

// MaskConnectionString replaces the password in a connection string with
// "***" and keeps the rest, so that logs and `config` output still show
// host, database and user. It handles:
//
//   - URLs: postgres://user:pass@host/db becomes postgres://user:***@host/db,
//     and query parameters named password, pwd or *pass (such as the SQLite
//     _auth_pass) are masked too;
//   - ADO.NET and ODBC strings: the value of Password= or Pwd=, in any case,
//     unquoted up to the next `;`, or quoted as '...', "..." or {...};
//   - libpq keyword strings: password=secret or password='sec ret'.
//
// Any key that contains "password" counts, such as sslpassword. The whole
// value including its quotes becomes ***, so the length never shows. Text
// without a recognizable password is returned unchanged.
func MaskConnectionString(s string) string {
	if s == "" {
		return s
	}
	if isURLForm(s) {
		return maskURL(s)
	}
	return maskGluedPassword(maskKeyValues(s))
}

// gluedPassword finds a password key stuck to the previous value by a
// character other than ';' or a space, as in Host=db:Password=x.
var gluedPassword = regexp.MustCompile(`(?i)([^;\s])(password|pwd)\s*=[^;]*`)

// maskGluedPassword masks passwords that the key=value scan could not see
// because a separator is missing, so a malformed string never prints one.
func maskGluedPassword(s string) string {
	return gluedPassword.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, "=***") {
			return m
		}

		eq := strings.Index(m, "=")

		return m[:eq+1] + "***"
	})
}

func isPasswordKey(key string) bool {
	key = strings.ToLower(strings.TrimSpace(key))
	return key == "pwd" || strings.Contains(key, "password") || strings.HasSuffix(key, "pass")
}

// isURLForm reports whether s starts with a URL scheme followed by "://", or
// is a SQLite file: URI.
func isURLForm(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) >= 5 && strings.EqualFold(s[:5], "file:") {
		return true
	}
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return false
	}
	for i, r := range scheme {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

func maskURL(s string) string {
	var out strings.Builder
	rest := s

	if schemeEnd := strings.Index(s, "://"); schemeEnd >= 0 {
		authorityStart := schemeEnd + len("://")
		out.WriteString(s[:authorityStart])
		tail := s[authorityStart:]

		authorityEnd := strings.IndexAny(tail, "/?#")
		if authorityEnd < 0 {
			authorityEnd = len(tail)
		}
		at := strings.LastIndex(tail[:authorityEnd], "@")
		if at < 0 {
			// A password with an unencoded '/', '?' or '#' ends the authority
			// early. What follows the ':' is then not a port number, and the
			// userinfo runs to the last '@'.
			authority := tail[:authorityEnd]
			if colon := strings.Index(authority, ":"); colon >= 0 && !strings.HasPrefix(authority, "[") && !isDigits(authority[colon+1:]) {
				if last := strings.LastIndex(tail, "@"); last > colon {
					at = last
				}
			}
		}

		rest = tail
		if at >= 0 {
			userinfo := tail[:at]
			if colon := strings.Index(userinfo, ":"); colon >= 0 {
				userinfo = userinfo[:colon+1] + maskedValue
			}
			out.WriteString(userinfo)
			out.WriteString("@")
			rest = tail[at+1:]
		}
	}

	path, query, hasQuery := strings.Cut(rest, "?")
	out.WriteString(path)
	if hasQuery {
		query, fragment, hasFragment := strings.Cut(query, "#")
		out.WriteString("?")
		out.WriteString(maskQuery(query))
		if hasFragment {
			out.WriteString("#" + fragment)
		}
	}
	return out.String()
}

func isDigits(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}

func maskQuery(query string) string {
	params := strings.Split(query, "&")
	for i, param := range params {
		if key, _, ok := strings.Cut(param, "="); ok && isPasswordKey(key) {
			params[i] = key + "=" + maskedValue
		}
	}
	return strings.Join(params, "&")
}

// maskKeyValues masks password values in ADO.NET, ODBC and libpq strings. It
// looks for a password key at the start of the text or after ';' or a space,
// so that both `a=1;Password=x` and `host=h password=x` are found.
//
// An unquoted value ends at ';' when the text contains one (ADO.NET), so
// spaces inside an ADO.NET password stay masked. In text without ';' (libpq)
// it ends at a space only when another key=value pair follows; otherwise it
// runs to the end, so that `Password=two words` is fully masked.
func maskKeyValues(s string) string {
	adoForm := strings.Contains(s, ";")
	var out strings.Builder

	i := 0
	for i < len(s) {
		atBoundary := i == 0 || s[i-1] == ';' || isSpace(s[i-1])
		if !atBoundary || isSpace(s[i]) || s[i] == ';' {
			out.WriteByte(s[i])
			i++
			continue
		}

		eq := strings.IndexAny(s[i:], "=;")
		if eq < 0 || s[i+eq] != '=' || !isPasswordKey(s[i:i+eq]) {
			out.WriteByte(s[i])
			i++
			continue
		}

		valueStart := i + eq + 1
		for valueStart < len(s) && isSpace(s[valueStart]) {
			valueStart++
		}
		valueEnd := valueEnd(s, valueStart, adoForm)

		out.WriteString(s[i:valueStart])
		if valueEnd > valueStart {
			out.WriteString(maskedValue)
		}
		i = valueEnd
	}
	return out.String()
}

// valueEnd returns the index just after the value that starts at start.
// Quotes may be escaped by doubling them (ADO.NET) or, inside single quotes,
// with a backslash (libpq). An unterminated quote runs to the end of s.
func valueEnd(s string, start int, adoForm bool) int {
	if start >= len(s) {
		return start
	}

	closing := map[byte]byte{'\'': '\'', '"': '"', '{': '}'}[s[start]]
	if closing != 0 {
		for i := start + 1; i < len(s); i++ {
			switch {
			case s[i] == '\\' && s[start] == '\'':
				i++
			case s[i] == closing && i+1 < len(s) && s[i+1] == closing:
				i++
			case s[i] == closing:
				return i + 1
			}
		}
		return len(s)
	}

	if adoForm {
		end := strings.IndexByte(s[start:], ';')
		if end < 0 {
			end = len(s) - start
		}
		return start + len(strings.TrimRight(s[start:start+end], " \t\r\n"))
	}

	for i := start; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case isSpace(s[i]) && startsKeyValue(s[i:]):
			return i
		}
	}
	return len(s)
}

// startsKeyValue reports whether s, after leading spaces, starts with a
// libpq keyword followed by '='.
func startsKeyValue(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 0 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n == 0 {
		return false
	}
	return strings.HasPrefix(strings.TrimLeft(s[n:], " \t"), "=")
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
