package imports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

// Limits of one purge request, shared by POST /admin/purge and
// `dataflow purge`.
const (
	// MaxPurgeBatchIDs is the largest number of ids one request lists.
	MaxPurgeBatchIDs = 1000
	// DefaultPurgeBatches is the number of batches an olderThanDays purge
	// deletes when it sets no maximum.
	DefaultPurgeBatches = 100
	// MaxPurgeBatches is the largest maximum an olderThanDays purge may set.
	MaxPurgeBatches = 10000
	// MaxPurgeDays is the largest olderThanDays.
	MaxPurgeDays = maxRetentionDays
)

// Reasons a purge leaves a requested batch in place (PurgeSkip.Reason).
const (
	SkipNotFound = "not_found"
	// SkipNotFinished is a batch that is Pending, Scheduled or Processing.
	SkipNotFinished = "not_finished"
	// SkipFolderNotRemoved is a batch whose upload folder could not be
	// deleted. Its items and row stay, so a later purge can finish it.
	SkipFolderNotRemoved = "folder_not_removed"
)

// Labels of metrics.RetentionBatchesDeleted.
const (
	triggerRetention = "retention"
	triggerPurge     = "purge"
)

// PurgeRequest selects the batches to delete: either BatchIDs, or every
// finished batch that ended more than OlderThanDays days ago, oldest first,
// at most MaxBatches of them.
type PurgeRequest struct {
	BatchIDs      []database.UUID
	OlderThanDays *int
	// MaxBatches applies to OlderThanDays; 0 means DefaultPurgeBatches.
	MaxBatches int
}

// Validate reports a request that sets both modes or neither, or a value
// out of range. The error names the field; callers that take other input
// (flags) check their input first and give their own messages.
func (r PurgeRequest) Validate() error {
	switch {
	case len(r.BatchIDs) > 0 && r.OlderThanDays != nil:
		return errors.New("purge request sets both batch ids and olderThanDays; choose one")
	case len(r.BatchIDs) == 0 && r.OlderThanDays == nil:
		return errors.New("purge request sets neither batch ids nor olderThanDays; give one")
	case len(r.BatchIDs) > MaxPurgeBatchIDs:
		return fmt.Errorf("purge request lists %d batch ids; the maximum is %d", len(r.BatchIDs), MaxPurgeBatchIDs)
	case r.OlderThanDays != nil && (*r.OlderThanDays < 0 || *r.OlderThanDays > MaxPurgeDays):
		return fmt.Errorf("invalid olderThanDays %d: use a whole number from 0 to %d", *r.OlderThanDays, MaxPurgeDays)
	case r.MaxBatches < 0 || r.MaxBatches > MaxPurgeBatches:
		return fmt.Errorf("invalid maxBatches %d: use a whole number from 1 to %d", r.MaxBatches, MaxPurgeBatches)
	}

	return nil
}

// PurgeResult counts what a purge deleted. It is the body of a successful
// POST /admin/purge.
type PurgeResult struct {
	DeletedBatches int   `json:"deletedBatches"`
	DeletedItems   int64 `json:"deletedItems"`
	// DeletedFolders counts batch folders that existed and were removed.
	DeletedFolders int         `json:"deletedFolders"`
	Skipped        []PurgeSkip `json:"skipped"`
}

// PurgeSkip is a requested batch that the purge left in place.
type PurgeSkip struct {
	BatchID string `json:"batchId"`
	// Reason is one of the Skip constants.
	Reason string `json:"reason"`
	// Status is the batch's status for SkipNotFinished.
	Status string `json:"status,omitempty"`
}

// PurgePlan is the list of batches a purge would delete, for a dry run.
type PurgePlan struct {
	Batches []PurgeCandidate `json:"batches"`
	Skipped []PurgeSkip      `json:"skipped"`
}

// PurgeCandidate is one batch a purge would delete.
type PurgeCandidate struct {
	BatchID  string `json:"batchId"`
	ClientID string `json:"clientId"`
	Status   string `json:"status"`
	// EndedAt is CompletedAt, or CreatedAt for rows without one.
	EndedAt time.Time `json:"endedAt"`
	Items   int64     `json:"items"`
	// FolderExists reports whether the batch folder is still on disk.
	FolderExists bool `json:"folderExists"`
}

// Purger deletes finished batches with their items and upload folders. It
// deletes the folder first, then the items in pieces of at most
// itemDeletePiece rows that each commit on their own, then the batch row.
// A crash at any step leaves a finished batch row that the next purge or
// retention run selects again and finishes: a missing folder is not an
// error, and item deletion goes on from the rows that are left. A batch
// that is not finished is never deleted.
//
// Retry batches keep their ParentBatchId after the parent is deleted. No
// foreign key guards that column, so the child stays readable and its
// parentBatchId names a batch that no longer exists.
type Purger struct {
	store   *store
	storage *storage.Store
	log     zerolog.Logger
	now     func() time.Time
	// afterPiece, when set by tests, runs after each committed piece of
	// item deletions.
	afterPiece func(batchID database.UUID)
}

// NewPurger returns a purger over the database and the upload folder.
// now is the clock olderThanDays counts from.
func NewPurger(db *database.DB, files *storage.Store, log zerolog.Logger, now func() time.Time) *Purger {
	return &Purger{store: &store{db: db, now: now}, storage: files, log: log, now: now}
}

// Plan returns the batches req would delete, with their item counts, and
// the requested ids it would skip. It changes nothing.
func (p *Purger) Plan(ctx context.Context, req PurgeRequest) (PurgePlan, error) {
	batches, skipped, err := p.selectBatches(ctx, req)
	if err != nil {
		return PurgePlan{}, err
	}

	plan := PurgePlan{Batches: make([]PurgeCandidate, 0, len(batches)), Skipped: skipped}
	for _, b := range batches {
		items, err := p.store.countBatchItems(ctx, b.ID)
		if err != nil {
			return PurgePlan{}, err
		}

		_, statErr := os.Lstat(p.storage.BatchDir(b.ID.String()))
		plan.Batches = append(plan.Batches, PurgeCandidate{
			BatchID: b.ID.String(), ClientID: b.ClientID.String(), Status: b.Status,
			EndedAt: b.endedAt().UTC(), Items: items, FolderExists: statErr == nil,
		})
	}

	return plan, nil
}

// Purge deletes the batches req selects. On a database error it stops and
// returns the error with the counts so far. The batch it was working on is
// left for the next purge to finish.
func (p *Purger) Purge(ctx context.Context, req PurgeRequest) (PurgeResult, error) {
	batches, skipped, err := p.selectBatches(ctx, req)
	if err != nil {
		return PurgeResult{Skipped: []PurgeSkip{}}, err
	}

	result, err := p.deleteBatches(ctx, batches, triggerPurge)
	result.Skipped = append(skipped, result.Skipped...)

	return result, err
}

// selectBatches returns the finished batches req names or selects, and
// the requested ids that are missing or not finished, in request order.
func (p *Purger) selectBatches(ctx context.Context, req PurgeRequest) ([]finishedBatch, []PurgeSkip, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}

	if p.storage == nil {
		return nil, nil, errors.New("purging batches needs the upload folder (ImportStorage:BasePath), which this process did not open")
	}

	skipped := []PurgeSkip{}
	if req.OlderThanDays != nil {
		limit := cmp.Or(req.MaxBatches, DefaultPurgeBatches)
		cutoff := p.now().UTC().AddDate(0, 0, -*req.OlderThanDays)
		batches, err := p.store.finishedBefore(ctx, cutoff, limit, clientScope{})

		return batches, skipped, err
	}

	found, err := p.store.batchesByID(ctx, req.BatchIDs)
	if err != nil {
		return nil, nil, err
	}

	byID := make(map[database.UUID]finishedBatch, len(found))
	for _, b := range found {
		byID[b.ID] = b
	}

	var batches []finishedBatch
	seen := make(map[database.UUID]bool, len(req.BatchIDs))
	for _, id := range req.BatchIDs {
		if seen[id] {
			continue
		}

		seen[id] = true
		b, ok := byID[id]
		switch {
		case !ok:
			skipped = append(skipped, PurgeSkip{BatchID: id.String(), Reason: SkipNotFound})
		case !slices.Contains(terminalStatuses, b.Status):
			skipped = append(skipped, PurgeSkip{BatchID: id.String(), Reason: SkipNotFinished, Status: b.Status})
		default:
			batches = append(batches, b)
		}
	}

	return batches, skipped, nil
}

// deleteBatches deletes each batch in order. A batch whose folder cannot be
// removed is skipped. A database error or the end of ctx stops the loop,
// and is returned with the counts so far.
func (p *Purger) deleteBatches(ctx context.Context, batches []finishedBatch, trigger string) (PurgeResult, error) {
	result := PurgeResult{Skipped: []PurgeSkip{}}
	for _, b := range batches {
		if err := ctx.Err(); err != nil {
			return result, err
		}

		log := p.log.With().Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).Str("trigger", trigger).Logger()
		removed, err := p.removeFolder(b)
		if err != nil {
			log.Warn().Err(err).Msg(trigger + ": removing the batch folder failed; the batch is kept for a later run")
			result.Skipped = append(result.Skipped, PurgeSkip{BatchID: b.ID.String(), Reason: SkipFolderNotRemoved})

			continue
		}

		if removed {
			result.DeletedFolders++
		}

		items, err := p.deleteItems(ctx, b.ID)
		result.DeletedItems += items
		if err != nil {
			return result, err
		}

		deleted, err := p.store.deleteFinishedBatch(ctx, b.ID)
		if err != nil {
			return result, err
		}

		if !deleted {
			log.Debug().Msg(trigger + ": batch already deleted by another process")

			continue
		}

		result.DeletedBatches++
		metrics.RetentionBatchesDeleted.WithLabelValues(trigger).Inc()
		log.Info().Str("status", b.Status).Time("ended_at", b.endedAt().UTC()).Int64("items", items).
			Bool("folder_removed", removed).Msg(trigger + ": deleted batch")
	}

	return result, nil
}

// deleteItems deletes a batch's items piece by piece and returns how many
// rows it deleted.
func (p *Purger) deleteItems(ctx context.Context, id database.UUID) (int64, error) {
	var total int64
	for {
		n, err := p.store.deleteItemsPiece(ctx, id)
		if err != nil {
			return total, err
		}

		if n == 0 {
			return total, nil
		}

		total += n
		if p.afterPiece != nil {
			p.afterPiece(id)
		}

		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// removeFolder deletes the batch folder and reports whether it existed. A
// file recorded outside that folder, left from an earlier
// ImportStorage:BasePath, is removed as the worker would remove it.
func (p *Purger) removeFolder(b finishedBatch) (bool, error) {
	dir := p.storage.BatchDir(b.ID.String())
	_, statErr := os.Lstat(dir)
	if err := p.storage.RemoveBatch(b.ID.String()); err != nil {
		return false, err
	}

	if b.UploadPath != "" && filepath.Dir(b.UploadPath) != dir {
		if err := p.storage.RemoveFile(b.UploadPath); err != nil {
			return false, err
		}
	}

	return statErr == nil, nil
}
