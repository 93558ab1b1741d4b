package imports

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dataflow/dataflow/modules/imports/records"
)

// ImportOptions are the reading and validation options a client may give
// with an upload. They are stored on the batch, so every claim of the batch
// reads the file the same way.
type ImportOptions struct {
	// Delimiter is the CSV field separator: one of , ; | or a tab.
	Delimiter string `json:"delimiter,omitempty"`
	// Encoding is a standard encoding name for text files.
	Encoding string `json:"encoding,omitempty"`
	// Sheet is the XLSX sheet to read.
	Sheet string `json:"sheet,omitempty"`
	// RequiredFields and DedupKey override ImportBatch:RequiredFields and
	// ImportBatch:DedupKey when set; an empty list or key turns the check off.
	RequiredFields *[]string `json:"requiredFields,omitempty"`
	DedupKey       *string   `json:"dedupKey,omitempty"`
}

// delimiterNames maps the accepted spellings of the form field "delimiter"
// to the separator.
var delimiterNames = map[string]rune{
	",": ',', "comma": ',',
	";": ';', "semicolon": ';',
	"|": '|', "pipe": '|',
	"\t": '\t', "\\t": '\t', "tab": '\t',
}

func (o ImportOptions) validate() error {
	if o.Delimiter != "" {
		if _, ok := delimiterNames[strings.ToLower(o.Delimiter)]; !ok {
			return errInvalidDelimiter.With("delimiter", o.Delimiter)
		}
	}

	if o.Encoding != "" && !records.ValidEncoding(o.Encoding) {
		return errUnknownEncoding.With("encoding", o.Encoding)
	}

	// Excel limits sheet names to 31 characters.
	if utf8.RuneCountInString(o.Sheet) > 31 {
		return errFieldTooLong.With("field", "sheet").With("maxLength", 31)
	}

	if o.RequiredFields != nil {
		if len(*o.RequiredFields) > 100 {
			return errTooManyRequiredFields.With("maxFields", 100)
		}

		for _, f := range *o.RequiredFields {
			if err := checkFieldName("requiredFields", f); err != nil {
				return err
			}
		}
	}

	if o.DedupKey != nil && *o.DedupKey != "" {
		return checkFieldName("dedupKey", *o.DedupKey)
	}

	return nil
}

// checkFieldName rejects a record field name that no record could have:
// one with an empty part between dots, a comma (dedupKey takes one name),
// or more than 200 characters.
func checkFieldName(form, name string) error {
	if utf8.RuneCountInString(name) > 200 {
		return errInvalidFieldName.With("field", form).With("name", truncateRunes(name, 40))
	}

	for _, part := range strings.Split(name, ".") {
		if strings.TrimSpace(part) == "" || strings.Contains(part, ",") {
			return errInvalidFieldName.With("field", form).With("name", truncateRunes(name, 40))
		}
	}

	return nil
}

// encode returns the options as stored in ImportOptionsJson, nil when none
// was given.
func (o ImportOptions) encode() (*string, error) {
	if o == (ImportOptions{}) {
		return nil, nil
	}

	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding import options: %w", err)
	}

	s := string(b)

	return &s, nil
}

// decodeOptions reads ImportOptionsJson.
func decodeOptions(stored *string) (ImportOptions, error) {
	var o ImportOptions
	if stored == nil || strings.TrimSpace(*stored) == "" {
		return o, nil
	}

	if err := json.Unmarshal([]byte(*stored), &o); err != nil {
		return o, fmt.Errorf("reading ImportOptionsJson: %w", err)
	}

	return o, nil
}

// readerOptions returns the options of the records reader.
func (o ImportOptions) readerOptions(limits records.Limits) records.Options {
	return records.Options{
		Delimiter: delimiterNames[strings.ToLower(o.Delimiter)],
		Encoding:  o.Encoding,
		Sheet:     o.Sheet,
		Limits:    limits,
	}
}

// splitList splits a comma-separated form value, dropping empty entries.
func splitList(value string) []string {
	out := []string{}
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}

	return out
}
