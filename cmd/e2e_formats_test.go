package cmd_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// itemsPage is the body of GET /imports/{batchId}/items.
type itemsPage struct {
	Items []struct {
		Sequence        int             `json:"sequence"`
		Status          string          `json:"status"`
		ErrorMessage    *string         `json:"errorMessage"`
		LeadID          *string         `json:"leadId"`
		SourceLine      *int            `json:"sourceLine"`
		Payload         json.RawMessage `json:"payload"`
		PayloadRedacted bool            `json:"payloadRedacted"`
	} `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func (s *stack) get(t *testing.T, client credentials, path string) apiResponse {
	t.Helper()

	request, err := http.NewRequest(http.MethodGet, s.apiURL+path, nil)
	require.NoError(t, err)

	return s.send(t, request, &client)
}

func (s *stack) post(t *testing.T, client credentials, path string) apiResponse {
	t.Helper()

	request, err := http.NewRequest(http.MethodPost, s.apiURL+path, nil)
	require.NoError(t, err)

	return s.send(t, request, &client)
}

// TestE2ECSVValidationReport imports a semicolon CSV saved by Excel in
// Windows-1252, with required fields and duplicate phone numbers, then
// reads the item list and the error report.
func TestE2ECSVValidationReport(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{chunkSize: 2})

		text := "phoneNumber;name;leadContextJson.budget\r\n" +
			"+55 (11) 99999-0001;João;1500\r\n" + // 0: imported
			";Maria;900\r\n" + // 1: no phone
			"5511999990001;José;10\r\n" + // 2: duplicate of 0
			"\"5511 99999 0002\";\"Conceição; filha\";\r\n" + // 3: imported, no budget
			";;\r\n" // empty row, not a record
		latin, err := charmap.Windows1252.NewEncoder().String(text)
		require.NoError(t, err)

		accepted := s.upload(t, clientAlpha, "leads.csv", []byte(latin),
			formPart{name: "requiredFields", content: []byte("phoneNumber")},
			formPart{name: "dedupKey", content: []byte("phoneNumber")})
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)

		require.Equal(t, "CompletedWithErrors", final.Status)
		require.Equal(t, "Csv", final.FileType)
		require.Equal(t, 4, final.TotalRecords)
		require.Equal(t, 4, final.ProcessedRecords)
		require.Equal(t, 1, final.FailedRecords)
		require.Equal(t, 1, final.SkippedRecords)
		require.Equal(t, 2, final.ImportedRecords)

		_, delivered := s.standInRecords(t, accepted.BatchID)
		require.Len(t, delivered, 2)
		first := decodeRecord(t, delivered[0].Record)
		require.Equal(t, "João", first["name"])
		require.Equal(t, map[string]any{"budget": "1500"}, first["leadContextJson"])

		response := s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/items?status=Error,Skipped")
		require.Equal(t, http.StatusOK, response.status, "%s", response.body)
		var page itemsPage
		require.NoError(t, json.Unmarshal(response.body, &page))
		require.Len(t, page.Items, 2)
		require.Equal(t, 1, page.Items[0].Sequence)
		require.Equal(t, "Error", page.Items[0].Status)
		require.Contains(t, *page.Items[0].ErrorMessage, `"phoneNumber"`)
		require.Equal(t, 3, *page.Items[0].SourceLine)
		require.Equal(t, "Skipped", page.Items[1].Status)
		require.Contains(t, *page.Items[1].ErrorMessage, "sequence 0")
		require.Nil(t, page.NextCursor)

		response = s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/items?status=Error&status=skipped")
		require.Equal(t, http.StatusOK, response.status, "%s", response.body)
		page = itemsPage{}
		require.NoError(t, json.Unmarshal(response.body, &page))
		require.Len(t, page.Items, 2, "a repeated status parameter must add to the filter")

		response = s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/items?limit=3")
		require.Equal(t, http.StatusOK, response.status)
		page = itemsPage{}
		require.NoError(t, json.Unmarshal(response.body, &page))
		require.Len(t, page.Items, 3)
		require.NotNil(t, page.NextCursor)
		require.NotNil(t, page.Items[0].LeadID)

		response = s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/items?limit=3&cursor="+*page.NextCursor)
		page = itemsPage{}
		require.NoError(t, json.Unmarshal(response.body, &page))
		require.Len(t, page.Items, 1)
		require.Equal(t, 3, page.Items[0].Sequence)
		require.Nil(t, page.NextCursor)

		response = s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/errors.csv")
		require.Equal(t, http.StatusOK, response.status)
		require.Equal(t, "text/csv; charset=utf-8", response.header.Get("Content-Type"))
		require.True(t, bytes.HasPrefix(response.body, []byte{0xEF, 0xBB, 0xBF}), "the report must start with a UTF-8 BOM")
		rows, err := csv.NewReader(bytes.NewReader(response.body[3:])).ReadAll()
		require.NoError(t, err)
		// Imported payloads are redacted by default, so the columns follow
		// the failed and skipped records; phoneNumber is there although the
		// failed record lacks it.
		require.Equal(t, []string{"sequence", "line", "status", "errorMessage", "name", "leadContextJson.budget", "phoneNumber"}, rows[0])
		require.Len(t, rows, 3)
		require.Equal(t, []string{"1", "3", "Error"}, rows[1][:3])
		require.Equal(t, "Maria", rows[1][4])
		require.Equal(t, "900", rows[1][5])
		require.Empty(t, rows[1][6])
		require.Equal(t, []string{"2", "4", "Skipped"}, rows[2][:3])
		require.Equal(t, "5511999990001", rows[2][6])

		response = s.get(t, clientBeta, "/imports/"+accepted.BatchID+"/items")
		require.Equal(t, http.StatusNotFound, response.status)

		// Retrying sends the Error record again, not the Skipped one; it
		// still lacks its phone number, so it fails again.
		response = s.post(t, clientAlpha, "/imports/"+accepted.BatchID+"/retry")
		require.Equal(t, http.StatusAccepted, response.status, "%s", response.body)
		var retried uploadAccepted
		require.NoError(t, json.Unmarshal(response.body, &retried))
		again, _ := s.waitForBatch(t, clientAlpha, retried.BatchID)
		require.Equal(t, "Ndjson", again.FileType)
		require.Equal(t, 1, again.TotalRecords)
		require.Equal(t, 1, again.FailedRecords)
		response = s.get(t, clientAlpha, "/imports/"+retried.BatchID)
		require.Contains(t, string(response.body), `"parentBatchId":"`+accepted.BatchID+`"`)

		for _, query := range []string{"status=Done", "limit=0", "limit=5000", "cursor=abc"} {
			response = s.get(t, clientAlpha, "/imports/"+accepted.BatchID+"/items?"+query)
			require.Equal(t, http.StatusBadRequest, response.status, query)
		}
	})
}

// TestE2EFileFormats imports the same table as NDJSON, TSV and XLSX, and
// checks that a file with a syntax error near its end sends nothing.
func TestE2EFileFormats(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{})
		xlsx, err := os.ReadFile(filepath.Join("..", "modules", "imports", "records", "testdata", "conformance", "xlsx", "frictionless", "table.xlsx"))
		require.NoError(t, err)

		for _, tc := range []struct {
			name, fileName, fileType string
			content                  []byte
		}{
			{"ndjson", "table.ndjson", "Ndjson", []byte("{\"id\":\"1\",\"name\":\"english\"}\n\n{\"id\":\"2\",\"name\":\"中国人\"}\n")},
			{"tsv", "table.tsv", "Csv", []byte("id\tname\n1\tenglish\n2\t中国人\n")},
			{"utf-16 csv", "table.csv", "Csv", utf16LE("id,name\r\n1,english\r\n2,中国人\r\n")},
			{"xlsx", "table.xlsx", "Excel", xlsx},
		} {
			t.Run(tc.name, func(t *testing.T) {
				accepted := s.upload(t, clientAlpha, tc.fileName, tc.content)
				final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
				require.Equal(t, "Completed", final.Status, "error summary: %v", final.ErrorSummary)
				require.Equal(t, tc.fileType, final.FileType)
				require.Equal(t, 2, final.ImportedRecords)

				_, delivered := s.standInRecords(t, accepted.BatchID)
				require.Len(t, delivered, 2)

				response := s.post(t, clientAlpha, "/imports/"+accepted.BatchID+"/retry")
				require.Equal(t, http.StatusConflict, response.status)
				require.Equal(t, "nothing_to_retry", response.apiError(t).Code)

				second := decodeRecord(t, delivered[1].Record)
				require.Equal(t, "中国人", second["name"])
				require.Equal(t, "2", second["id"])
			})
		}

		t.Run("syntax error near the end sends nothing", func(t *testing.T) {
			var b strings.Builder
			b.WriteString("[\n")
			for range 500 {
				b.WriteString(`{"phoneNumber":"5511999990000","name":"x"},` + "\n")
			}
			b.WriteString(`{"phoneNumber":"1" "name":"y"}]`)

			accepted := s.upload(t, clientAlpha, "broken.json", []byte(b.String()))
			final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
			require.Equal(t, "Failed", final.Status)
			require.NotNil(t, final.ErrorSummary)
			require.Contains(t, *final.ErrorSummary, "line 502")
			require.Contains(t, *final.ErrorSummary, "record 501")
			require.Contains(t, *final.ErrorSummary, "byte offset")

			status, delivered := s.standInRecords(t, accepted.BatchID)
			require.Equal(t, http.StatusNotFound, status)
			require.Empty(t, delivered)
		})
	})
}

// utf16LE encodes s as UTF-16 little endian with a byte order mark.
func utf16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, r := range s {
		if r > 0xFFFF {
			panic("utf16LE: character outside the basic plane")
		}

		out = append(out, byte(r), byte(r>>8))
	}

	return out
}
