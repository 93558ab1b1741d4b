package imports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
)

// recordRules are the checks a record passes before it is staged as
// Pending: required fields, and duplicates of an earlier record of the
// same batch by a key field.
type recordRules struct {
	required []fieldPath
	dedup    *fieldPath
	// normalize turns a key value into the form two duplicates share.
	normalize func(string) string
	// seen maps the 128-bit FNV-1a hash of each normalized key to the
	// sequence of the first record with it. Hashes keep the map at about
	// 30 bytes per record, where the keys themselves would take several
	// times that. Two different keys share a 128-bit hash with a
	// probability far below that of a disk error.
	seen map[[2]uint64]int
}

// fieldPath is a field name, split on dots to reach into nested objects.
type fieldPath struct {
	name  string
	parts []string
}

func newFieldPath(name string) fieldPath {
	name = strings.TrimSpace(name)

	return fieldPath{name: name, parts: strings.Split(name, ".")}
}

// newRecordRules returns the rules, nil when there is nothing to check.
func newRecordRules(required []string, dedupKey string) *recordRules {
	r := &recordRules{}
	for _, name := range required {
		if strings.TrimSpace(name) != "" {
			r.required = append(r.required, newFieldPath(name))
		}
	}

	if strings.TrimSpace(dedupKey) != "" {
		key := newFieldPath(dedupKey)
		r.dedup = &key
		r.normalize = normalizerFor(key.parts[len(key.parts)-1])
		r.seen = make(map[[2]uint64]int)
	}

	if len(r.required) == 0 && r.dedup == nil {
		return nil
	}

	return r
}

// check returns the status a record is staged with (Pending, Error or
// Skipped) and the message of an Error or Skipped record. The message
// names fields, never their values, which may be personal data.
func (r *recordRules) check(seq int, payload []byte) (string, string) {
	if r == nil {
		return ItemPending, ""
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		return ItemError, "the record is not a JSON object"
	}

	for _, f := range r.required {
		if _, ok := lookup(fields, f.parts); !ok {
			return ItemError, fmt.Sprintf("the required field %q is missing or empty", f.name)
		}
	}

	if r.dedup == nil {
		return ItemPending, ""
	}

	value, ok := lookup(fields, r.dedup.parts)
	if !ok {
		return ItemPending, ""
	}

	key := r.normalize(value)
	if key == "" {
		return ItemPending, ""
	}

	h := fnv.New128a()
	_, _ = h.Write([]byte(key))
	sum := h.Sum(nil)
	var id [2]uint64
	for i := range 8 {
		id[0] = id[0]<<8 | uint64(sum[i])
		id[1] = id[1]<<8 | uint64(sum[8+i])
	}

	if first, dup := r.seen[id]; dup && first != seq {
		return ItemSkipped, fmt.Sprintf("duplicate of the record with sequence %d (same %s)", first, r.dedup.name)
	}

	r.seen[id] = seq

	return ItemPending, ""
}

// lookup returns the text of the field at path: a string's content, or
// the JSON of another value. Missing, null, blank strings and empty
// arrays or objects count as absent.
func lookup(fields map[string]json.RawMessage, parts []string) (string, bool) {
	raw, ok := field(fields, parts[0])
	for _, part := range parts[1:] {
		if !ok {
			return "", false
		}

		var nested map[string]json.RawMessage
		if json.Unmarshal(raw, &nested) != nil {
			return "", false
		}

		raw, ok = field(nested, part)
	}

	if !ok {
		return "", false
	}

	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0, string(raw) == "null", string(raw) == "[]", string(raw) == "{}":
		return "", false
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
			return "", false
		}

		return s, true
	}

	return string(raw), true
}

// field returns the value of name, or else of the only key equal to it
// without regard to case: spreadsheet headers are typed by people, who
// write Telefone as often as telefone.
func field(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := fields[name]; ok {
		return raw, true
	}

	var found json.RawMessage
	matches := 0
	for key, raw := range fields {
		if strings.EqualFold(key, name) {
			found = raw
			matches++
		}
	}

	return found, matches == 1
}

// normalizerFor returns how values of the named key are compared: phone
// numbers by their digits only, e-mail addresses without case, anything
// else trimmed. The key's name, in English or Portuguese, decides the
// kind.
func normalizerFor(key string) func(string) string {
	name := strings.ToLower(key)
	switch {
	case strings.Contains(name, "phone"), strings.Contains(name, "telefone"), strings.Contains(name, "celular"),
		strings.Contains(name, "whatsapp"), strings.Contains(name, "mobile"), name == "tel":
		return phoneDigits
	case strings.Contains(name, "email"), strings.Contains(name, "e-mail"):
		return func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	default:
		return strings.TrimSpace
	}
}

// phoneDigits keeps the digits of a phone number, so "+55 (11) 99999-0000"
// and "5511999990000" are the same key. A value with letters is kept as
// typed, trimmed, since removing them could join different values.
func phoneDigits(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == '(' || r == ')' || r == '-' || r == '.' || r == '/' || unicode.IsSpace(r):
		default:
			return s
		}
	}

	return b.String()
}
