package imports

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dataflow/dataflow/modules/imports/records"
)

// ReadingConfig holds the settings that decide how a file's records are
// read and checked: by the worker when it stages a batch, and by the API
// for a dry run.
type ReadingConfig struct {
	// RequiredFields and DedupKey are the record checks of batches that do
	// not set their own at upload [none].
	RequiredFields []string
	DedupKey       string
	// MaxRecords is the largest number of records of a batch [no limit].
	MaxRecords int
	// Limits bound each record [the records package defaults].
	Limits records.Limits
}

// rules returns the checks of a batch: its own from the upload, or the
// configured ones.
func (c ReadingConfig) rules(o ImportOptions) *recordRules {
	required := c.RequiredFields
	if o.RequiredFields != nil {
		required = *o.RequiredFields
	}

	dedup := c.DedupKey
	if o.DedupKey != nil {
		dedup = *o.DedupKey
	}

	return newRecordRules(required, dedup)
}

// scan reads every record of the batch's file from f and calls visit with
// its item, in order: Pending, or Error or Skipped with the reason. It
// returns the number of records, or the *FileError that stops the file
// from being read, or visit's error.
func (c ReadingConfig) scan(f *os.File, b Batch, now time.Time, visit func(Item) error) (int, error) {
	options, err := decodeOptions(b.ImportOptionsJSON)
	if err != nil {
		return 0, &FileError{Record: -1, Offset: -1, Reason: err.Error()}
	}

	reader, err := records.Open(f, b.FileType, options.readerOptions(c.Limits))
	if err != nil {
		return 0, err
	}
	defer reader.Close()

	rules := c.rules(options)
	origin := ""
	if b.OriginDefault != nil {
		origin = *b.OriginDefault
	}

	seq := 0
	for ; ; seq++ {
		rec, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return seq, err
		}

		if c.MaxRecords > 0 && seq >= c.MaxRecords {
			return seq, &FileError{Record: seq, Line: rec.Line, Offset: rec.Offset, Reason: fmt.Sprintf(
				"the file has more than %d records, the limit set by ImportBatch:MaxRecords; split it into smaller files", c.MaxRecords)}
		}

		item, err := newItem(b, rec, seq, origin, rules, now)
		if err != nil {
			return seq, err
		}

		if err := visit(item); err != nil {
			return seq, err
		}
	}

	if seq == 0 {
		return 0, &FileError{Record: -1, Offset: -1, Reason: "the file contains no records (only a header row, an empty array or blank lines); " +
			"check that it is the file you meant to upload"}
	}

	return seq, nil
}

// newItem builds the item of one record with its status.
func newItem(b Batch, rec records.Record, seq int, origin string, rules *recordRules, now time.Time) (Item, error) {
	item := Item{BatchID: b.ID, Sequence: seq, Status: ItemPending, CreatedAt: now}
	if rec.Line > 0 {
		line := rec.Line
		item.SourceLine = &line
	}

	if rec.Invalid != "" {
		item.Status = ItemError
		item.ErrorMessage = &rec.Invalid
		item.PayloadJSON = "{}"
		if rec.Payload != nil {
			item.PayloadJSON = string(rec.Payload)
		}

		return item, nil
	}

	payload, err := applyOriginDefault(rec.Payload, origin)
	if err != nil {
		return item, &FileError{Record: seq, Line: rec.Line, Offset: rec.Offset, Reason: err.Error()}
	}

	item.PayloadJSON = string(payload)
	status, message := rules.check(seq, payload)
	item.Status = status
	if message != "" {
		item.ErrorMessage = &message
	}

	return item, nil
}
