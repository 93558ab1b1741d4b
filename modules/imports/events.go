package imports

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// BatchFinished describes a batch that reached a final status. It carries
// counts and times only, never lead data.
type BatchFinished struct {
	BatchID          database.UUID
	ClientID         database.UUID
	Status           string
	FileName         string
	TraceID          string
	TotalRecords     int
	ProcessedRecords int
	FailedRecords    int
	SkippedRecords   int
	CreatedAt        time.Time
	StartedAt        *time.Time
	CompletedAt      time.Time
	ErrorSummary     string
	ParentBatchID    *database.UUID
}

// FinishHook runs inside the transaction that writes a batch's final
// status, so what it writes commits or rolls back with that status. An
// error rolls the status back too.
type FinishHook func(tx *gorm.DB, e BatchFinished) error

// OnBatchFinished adds a hook that runs in the transaction of every final
// status: Completed, CompletedWithErrors, Failed and Cancelled. Call it
// before the kernel starts serving or working.
func (m *Module) OnBatchFinished(h FinishHook) { m.hooks = append(m.hooks, h) }

// finalTx runs write and then the finish hooks in one transaction. write
// must set the final status of batch id.
func (s *store) finalTx(tx *gorm.DB, id database.UUID, write func(tx *gorm.DB) error) error {
	if s.hooks == nil || len(*s.hooks) == 0 {
		return write(tx)
	}

	return tx.Transaction(func(tx *gorm.DB) error {
		if err := write(tx); err != nil {
			return err
		}

		var b Batch
		if err := tx.Where(s.db.Render("{Id} = ?"), id).Take(&b).Error; err != nil {
			return fmt.Errorf("reading the finished batch: %w", err)
		}

		e := finishedEvent(b)
		for _, h := range *s.hooks {
			if err := h(tx, e); err != nil {
				return err
			}
		}

		return nil
	})
}

func finishedEvent(b Batch) BatchFinished {
	e := BatchFinished{
		BatchID: b.ID, ClientID: b.ClientID, Status: b.Status, FileName: b.FileName,
		TotalRecords: b.TotalRecords, ProcessedRecords: b.ProcessedRecords, FailedRecords: b.FailedRecords,
		SkippedRecords: b.SkippedRecords, CreatedAt: b.CreatedAt, StartedAt: b.StartedAt, ParentBatchID: b.ParentBatchID,
	}
	if b.CompletedAt != nil {
		e.CompletedAt = *b.CompletedAt
	}
	if b.TraceID != nil {
		e.TraceID = *b.TraceID
	}
	if b.ErrorSummary != nil {
		e.ErrorSummary = *b.ErrorSummary
	}

	return e
}
