package importtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// updateSample rewrites testdata/leads-sample.json instead of comparing it:
// go test ./modules/imports/importtest -run TestGenerateLeadsFile -update
var updateSample = flag.Bool("update", false, "rewrite testdata/leads-sample.json from the generator")

// samplePath is the repository's sample file, relative to this package.
var samplePath = filepath.Join("..", "..", "..", "testdata", "leads-sample.json")

// sampleOptions and sampleCount define testdata/leads-sample.json.
var sampleOptions = GenerateOptions{Seed: 2026, MissingOriginEvery: 7}

const sampleCount = 1000

var (
	cpfPattern   = regexp.MustCompile(`^\d{3}\.\d{3}\.\d{3}-\d{2}$`)
	phonePattern = regexp.MustCompile(`^\+55(\d{2})9\d{8}$`)
	emailPattern = regexp.MustCompile(`^[a-z0-9._]+@(exemplo|teste)\.invalid$`)
	statePattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

func TestGenerateLeads(t *testing.T) {
	t.Run("same seed gives identical bytes", func(t *testing.T) {
		opts := GenerateOptions{Seed: 42, MissingOriginEvery: 5, MissingPhoneEvery: 3}

		first := generate(t, 500, opts)
		second := generate(t, 500, opts)

		require.Equal(t, first, second)
	})

	t.Run("different seeds give different leads", func(t *testing.T) {
		first := decodeLeads(t, generate(t, 50, GenerateOptions{Seed: 1}))
		second := decodeLeads(t, generate(t, 50, GenerateOptions{Seed: 2}))

		require.NotEqual(t, first[0].Name+first[0].Document, second[0].Name+second[0].Document)
		require.NotEqual(t, first, second)
	})

	t.Run("output is JSON array with one lead per line", func(t *testing.T) {
		const n = 300
		data := generate(t, n, GenerateOptions{Seed: 7})

		leads := decodeLeads(t, data)
		require.Len(t, leads, n)

		require.True(t, bytes.HasSuffix(data, []byte("\n]\n")), "output must end with a newline, ] and a newline")
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		require.Len(t, lines, n+2)
		require.Equal(t, "[", lines[0])
		require.Equal(t, "]", lines[len(lines)-1])
		for i, line := range lines[1 : n+1] {
			line = strings.TrimSuffix(line, ",")
			var object map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &object), "line of lead %d", i+1)
		}
	})

	t.Run("zero leads gives empty array", func(t *testing.T) {
		var out bytes.Buffer

		written, err := GenerateLeads(&out, 0, GenerateOptions{Seed: 1})

		require.NoError(t, err)
		require.Equal(t, "[\n]\n", out.String())
		require.Equal(t, int64(4), written)
		require.Empty(t, decodeLeads(t, out.Bytes()))
	})

	t.Run("returned count equals bytes written", func(t *testing.T) {
		var out bytes.Buffer

		written, err := GenerateLeads(&out, 1234, GenerateOptions{Seed: 3})

		require.NoError(t, err)
		require.Equal(t, int64(out.Len()), written)
	})

	t.Run("origin missing exactly every Nth lead", func(t *testing.T) {
		const n, every = 100, 7
		objects := decodeObjects(t, generate(t, n, GenerateOptions{Seed: 9, MissingOriginEvery: every}))

		missing := 0
		for i, object := range objects {
			_, hasOrigin := object["origin"]
			require.Equal(t, (i+1)%every != 0, hasOrigin, "origin presence of lead %d", i+1)
			if !hasOrigin {
				missing++
			}
		}
		require.Equal(t, n/every, missing)
	})

	t.Run("phone missing exactly every Nth lead", func(t *testing.T) {
		const n, every = 100, 3
		objects := decodeObjects(t, generate(t, n, GenerateOptions{Seed: 9, MissingPhoneEvery: every}))

		missing := 0
		for i, object := range objects {
			_, hasPhone := object["phoneNumber"]
			require.Equal(t, (i+1)%every != 0, hasPhone, "phoneNumber presence of lead %d", i+1)
			if !hasPhone {
				missing++
			}
		}
		require.Equal(t, n/every, missing)
	})

	t.Run("zero cadence keeps origin and phone", func(t *testing.T) {
		objects := decodeObjects(t, generate(t, 200, GenerateOptions{Seed: 11}))

		for i, object := range objects {
			require.Contains(t, object, "origin", "lead %d", i+1)
			require.Contains(t, object, "phoneNumber", "lead %d", i+1)
		}
	})

	t.Run("cadence options only drop fields", func(t *testing.T) {
		full := decodeLeads(t, generate(t, 100, GenerateOptions{Seed: 5}))
		sparse := decodeLeads(t, generate(t, 100, GenerateOptions{Seed: 5, MissingOriginEvery: 4, MissingPhoneEvery: 6}))

		for i := range full {
			expected := full[i]
			if (i+1)%4 == 0 {
				expected.Origin = ""
			}
			if (i+1)%6 == 0 {
				expected.PhoneNumber = ""
			}
			require.Equal(t, expected, sparse[i], "lead %d", i+1)
		}
	})

	t.Run("documents are unique valid CPFs", func(t *testing.T) {
		leads := decodeLeads(t, generate(t, 5000, GenerateOptions{Seed: 13}))

		seen := make(map[string]int, len(leads))
		for i, lead := range leads {
			require.Regexp(t, cpfPattern, lead.Document, "document format of lead %d", i+1)
			require.True(t, isValidCPF(lead.Document), "check digits of lead %d document", i+1)
			previous, duplicate := seen[lead.Document]
			require.False(t, duplicate, "lead %d repeats the document of lead %d", i+1, previous)
			seen[lead.Document] = i + 1
		}
	})

	t.Run("emails are unique under reserved domains", func(t *testing.T) {
		leads := decodeLeads(t, generate(t, 5000, GenerateOptions{Seed: 17}))

		seen := make(map[string]int, len(leads))
		for i, lead := range leads {
			require.Regexp(t, emailPattern, lead.Email, "email of lead %d", i+1)
			previous, duplicate := seen[lead.Email]
			require.False(t, duplicate, "lead %d repeats the email of lead %d", i+1, previous)
			seen[lead.Email] = i + 1
		}
	})

	t.Run("phones use area code of city", func(t *testing.T) {
		areaCodes := make(map[string]string, len(cities))
		for _, place := range cities {
			areaCodes[place.name+"/"+place.state] = place.areaCode
		}
		leads := decodeLeads(t, generate(t, 1000, GenerateOptions{Seed: 19}))

		for i, lead := range leads {
			match := phonePattern.FindStringSubmatch(lead.PhoneNumber)
			require.NotNil(t, match, "phone %q of lead %d is not +55, DDD, 9 and 8 digits", lead.PhoneNumber, i+1)
			cityKey := lead.City + "/" + lead.State
			require.Contains(t, areaCodes, cityKey, "city of lead %d", i+1)
			require.Equal(t, areaCodes[cityKey], match[1], "area code of lead %d", i+1)
		}
	})

	t.Run("fields have realistic values", func(t *testing.T) {
		const n = 2000
		data := generate(t, n, GenerateOptions{Seed: 23})
		leads := decodeLeads(t, data)
		objects := decodeObjects(t, data)
		earliest := createdAtEnd.Add(-createdAtSpanSeconds * time.Second)

		withCompany, accented := 0, 0
		for i, lead := range leads {
			require.NotEmpty(t, lead.Name, "name of lead %d", i+1)
			require.NotEmpty(t, lead.Campaign, "campaign of lead %d", i+1)
			require.NotEmpty(t, lead.Origin, "origin of lead %d", i+1)
			require.Regexp(t, statePattern, lead.State, "state of lead %d", i+1)
			require.False(t, lead.CreatedAt.Before(earliest), "createdAt of lead %d is too early", i+1)
			require.True(t, lead.CreatedAt.Before(createdAtEnd), "createdAt of lead %d is too late", i+1)
			require.Zero(t, lead.CreatedAt.Nanosecond(), "createdAt of lead %d has a fraction of a second", i+1)

			budget := lead.LeadContext.Budget
			require.GreaterOrEqual(t, budget, 1000.0, "budget of lead %d", i+1)
			require.LessOrEqual(t, budget, 200500.0, "budget of lead %d", i+1)
			require.Zero(t, int(budget)%500, "budget of lead %d is not a multiple of 500", i+1)
			require.NotEmpty(t, lead.LeadContext.Interest, "interest of lead %d", i+1)

			tags := lead.LeadContext.Tags
			require.LessOrEqual(t, len(tags), 3, "tag count of lead %d", i+1)
			distinct := make(map[string]bool, len(tags))
			for _, tag := range tags {
				distinct[tag] = true
			}
			require.Len(t, distinct, len(tags), "tags of lead %d repeat", i+1)

			if lead.Company != "" {
				withCompany++
			}
			if !isASCII(lead.Name) {
				accented++
			}
		}
		for i, object := range objects {
			context, ok := object["leadContextJson"].(map[string]any)
			require.True(t, ok, "leadContextJson of lead %d is not an object", i+1)
			_, tagsIsArray := context["tags"].([]any)
			require.True(t, tagsIsArray, "tags of lead %d is not an array", i+1)
		}

		require.InDelta(t, 0.55, float64(withCompany)/n, 0.05, "share of leads with a company")
		require.Greater(t, accented, n/4, "leads whose name has an accent")
	})

	t.Run("writes in bounded chunks while generating", func(t *testing.T) {
		writer := &recordingWriter{}

		written, err := GenerateLeads(writer, 10_000, GenerateOptions{Seed: 29})

		require.NoError(t, err)
		require.Greater(t, written, int64(10*writeBufferSize), "output too small to show streaming")
		require.LessOrEqual(t, writer.maxWrite, writeBufferSize)
		require.GreaterOrEqual(t, writer.writes, int(written/writeBufferSize))
	})

	t.Run("returns writer error and bytes accepted", func(t *testing.T) {
		writeErr := errors.New("disk full")
		writer := &failingWriter{limit: 3 * writeBufferSize, err: writeErr}

		written, err := GenerateLeads(writer, 10_000, GenerateOptions{Seed: 31})

		require.ErrorIs(t, err, writeErr)
		require.Equal(t, int64(3*writeBufferSize), written)
	})

	t.Run("rejects negative count", func(t *testing.T) {
		var out bytes.Buffer

		_, err := GenerateLeads(&out, -1, GenerateOptions{})

		require.ErrorContains(t, err, "invalid lead count -1")
		require.Zero(t, out.Len())
	})

	t.Run("rejects negative cadence", func(t *testing.T) {
		_, originErr := GenerateLeads(io.Discard, 1, GenerateOptions{MissingOriginEvery: -2})
		_, phoneErr := GenerateLeads(io.Discard, 1, GenerateOptions{MissingPhoneEvery: -3})

		require.ErrorContains(t, originErr, "invalid MissingOriginEvery -2")
		require.ErrorContains(t, phoneErr, "invalid MissingPhoneEvery -3")
	})
}

func TestGenerateLeadsFile(t *testing.T) {
	t.Run("writes same bytes as GenerateLeads", func(t *testing.T) {
		opts := GenerateOptions{Seed: 37, MissingPhoneEvery: 10}
		path := filepath.Join(t.TempDir(), "leads.json")

		require.NoError(t, GenerateLeadsFile(path, 250, opts))

		content, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, generate(t, 250, opts), content)
	})

	t.Run("reports missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent", "leads.json")

		err := GenerateLeadsFile(path, 10, GenerateOptions{})

		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, path)
	})

	t.Run("rejects negative count without creating file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "leads.json")

		err := GenerateLeadsFile(path, -5, GenerateOptions{})

		require.ErrorContains(t, err, "invalid lead count -5")
		require.NoFileExists(t, path)
	})

	t.Run("sample file matches generator", func(t *testing.T) {
		if *updateSample {
			require.NoError(t, GenerateLeadsFile(samplePath, sampleCount, sampleOptions))
		}

		content, err := os.ReadFile(samplePath)
		require.NoError(t, err, "regenerate the sample with -update")
		require.Equal(t, generate(t, sampleCount, sampleOptions), content,
			"sample differs from the generator, regenerate it with -update if the change is intended")

		objects := decodeObjects(t, content)
		require.Len(t, objects, sampleCount)
		withoutOrigin := 0
		for _, object := range objects {
			if _, hasOrigin := object["origin"]; !hasOrigin {
				withoutOrigin++
			}
		}
		require.Equal(t, sampleCount/7, withoutOrigin)
	})
}

func TestCPFBase(t *testing.T) {
	t.Run("skips repdigits when mapping ranks", func(t *testing.T) {
		// With ordinal 0 the offset is the rank among non-repdigit bases.
		cases := map[uint64]uint64{
			0:                  1,
			1:                  2,
			111_111_109:        111_111_110,
			111_111_110:        111_111_112,
			cpfUsableBases - 1: 999_999_998,
		}
		for rank, expected := range cases {
			require.Equal(t, expected, cpfBase(0, rank), "base of rank %d", rank)
		}
	})

	t.Run("never returns repdigit", func(t *testing.T) {
		for ordinal := range uint64(200_000) {
			base := cpfBase(ordinal, 123_456)
			require.Less(t, base, uint64(cpfBaseCount), "base of ordinal %d", ordinal)
			require.NotZero(t, base%repdigitStep, "ordinal %d gives repdigit %d", ordinal, base)
		}
	})

	t.Run("distinct ordinals give distinct bases", func(t *testing.T) {
		seen := make(map[uint64]uint64, 200_000)
		for ordinal := range uint64(200_000) {
			base := cpfBase(ordinal, 987_654_321)
			previous, duplicate := seen[base]
			require.False(t, duplicate, "ordinals %d and %d share base %d", previous, ordinal, base)
			seen[base] = ordinal
		}
	})
}

func TestFormatCPF(t *testing.T) {
	t.Run("computes check digits", func(t *testing.T) {
		require.Equal(t, "123.456.789-09", formatCPF(123_456_789))
	})

	t.Run("pads small bases with zeros", func(t *testing.T) {
		require.Equal(t, "000.000.001-91", formatCPF(1))
	})
}

func BenchmarkGenerateLeads(b *testing.B) {
	const n = 1000
	opts := GenerateOptions{Seed: 2026, MissingOriginEvery: 7, MissingPhoneEvery: 11}
	written, err := GenerateLeads(io.Discard, n, opts)
	require.NoError(b, err)
	b.SetBytes(written)
	b.ReportAllocs()

	for b.Loop() {
		if _, err := GenerateLeads(io.Discard, n, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(written)/n, "bytes/lead")
}

func generate(t *testing.T, n int, opts GenerateOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	_, err := GenerateLeads(&out, n, opts)
	require.NoError(t, err)
	return out.Bytes()
}

func decodeLeads(t *testing.T, data []byte) []Lead {
	t.Helper()
	var leads []Lead
	require.NoError(t, json.Unmarshal(data, &leads))
	return leads
}

// decodeObjects keeps the JSON keys, which shows whether an optional field
// was omitted rather than empty.
func decodeObjects(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var objects []map[string]any
	require.NoError(t, json.Unmarshal(data, &objects))
	return objects
}

// isValidCPF checks a formatted CPF with the textbook rule, written apart from
// the generator so that a shared mistake cannot hide: each check digit is
// (10 · weighted sum) mod 11, where 10 counts as 0.
func isValidCPF(document string) bool {
	digits := strings.NewReplacer(".", "", "-", "").Replace(document)
	if len(digits) != 11 || strings.Count(digits, digits[:1]) == 11 {
		return false
	}
	for position := 9; position <= 10; position++ {
		sum := 0
		for i := range position {
			sum += int(digits[i]-'0') * (position + 1 - i)
		}
		expected := sum * 10 % 11 % 10
		if int(digits[position]-'0') != expected {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	return utf8.RuneCountInString(s) == len(s)
}

// recordingWriter stores only the size of each write, so it shows how the
// generator chunks its output without holding the output.
type recordingWriter struct {
	writes   int
	maxWrite int
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.writes++
	r.maxWrite = max(r.maxWrite, len(p))
	return len(p), nil
}

// failingWriter accepts limit bytes and then fails with err.
type failingWriter struct {
	limit    int
	accepted int
	err      error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	room := f.limit - f.accepted
	if len(p) <= room {
		f.accepted += len(p)
		return len(p), nil
	}
	f.accepted += room
	return room, f.err
}
