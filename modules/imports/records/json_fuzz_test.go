package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fuzzLimits are the limits each input is read with: the defaults, and
// small ones so that the limit paths run often.
var fuzzLimits = []Limits{
	Limits{}.withDefaults(),
	{MaxRecordBytes: 48, MaxFields: 4, MaxDepth: 3},
}

// maxSeedBytes bounds the seed files. In trial runs, the two larger
// JSONTestSuite files (100 and 250 KB of nesting) stalled the fuzzer for
// long stretches. TestJSONParsingSuite reads them instead.
const maxSeedBytes = 16 << 10

// addJSONSeeds adds the JSONTestSuite files, the table-shaped JSON and
// NDJSON files, and extra inputs to the corpus of f.
func addJSONSeeds(f *testing.F, extra ...string) {
	for _, pattern := range []string{"test_parsing/*.json", "records/*/*.json", "records/*/*.ndjson", "records/*/*.jsonl"} {
		paths, err := filepath.Glob(filepath.Join(jsonConformance, pattern))
		require.NoError(f, err)
		require.NotEmpty(f, paths, pattern)
		for _, path := range paths {
			data, err := os.ReadFile(path)
			require.NoError(f, err)
			if len(data) <= maxSeedBytes {
				f.Add(data)
			}
		}
	}

	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzJSON(f *testing.F) {
	addJSONSeeds(f,
		"\xEF\xBB\xBF[{\"a\":1},\n{\"b\":[1,2,{\"c\":\"\\\"\"}]}]",
		"\xFF\xFE[\x00{\x00}\x00]\x00",
		`[{"a":[[[[1]]]]},{"b":"0123456789012345678901234567890123456789012345678901234567890"},{"c":1}]`,
		`{"a":1,"b":2,"c":3,"d":4,"e":{"f":5}}`,
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := fuzzInputFile(t, data)
		for _, limits := range fuzzLimits {
			recs, err := readFuzzInput(t, file, newJSONReader, limits)
			checkFuzzRecords(t, data, recs, err, false)

			// The reader must agree with encoding/json on the whole file,
			// except inside records it skipped for a limit, which it does
			// not validate, and for a top-level value that is not an array
			// or object.
			body, plain := plainUTF8(data)
			if !plain {
				continue
			}

			valid := json.Valid(body) && utf8.Valid(body) && startsWithContainer(body)
			if valid {
				require.ErrorIs(t, err, io.EOF, "input valid for encoding/json")
			}

			if errors.Is(err, io.EOF) && !skippedForLimit(recs) {
				require.True(t, valid, "input rejected by encoding/json was read to the end")
			}
		}
	})
}

func FuzzNDJSON(f *testing.F) {
	addJSONSeeds(f,
		"{\"a\":1}\r\n\r\n {\"b\":[1,{\"c\":\"\\\"\"}]}\n1\n",
		"\xEF\xBB\xBF{\"a\":1}\n[]\n",
		"\xFE\xFF\x00{\x00}\x00\n\x00{\x00}",
		"{\"a\":[[[[1]]]]}\n{\"b\":\"0123456789012345678901234567890123456789012345678901234567890\"}\n{\"c\":1}",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := fuzzInputFile(t, data)
		for _, limits := range fuzzLimits {
			recs, err := readFuzzInput(t, file, newNDJSONReader, limits)
			checkFuzzRecords(t, data, recs, err, true)

			// Every line that is not blank must be a value that
			// encoding/json accepts, except lines skipped for a limit.
			body, plain := plainUTF8(data)
			if !plain {
				continue
			}

			valid := true
			for line := range bytes.SplitSeq(body, []byte{'\n'}) {
				value, _ := trimJSONSpace(line)
				if len(value) > 0 && !(json.Valid(value) && utf8.Valid(value)) {
					valid = false
				}
			}

			if valid {
				require.ErrorIs(t, err, io.EOF, "every line valid for encoding/json")
			}

			if errors.Is(err, io.EOF) && !skippedForLimit(recs) {
				require.True(t, valid, "a line rejected by encoding/json was read")
			}
		}
	})
}

// fuzzFile is the file that fuzzInputFile rewrites for every input, which
// is much faster than a new temporary directory each time. Inputs of one
// process run one at a time.
var fuzzFile struct {
	once sync.Once
	file *os.File
	err  error
}

// fuzzInputFile returns a file that contains data.
func fuzzInputFile(t *testing.T, data []byte) *os.File {
	t.Helper()
	fuzzFile.once.Do(func() {
		fuzzFile.file, fuzzFile.err = os.CreateTemp("", "records-fuzz-*")
		if fuzzFile.err == nil {
			// The open file stays usable; removing it now leaves nothing
			// behind when the process ends.
			fuzzFile.err = os.Remove(fuzzFile.file.Name())
		}
	})
	require.NoError(t, fuzzFile.err)

	file := fuzzFile.file
	require.NoError(t, file.Truncate(0))
	_, err := file.WriteAt(data, 0)
	require.NoError(t, err)

	return file
}

// readFuzzInput reads file from its start with the given limits, and
// returns the records and the error that ended reading.
func readFuzzInput(t *testing.T, file *os.File, open func(*os.File, Options) (Reader, error), limits Limits) ([]Record, error) {
	t.Helper()
	_, err := file.Seek(0, io.SeekStart)
	require.NoError(t, err)

	r, err := open(file, Options{Limits: limits})
	if err != nil {
		return nil, err
	}

	defer func() { require.NoError(t, r.Close()) }()

	var recs []Record
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}

		recs = append(recs, rec)
	}
}

// checkFuzzRecords checks what every read must give: io.EOF or a
// *FileError, records that are valid JSON objects unless marked invalid,
// and positions that match the input when it was read as is.
func checkFuzzRecords(t *testing.T, data []byte, recs []Record, err error, ndjson bool) {
	t.Helper()
	var fe *FileError
	if !errors.Is(err, io.EOF) {
		require.ErrorAs(t, err, &fe)
		require.NotEmpty(t, fe.Reason)
	}

	_, plain := plainUTF8(data)
	// Records come in file order, so the line of each one is counted from
	// the previous one.
	var counted int64
	line := 1
	for i, rec := range recs {
		if rec.Invalid == "" {
			require.True(t, json.Valid(rec.Payload), "record %d: payload %q", i+1, rec.Payload)
			require.True(t, utf8.Valid(rec.Payload), "record %d: payload %q", i+1, rec.Payload)
			require.Equal(t, byte('{'), rec.Payload[0], "record %d", i+1)
		}

		if !plain {
			continue
		}

		require.GreaterOrEqual(t, rec.Offset, counted, "record %d: offset before the previous record", i+1)
		require.Less(t, rec.Offset, int64(len(data)))
		line += bytes.Count(data[counted:rec.Offset], newline)
		counted = rec.Offset
		require.Equal(t, line, rec.Line, "record %d", i+1)
		if rec.Payload == nil {
			continue
		}

		at := data[rec.Offset:]
		if ndjson {
			at, _ = trimJSONSpace(at)
		}

		require.True(t, bytes.HasPrefix(at, rec.Payload), "record %d: payload not at its offset", i+1)
	}

	if fe != nil && plain && fe.Offset >= 0 {
		require.LessOrEqual(t, fe.Offset, int64(len(data)))
		require.Equal(t, 1+bytes.Count(data[:fe.Offset], newline), fe.Line, "error line")
	}
}

// plainUTF8 returns data without a UTF-8 BOM, and whether the readers read
// data as is, so that offsets count its bytes: they do unless it starts
// with a UTF-16 BOM.
func plainUTF8(data []byte) ([]byte, bool) {
	if bytes.HasPrefix(data, bomUTF16LE) || bytes.HasPrefix(data, bomUTF16BE) {
		return nil, false
	}

	return bytes.TrimPrefix(data, bomUTF8), true
}

// skippedForLimit reports whether a record was skipped for a limit, and so
// not validated.
func skippedForLimit(recs []Record) bool {
	for _, rec := range recs {
		if rec.Invalid != "" && rec.Payload == nil {
			return true
		}
	}

	return false
}
