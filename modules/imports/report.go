package imports

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// itemResponse is one item of GET /imports/{batchId}/items.
type itemResponse struct {
	Sequence     int     `json:"sequence"`
	Status       string  `json:"status"`
	ErrorMessage *string `json:"errorMessage"`
	LeadID       *string `json:"leadId"`
	// SourceLine is the line of the file (CSV, NDJSON, JSON) or the sheet
	// row (XLSX) where the record starts.
	SourceLine *int `json:"sourceLine"`
	// Payload is the record as stored, null once it was redacted.
	Payload         json.RawMessage `json:"payload"`
	PayloadRedacted bool            `json:"payloadRedacted"`
}

// itemsResponse is the body of GET /imports/{batchId}/items.
type itemsResponse struct {
	Items      []itemResponse `json:"items"`
	NextCursor *string        `json:"nextCursor"`
}

// callerBatch loads the batch named in the path if it belongs to the
// caller. Another client's batch is 404, as a missing one is.
func (h *handlers) callerBatch(c echo.Context) (Batch, error) {
	id, _ := clients.IdentityFrom(c)

	batchID, err := database.ParseUUID(c.Param("batchId"))
	if err != nil {
		return Batch{}, errBatchNotFound
	}

	clientID, err := database.ParseUUID(id.ClientID)
	if err != nil {
		return Batch{}, err
	}

	b, err := h.store.batchForClient(c.Request().Context(), batchID, clientID)
	if errors.Is(err, ErrBatchNotFound) {
		return Batch{}, errBatchNotFound
	}

	if err != nil {
		return Batch{}, httpserver.ErrUnavailable.WithCause(err)
	}

	return b, nil
}

// listItems returns a page of a batch's items in sequence order, filtered
// by status. The cursor continues after the last item of the previous page.
func (h *handlers) listItems(c echo.Context) error {
	b, err := h.callerBatch(c)
	if err != nil {
		return err
	}

	// status may repeat (status=Error&status=Skipped) or list several
	// values separated by commas.
	var statuses []string
	for _, raw := range c.QueryParams()["status"] {
		for _, s := range strings.Split(raw, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}

			status, ok := itemStatuses[strings.ToLower(strings.TrimSpace(s))]
			if !ok {
				return errInvalidItemStatus.With("status", s)
			}

			if !slices.Contains(statuses, status) {
				statuses = append(statuses, status)
			}
		}
	}

	limit := defaultItemsLimit
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxItemsLimit {
			return errInvalidLimit.With("limit", raw).With("maxLimit", maxItemsLimit)
		}

		limit = n
	}

	after := -1
	if raw := c.QueryParam("cursor"); raw != "" {
		seq, ok := decodeCursor(raw)
		if !ok {
			return errInvalidCursor
		}

		after = seq
	}

	rows, err := h.store.listItems(c.Request().Context(), b.ID, statuses, after, limit+1)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	resp := itemsResponse{Items: make([]itemResponse, 0, min(len(rows), limit))}
	for i, row := range rows {
		if i == limit {
			next := encodeCursor(rows[i-1].Sequence)
			resp.NextCursor = &next

			break
		}

		item := itemResponse{Sequence: row.Sequence, Status: row.Status, ErrorMessage: row.ErrorMessage, LeadID: row.LeadID, SourceLine: row.SourceLine}
		if isRedacted(row.PayloadJSON) {
			item.PayloadRedacted = true
		} else {
			item.Payload = json.RawMessage(row.PayloadJSON)
		}

		resp.Items = append(resp.Items, item)
	}

	return c.JSON(http.StatusOK, resp)
}

// reportPage is how many items the error report reads per query.
const reportPage = 1000

// maxReportColumns bounds the field columns of the error report, so a file
// whose records all have different keys cannot make it unbounded.
const maxReportColumns = 2000

// errorsCSV streams the records that ended Error or Skipped as CSV: their
// sequence, source line, status and message, then their fields, so the
// client can fix them and upload the file again. It reads the items twice,
// first to collect the field names for the header, then to write the rows,
// so memory holds one page and the column names, whatever the batch size.
func (h *handlers) errorsCSV(c echo.Context) error {
	b, err := h.callerBatch(c)
	if err != nil {
		return err
	}

	comma := ','
	switch strings.ToLower(c.QueryParam("delimiter")) {
	case "", ",", "comma":
	case ";", "semicolon":
		comma = ';'
	case "tab", "\t":
		comma = '\t'
	case "|", "pipe":
		comma = '|'
	default:
		return errInvalidReportDelimiter.With("delimiter", c.QueryParam("delimiter"))
	}

	ctx := c.Request().Context()
	columns, err := h.reportColumns(ctx, b)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	statuses := []string{ItemError, ItemSkipped}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="errors-`+b.ID.String()+`.csv"`)
	res.WriteHeader(http.StatusOK)

	// Excel reads a CSV as UTF-8 only when it starts with a BOM.
	_, _ = res.Write([]byte{0xEF, 0xBB, 0xBF})
	w := csv.NewWriter(res)
	w.Comma = comma
	w.UseCRLF = true
	header := append([]string{"sequence", "line", "status", "errorMessage"}, columns...)
	if err := w.Write(header); err != nil {
		return nil
	}

	line := make([]string, len(header))
	for after := -1; ; {
		rows, err := h.store.listItems(ctx, b.ID, statuses, after, reportPage)
		if err != nil {
			// The status line is out already; cut the body short so the
			// client sees an incomplete download rather than a short report.
			h.log.Error().Err(err).Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).Msg("api: error report failed midway")
			panic(http.ErrAbortHandler)
		}

		for _, row := range rows {
			writeReportLine(line, header, row)
			if err := w.Write(line); err != nil {
				return nil
			}
		}

		w.Flush()
		if len(rows) < reportPage {
			break
		}

		after = rows[len(rows)-1].Sequence
	}

	return nil
}

// reportColumns returns the field columns of the error report. First come
// the fields of the batch's first stored payloads, in their order (redacted
// ones are skipped), then any other field of a failed record. Last come
// required fields that no record has, so the client has a column to fill
// in.
func (h *handlers) reportColumns(ctx context.Context, b Batch) ([]string, error) {
	var columns []string
	seen := map[string]string{}
	add := func(rows []itemRow) {
		for _, row := range rows {
			if len(columns) >= maxReportColumns {
				return
			}

			if !isRedacted(row.PayloadJSON) {
				flatten("", json.RawMessage(row.PayloadJSON), seen, &columns)
			}
		}
	}

	first, err := h.store.listItems(ctx, b.ID, nil, -1, reportPage)
	if err != nil {
		return nil, err
	}

	add(first)
	for after := -1; ; {
		rows, err := h.store.listItems(ctx, b.ID, []string{ItemError, ItemSkipped}, after, reportPage)
		if err != nil {
			return nil, err
		}

		add(rows)
		if len(rows) < reportPage {
			break
		}

		after = rows[len(rows)-1].Sequence
	}

	required := h.reading.RequiredFields
	if options, err := decodeOptions(b.ImportOptionsJSON); err == nil && options.RequiredFields != nil {
		required = *options.RequiredFields
	}

	for _, name := range required {
		if _, ok := seen[name]; !ok && len(columns) < maxReportColumns {
			seen[name] = ""
			columns = append(columns, name)
		}
	}

	return columns[:min(len(columns), maxReportColumns)], nil
}

// writeReportLine fills line with one row of the error report under
// header, whose first four columns are fixed.
func writeReportLine(line, header []string, row itemRow) {
	line[0] = strconv.Itoa(row.Sequence)
	line[1] = ""
	if row.SourceLine != nil {
		line[1] = strconv.Itoa(*row.SourceLine)
	}

	line[2] = row.Status
	line[3] = ""
	if row.ErrorMessage != nil {
		line[3] = neutralizeFormula(*row.ErrorMessage)
	}

	fields := map[string]string{}
	if !isRedacted(row.PayloadJSON) {
		flatten("", json.RawMessage(row.PayloadJSON), fields, nil)
	}

	for i := 4; i < len(line); i++ {
		line[i] = neutralizeFormula(fields[header[i]])
	}
}

// neutralizeFormula prefixes a value that a spreadsheet would run as a
// formula with an apostrophe, which Excel and LibreOffice show as text. A
// value starting with + or - is left alone when the rest is digits and
// phone punctuation, so phone numbers (+55 11 ...) and negative numbers
// come back as they were sent.
func neutralizeFormula(value string) string {
	if value == "" {
		return value
	}

	switch value[0] {
	case '=', '@', '\t', '\r':
		return "'" + value
	case '+', '-':
		if strings.Trim(value[1:], "0123456789 ().-+/,") != "" {
			return "'" + value
		}
	}

	return value
}
