package imports

import (
	"time"

	"github.com/dataflow/dataflow/platform/database"
)

// Batch statuses, stored as strings as the .NET services did. Cancelled is new.
const (
	StatusPending             = "Pending"
	StatusScheduled           = "Scheduled"
	StatusProcessing          = "Processing"
	StatusCompleted           = "Completed"
	StatusCompletedWithErrors = "CompletedWithErrors"
	StatusFailed              = "Failed"
	StatusCancelled           = "Cancelled"
)

// File types. Json and Excel come from the .NET services; Csv and Ndjson are new.
const (
	FileTypeJSON   = "Json"
	FileTypeExcel  = "Excel"
	FileTypeCSV    = "Csv"
	FileTypeNDJSON = "Ndjson"
)

// Policy decisions.
const (
	DecisionImmediate = "Immediate"
	DecisionScheduled = "Scheduled"
)

// Item statuses. Pending (staged, not delivered yet) is new.
const (
	ItemPending  = "Pending"
	ItemImported = "Imported"
	ItemError    = "Error"
	ItemSkipped  = "Skipped"
)

// Batch is one uploaded file (table ImportBatches).
type Batch struct {
	ID               database.UUID `gorm:"column:Id;primaryKey"`
	ClientID         database.UUID `gorm:"column:ClientId"`
	Status           string        `gorm:"column:Status"`
	FileType         string        `gorm:"column:FileType"`
	FileName         string        `gorm:"column:FileName"`
	FileSizeBytes    int64         `gorm:"column:FileSizeBytes"`
	Checksum         string        `gorm:"column:Checksum"`
	UploadPath       string        `gorm:"column:UploadPath"`
	PolicyDecision   string        `gorm:"column:PolicyDecision"`
	OriginDefault    *string       `gorm:"column:OriginDefault"`
	RequestedBy      *string       `gorm:"column:RequestedBy"`
	MetadataJSON     *string       `gorm:"column:MetadataJson"`
	CreatedAt        time.Time     `gorm:"column:CreatedAt"`
	StartedAt        *time.Time    `gorm:"column:StartedAt"`
	CompletedAt      *time.Time    `gorm:"column:CompletedAt"`
	TotalRecords     int           `gorm:"column:TotalRecords"`
	ProcessedRecords int           `gorm:"column:ProcessedRecords"`
	ErrorSummary     *string       `gorm:"column:ErrorSummary"`

	// Columns added by DataFlow.
	ScheduledFor   *time.Time `gorm:"column:ScheduledFor"`
	PolicyReason   *string    `gorm:"column:PolicyReason"`
	FailedRecords  int        `gorm:"column:FailedRecords"`
	SkippedRecords int        `gorm:"column:SkippedRecords"`
	// ChunkSize is fixed at the first claim, so chunk boundaries (and so
	// chunk ids and idempotency keys) never move during a batch's life.
	ChunkSize *int `gorm:"column:ChunkSize"`
	// StagedRecords counts records committed to ImportItems; StagedAt is set
	// once the whole file is staged.
	StagedRecords int        `gorm:"column:StagedRecords"`
	StagedAt      *time.Time `gorm:"column:StagedAt"`
	AttemptCount  int        `gorm:"column:AttemptCount"`
	// PauseCount counts pauses because OmniFlow was unavailable.
	PauseCount    int        `gorm:"column:PauseCount"`
	NextAttemptAt *time.Time `gorm:"column:NextAttemptAt"`
	WorkerID      *string    `gorm:"column:WorkerId"`
	HeartbeatAt   *time.Time `gorm:"column:HeartbeatAt"`
	// LeaseToken grows by one at every claim and every takeover. Every write
	// of a worker is conditional on the token it claimed with.
	LeaseToken int64   `gorm:"column:LeaseToken"`
	TraceID    *string `gorm:"column:TraceId"`
	// ImportOptionsJSON holds the reading and validation options given at
	// upload (see ImportOptions), NULL when none were.
	ImportOptionsJSON *string `gorm:"column:ImportOptionsJson"`
	// ParentBatchID is the batch whose failed records this one retries.
	ParentBatchID *database.UUID `gorm:"column:ParentBatchId"`
	// CancelRequestedAt is set when the client cancels a batch while it
	// is Processing; the worker stops before its next chunk.
	CancelRequestedAt *time.Time `gorm:"column:CancelRequestedAt"`
}

// TableName keeps the .NET table name.
func (Batch) TableName() string { return "ImportBatches" }

// Item is one record of a batch (table ImportItems).
type Item struct {
	ID           int64         `gorm:"column:Id;primaryKey;autoIncrement"`
	BatchID      database.UUID `gorm:"column:BatchId"`
	Sequence     int           `gorm:"column:Sequence"`
	PayloadJSON  string        `gorm:"column:PayloadJson"`
	Status       string        `gorm:"column:Status"`
	ErrorMessage *string       `gorm:"column:ErrorMessage"`
	CreatedAt    time.Time     `gorm:"column:CreatedAt"`
	LeadID       *string       `gorm:"column:LeadId"`
	// SourceLine is the line of the file where the record starts (CSV,
	// NDJSON, JSON) or its sheet row (XLSX).
	SourceLine *int `gorm:"column:SourceLine"`
}

// TableName keeps the .NET table name.
func (Item) TableName() string { return "ImportItems" }
