package imports

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// batchesResponse is the body of GET /imports.
type batchesResponse struct {
	Items      []batchResponse `json:"items"`
	NextCursor *string         `json:"nextCursor"`
}

// Page sizes of the batch list.
const (
	defaultBatchesLimit = 50
	maxBatchesLimit     = 500
)

// listBatches returns the caller's batches, newest first, a page at a time.
func (h *handlers) listBatches(c echo.Context) error {
	id, _ := clients.IdentityFrom(c)
	clientID, err := database.ParseUUID(id.ClientID)
	if err != nil {
		return err
	}

	f := batchFilter{clientID: clientID, limit: defaultBatchesLimit}
	for _, raw := range c.QueryParams()["status"] {
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}

			status, ok := batchStatuses[strings.ToLower(s)]
			if !ok {
				return errInvalidBatchStatus.With("status", s)
			}

			f.statuses = append(f.statuses, status)
		}
	}

	for _, p := range []struct {
		name   string
		target **time.Time
	}{{"createdFrom", &f.createdFrom}, {"createdTo", &f.createdTo}} {
		raw := c.QueryParam(p.name)
		if raw == "" {
			continue
		}

		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return errInvalidTime.With("parameter", p.name).With("value", raw)
		}

		*p.target = &t
	}

	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxBatchesLimit {
			return errInvalidLimit.With("limit", raw).With("maxLimit", maxBatchesLimit)
		}

		f.limit = n
	}

	if raw := c.QueryParam("cursor"); raw != "" {
		cursor, ok := decodeBatchCursor(raw)
		if !ok {
			return errInvalidCursor
		}

		f.before = &cursor
	}

	limit := f.limit
	f.limit++
	batches, err := h.store.listBatches(c.Request().Context(), f)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	resp := batchesResponse{Items: make([]batchResponse, 0, min(len(batches), limit))}
	for i, b := range batches {
		if i == limit {
			last := batches[i-1]
			next := encodeBatchCursor(batchCursor{CreatedAt: last.CreatedAt, ID: last.ID})
			resp.NextCursor = &next

			break
		}

		resp.Items = append(resp.Items, newBatchResponse(b))
	}

	return c.JSON(http.StatusOK, resp)
}

// batchStatuses maps the accepted spellings of the batch status filter.
var batchStatuses = map[string]string{
	"pending": StatusPending, "scheduled": StatusScheduled, "processing": StatusProcessing, "completed": StatusCompleted,
	"completedwitherrors": StatusCompletedWithErrors, "failed": StatusFailed, "cancelled": StatusCancelled,
}

func encodeBatchCursor(c batchCursor) string { return database.Cursor(c).Encode("b") }

func decodeBatchCursor(cursor string) (batchCursor, bool) {
	c, ok := database.DecodeCursor("b", cursor)

	return batchCursor(c), ok
}

// cancelBatch cancels a Pending or Scheduled batch at once (200), or
// requests that the worker stop a Processing one before its next chunk
// (202). A
// finished batch cannot be cancelled (409).
func (h *handlers) cancelBatch(c echo.Context) error {
	b, err := h.callerBatch(c)
	if err != nil {
		return err
	}

	ctx := c.Request().Context()
	summary := "cancelled by the client before processing started"
	if b.ProcessedRecords > 0 {
		// A batch paused after an OmniFlow outage waits as Pending with
		// records already delivered.
		summary = fmt.Sprintf("cancelled by the client after %d of %d records were processed", b.ProcessedRecords, b.TotalRecords)
	}

	done, err := h.store.cancelWaiting(ctx, b.ID, b.ClientID, summary)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	status := http.StatusOK
	if done {
		if rerr := h.storage.RemoveBatch(b.ID.String()); rerr != nil {
			h.log.Warn().Err(rerr).Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).
				Msg("api: removing a cancelled batch's file failed")
		}
	} else {
		requested, err := h.store.requestCancel(ctx, b.ID, b.ClientID)
		if err != nil {
			return httpserver.ErrUnavailable.WithCause(err)
		}

		if !requested {
			// Reload, since the batch may have finished since it was read.
			current, err := h.store.batch(ctx, b.ID)
			if err != nil {
				return httpserver.ErrUnavailable.WithCause(err)
			}

			return errNotCancellable.With("batchId", b.ID.String()).With("status", current.Status)
		}

		status = http.StatusAccepted
	}

	b, err = h.store.batch(ctx, b.ID)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	id, _ := clients.IdentityFrom(c)
	h.log.Info().Str("batch_id", b.ID.String()).Str("client_id", id.ClientID).Str("status", b.Status).Msg("api: batch cancellation requested")

	return c.JSON(status, newBatchResponse(b))
}
