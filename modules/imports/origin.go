package imports

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dataflow/dataflow/modules/imports/records"
)

// FileError is a problem with the content of an uploaded file that fails
// the batch; see records.FileError.
type FileError = records.FileError

// applyOriginDefault sets "origin" to origin when the record has no
// non-empty string origin. The record is returned unchanged otherwise.
func applyOriginDefault(record json.RawMessage, origin string) (json.RawMessage, error) {
	if origin == "" {
		return record, nil
	}

	var probe struct {
		Origin json.RawMessage `json:"origin"`
	}
	if err := json.Unmarshal(record, &probe); err != nil {
		return nil, fmt.Errorf("reading record origin: %w", err)
	}

	if len(probe.Origin) > 0 {
		var s string
		if json.Unmarshal(probe.Origin, &s) == nil && trimSpace(s) != "" {
			return record, nil
		}

		if s == "" && string(probe.Origin) != "null" && probe.Origin[0] != '"' {
			// A non-string origin (a number, an object) is the client's
			// own value; leave it for OmniFlow to judge.
			return record, nil
		}

		// An empty or null origin: rewrite the object with the default.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(record, &fields); err != nil {
			return nil, fmt.Errorf("reading record: %w", err)
		}

		value, _ := json.Marshal(origin)
		fields["origin"] = value

		return json.Marshal(fields)
	}

	value, _ := json.Marshal(origin)
	trimmed := bytes.TrimRight(record, " \t\r\n")
	body := bytes.TrimSpace(trimmed[1 : len(trimmed)-1])
	out := make([]byte, 0, len(trimmed)+len(value)+12)
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}

	out = append(out, `"origin":`...)
	out = append(out, value...)
	out = append(out, '}')

	return out, nil
}

func trimSpace(s string) string { return string(bytes.TrimSpace([]byte(s))) }
