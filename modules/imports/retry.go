package imports

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// errNothingToRetry and errRedacted end the writing of a retry file early.
var (
	errNothingToRetry = errors.New("no record ended Error")
	errRedacted       = errors.New("a failed record's payload was redacted")
)

// retryBatch creates a new batch from the records of a finished batch that
// ended Error (Skipped records were duplicates and stay out). The new
// batch reads them as NDJSON, keeps the parent's checks, and points to
// its parent through parentBatchId.
func (h *handlers) retryBatch(c echo.Context) (err error) {
	parent, err := h.callerBatch(c)
	if err != nil {
		return err
	}

	if !slices.Contains(terminalStatuses, parent.Status) {
		return errNotFinished.With("batchId", parent.ID.String()).With("status", parent.Status)
	}

	limits, err := h.clientLimits(c.Request().Context(), parent.ClientID)
	if err != nil {
		return err
	}

	if err := h.rateLimit(c, parent.ClientID, limits.RateLimitPerMinute); err != nil {
		return err
	}

	ctx := c.Request().Context()
	batchID := database.NewUUID()
	// The retry batch keeps its parent's trace id, so its span goes under
	// the parent's upload span.
	_, span := startRequestSpan(ctx, "import.retry", batchID, parent.ClientID.String(), "", uploadSpanContext(parent))
	defer func() { endRequestSpan(span, c, err) }()

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(h.writeFailedRecords(ctx, parent.ID, pw)) }()

	saved, err := h.storage.Save(batchID.String(), retryFileName(parent.FileName), pr, 0)
	_ = pr.Close()
	switch {
	case errors.Is(err, errNothingToRetry):
		return errNothingToRetryAPI.With("batchId", parent.ID.String())
	case errors.Is(err, errRedacted):
		return errPayloadRedacted.With("batchId", parent.ID.String())
	case err != nil:
		return httpserver.ErrUnavailable.WithCause(err)
	}

	options, err := decodeOptions(parent.ImportOptionsJSON)
	if err != nil {
		return err
	}

	// The records are NDJSON now: only the checks still apply.
	options = ImportOptions{RequiredFields: options.RequiredFields, DedupKey: options.DedupKey}
	stored, err := options.encode()
	if err != nil {
		return err
	}

	id, _ := clients.IdentityFrom(c)
	parentID := parent.ID
	b := Batch{
		ID: batchID, ClientID: parent.ClientID, Status: StatusPending, FileType: FileTypeNDJSON, FileName: saved.Name,
		FileSizeBytes: saved.SizeBytes, Checksum: saved.SHA256, UploadPath: saved.Path, PolicyDecision: DecisionImmediate,
		OriginDefault: parent.OriginDefault, RequestedBy: parent.RequestedBy, MetadataJSON: parent.MetadataJSON,
		CreatedAt: h.now().UTC(), TraceID: parent.TraceID, ImportOptionsJSON: stored, ParentBatchID: &parentID,
	}
	// A second retry of the same records while the first one runs (or
	// finished recently) would import them twice: the retry files of one
	// parent have the same checksum, so the duplicate check catches it.
	if allow, _ := strconv.ParseBool(c.QueryParam("allowDuplicate")); !allow {
		if err := h.checkDuplicate(ctx, b, id.ClientIdentifier); err != nil {
			_ = h.storage.RemoveBatch(batchID.String())

			return err
		}
	}

	// A retry is a new batch for the client's window and daily quota, as
	// an upload would be.
	if err := h.decideAndCreate(c, limits, &b); err != nil {
		_ = h.storage.RemoveBatch(batchID.String())

		return err
	}

	location := "/imports/" + b.ID.String()
	c.Response().Header().Set(echo.HeaderLocation, location)
	h.log.Info().Str("batch_id", b.ID.String()).Str("parent_batch_id", parent.ID.String()).Str("client_id", id.ClientID).
		Msg("api: retry batch accepted")

	resp := uploadResponse{BatchID: b.ID.String(), Status: b.Status, PolicyDecision: b.PolicyDecision, Location: location}
	if b.ScheduledFor != nil {
		at := b.ScheduledFor.UTC().Format(time.RFC3339)
		resp.ScheduledFor = &at
	}

	return c.JSON(http.StatusAccepted, resp)
}

// writeFailedRecords writes the payload of each Error item of the batch as
// one NDJSON line, a page at a time.
func (h *handlers) writeFailedRecords(ctx context.Context, id database.UUID, w io.Writer) error {
	out := bufio.NewWriterSize(w, 64<<10)
	written := 0
	for after := -1; ; {
		rows, err := h.store.listItems(ctx, id, []string{ItemError}, after, reportPage)
		if err != nil {
			return err
		}

		for _, row := range rows {
			if isRedacted(row.PayloadJSON) {
				return errRedacted
			}

			// A record rejected before it could be read (over the size limit)
			// has no payload to send again.
			if strings.TrimSpace(row.PayloadJSON) == "{}" {
				continue
			}

			if _, err := out.WriteString(row.PayloadJSON); err != nil {
				return err
			}

			if err := out.WriteByte('\n'); err != nil {
				return err
			}

			written++
		}

		if len(rows) < reportPage {
			break
		}

		after = rows[len(rows)-1].Sequence
	}

	if written == 0 {
		return errNothingToRetry
	}

	return out.Flush()
}

// retryFileName names the file of a retry batch after its parent's.
func retryFileName(parent string) string {
	base := strings.TrimSuffix(parent, ".ndjson")
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}

	return fmt.Sprintf("%s.retry.ndjson", base)
}
