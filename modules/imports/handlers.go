package imports

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/config"

	"github.com/dataflow/dataflow/platform/storage"
)

type handlers struct {
	store         *store
	storage       *storage.Store
	log           zerolog.Logger
	now           func() time.Time
	maxFileSizeMb int64
	// uploadIdleTimeout cuts off an upload that sends nothing for this long.
	uploadIdleTimeout time.Duration
	// reading is the reading configuration of dry runs. Its
	// RequiredFields also become columns of the error report.
	reading ReadingConfig
	// duplicateWindow is ImportBatch:DuplicateWindowHours.
	duplicateWindow time.Duration
	// rateLimitPerMinute is RateLimit:RequestsPerMinute, the default of
	// ClientPolicies.RateLimitPerMinute.
	rateLimitPerMinute int
	scheduling         config.Scheduling
	// counter counts uploads per client and minute for the rate limit.
	counter *clients.Counter
}

// batchResponse is the body of GET /imports/{batchId}.
type batchResponse struct {
	BatchID       string     `json:"batchId"`
	Status        string     `json:"status"`
	FileName      string     `json:"fileName"`
	FileType      string     `json:"fileType"`
	FileSizeBytes int64      `json:"fileSizeBytes"`
	Checksum      string     `json:"checksum"`
	CreatedAt     time.Time  `json:"createdAt"`
	StartedAt     *time.Time `json:"startedAt"`
	CompletedAt   *time.Time `json:"completedAt"`
	ScheduledFor  *time.Time `json:"scheduledFor"`
	// StagedRecords counts records read from the file so far; it shows
	// progress while a large file is checked, before TotalRecords is known.
	StagedRecords    int     `json:"stagedRecords"`
	TotalRecords     int     `json:"totalRecords"`
	ProcessedRecords int     `json:"processedRecords"`
	ImportedRecords  int     `json:"importedRecords"`
	FailedRecords    int     `json:"failedRecords"`
	SkippedRecords   int     `json:"skippedRecords"`
	PolicyDecision   string  `json:"policyDecision"`
	ErrorSummary     *string `json:"errorSummary"`
	OriginDefault    *string `json:"originDefault"`
	RequestedBy      *string `json:"requestedBy"`
	PolicyReason     *string `json:"policyReason"`
	// ParentBatchID is the batch whose failed records this one retries.
	ParentBatchID *string `json:"parentBatchId"`
	// CancelRequested is true once the client asked to cancel the batch.
	CancelRequested bool `json:"cancelRequested"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}

	u := t.UTC()

	return &u
}

// getBatch returns the status and progress of one of the caller's batches.
// Another client's batch is 404, as a missing one is.
func (h *handlers) getBatch(c echo.Context) error {
	b, err := h.callerBatch(c)
	if err != nil {
		return err
	}

	return c.JSON(http.StatusOK, newBatchResponse(b))
}

// newBatchResponse returns the API view of a batch.
func newBatchResponse(b Batch) batchResponse {
	resp := batchResponse{
		BatchID:          b.ID.String(),
		Status:           b.Status,
		FileName:         b.FileName,
		FileType:         b.FileType,
		FileSizeBytes:    b.FileSizeBytes,
		Checksum:         b.Checksum,
		CreatedAt:        b.CreatedAt.UTC(),
		StartedAt:        utc(b.StartedAt),
		CompletedAt:      utc(b.CompletedAt),
		ScheduledFor:     utc(b.ScheduledFor),
		StagedRecords:    b.StagedRecords,
		TotalRecords:     b.TotalRecords,
		ProcessedRecords: b.ProcessedRecords,
		ImportedRecords:  b.ProcessedRecords - b.FailedRecords - b.SkippedRecords,
		FailedRecords:    b.FailedRecords,
		SkippedRecords:   b.SkippedRecords,
		PolicyDecision:   b.PolicyDecision,
		ErrorSummary:     b.ErrorSummary,
		OriginDefault:    b.OriginDefault,
		RequestedBy:      b.RequestedBy,
		PolicyReason:     b.PolicyReason,
	}
	if b.ParentBatchID != nil {
		parent := b.ParentBatchID.String()
		resp.ParentBatchID = &parent
	}

	resp.CancelRequested = b.CancelRequestedAt != nil

	return resp
}
