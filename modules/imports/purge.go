package imports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// KeptFiles lists the upload files of deleted batches that were left
	// on disk because they are outside their batch folder.
	KeptFiles []KeptFile `json:"keptFiles"`
}

// KeptFile is a file named in ImportBatches.UploadPath that a purge leaves
// in place because it is outside its batch folder. Such a path comes
// from a row written by hand or under an earlier BasePath, and deleting it
// could remove a file that DataFlow does not own.
type KeptFile struct {
	BatchID string `json:"batchId"`
	Path    string `json:"path"`
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
	// KeptFiles lists the upload files the purge would leave on disk.
	KeptFiles []KeptFile `json:"keptFiles"`
}

// PurgeCandidate is one batch a purge would delete.
type PurgeCandidate struct {
	BatchID  string `json:"batchId"`
	ClientID string `json:"clientId"`
	// ClientIdentifier is the X-Client-Id of the client, empty when the
	// Clients row is missing.
	ClientIdentifier string `json:"clientIdentifier"`
	Status           string `json:"status"`
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
	// item deletions with the number of rows it deleted.
	afterPiece func(batchID database.UUID, deleted int64)
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

	identifiers, err := p.store.clientIdentifiers(ctx, distinctClients(batches))
	if err != nil {
		return PurgePlan{}, err
	}

	plan := PurgePlan{Batches: make([]PurgeCandidate, 0, len(batches)), Skipped: skipped, KeptFiles: []KeptFile{}}
	for _, b := range batches {
		items, err := p.store.countBatchItems(ctx, b.ID)
		if err != nil {
			return PurgePlan{}, err
		}

		_, statErr := os.Lstat(p.storage.BatchDir(b.ID.String()))
		plan.Batches = append(plan.Batches, PurgeCandidate{
			BatchID: b.ID.String(), ClientID: b.ClientID.String(), ClientIdentifier: identifiers[b.ClientID], Status: b.Status,
			EndedAt: b.endedAt().UTC(), Items: items, FolderExists: statErr == nil,
		})
		if p.keepsUpload(b) {
			plan.KeptFiles = append(plan.KeptFiles, KeptFile{BatchID: b.ID.String(), Path: b.UploadPath})
		}
	}

	return plan, nil
}

// Purge deletes the batches req selects. On a database error it stops and
// returns the error with the counts so far. The batch it was working on is
// left for the next purge to finish.
func (p *Purger) Purge(ctx context.Context, req PurgeRequest) (PurgeResult, error) {
	batches, skipped, err := p.selectBatches(ctx, req)
	if err != nil {
		return PurgeResult{Skipped: []PurgeSkip{}, KeptFiles: []KeptFile{}}, err
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
	result := PurgeResult{Skipped: []PurgeSkip{}, KeptFiles: []KeptFile{}}
	identifiers, err := p.store.clientIdentifiers(ctx, distinctClients(batches))
	if err != nil {
		return result, err
	}

	for _, b := range batches {
		if err := ctx.Err(); err != nil {
			return result, err
		}

		log := p.log.With().Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).
			Str("client_identifier", identifiers[b.ClientID]).Str("trigger", trigger).Logger()
		removed, keptPath, err := p.removeFiles(b, trigger, log)
		if err != nil {
			log.Warn().Err(err).Msg(trigger + ": removing the batch folder failed; the batch is kept for a later run")
			result.Skipped = append(result.Skipped, PurgeSkip{BatchID: b.ID.String(), Reason: SkipFolderNotRemoved})

			continue
		}

		if removed {
			result.DeletedFolders++
		}

		if keptPath != "" {
			result.KeptFiles = append(result.KeptFiles, KeptFile{BatchID: b.ID.String(), Path: keptPath})
		}

		items, deleted, err := p.deleteRows(ctx, b.ID)
		result.DeletedItems += items
		if err != nil {
			return result, err
		}

		if !deleted {
			log.Debug().Int64("items", items).Msg(trigger + ": batch deleted by another process")

			continue
		}

		result.DeletedBatches++
		metrics.RetentionBatchesDeleted.WithLabelValues(trigger).Inc()
		log.Info().Str("status", b.Status).Time("ended_at", b.endedAt().UTC()).Int64("items", items).
			Bool("folder_removed", removed).Msg(trigger + ": deleted batch")
	}

	return result, nil
}

// deleteRows deletes a batch's items piece by piece, then its row. It
// returns how many items it deleted and whether it deleted the row itself.
//
// Several processes may delete the same batch at once. On PostgreSQL, a
// piece DELETE that waited for another process's row locks skips the rows
// that process removed and returns 0 while later pieces remain. So a piece
// of 0 rows does not end the loop by itself: the row is deleted only when
// no item is left, and while the row and some items remain the loop takes
// the next piece. Each item is then deleted, and counted, by exactly one
// piece of at most itemDeletePiece rows.
func (p *Purger) deleteRows(ctx context.Context, id database.UUID) (int64, bool, error) {
	var total int64
	for {
		n, err := p.store.deleteItemsPiece(ctx, id)
		if err != nil {
			return total, false, err
		}

		total += n
		if n > 0 && p.afterPiece != nil {
			p.afterPiece(id, n)
		}

		if err := ctx.Err(); err != nil {
			return total, false, err
		}

		if n > 0 {
			continue
		}

		deleted, err := p.store.deleteEmptyBatch(ctx, id)
		if err != nil || deleted {
			return total, deleted, err
		}

		exists, err := p.store.finishedBatchExists(ctx, id)
		if err != nil || !exists {
			return total, false, err
		}
	}
}

// removeFiles deletes the batch folder and reports whether it existed. A
// file that UploadPath names outside that folder, from a row written by
// hand or by an older layout, may belong to someone else, so it stays: a
// warning is logged and keptPath returns its path, unless nothing exists
// there.
func (p *Purger) removeFiles(b finishedBatch, trigger string, log zerolog.Logger) (removed bool, keptPath string, err error) {
	dir := p.storage.BatchDir(b.ID.String())
	_, statErr := os.Lstat(dir)
	if err := p.storage.RemoveBatch(b.ID.String()); err != nil {
		return false, "", err
	}

	if p.keepsUpload(b) {
		keptPath = b.UploadPath
		log.Warn().Str("upload_path", b.UploadPath).Str("batch_folder", dir).
			Msg(trigger + ": the batch's upload file is outside its batch folder, so it is kept; delete it by hand once it is not needed")
	}

	return statErr == nil, keptPath, nil
}

// keepsUpload reports whether a purge of b leaves a file behind: one that
// UploadPath names outside the batch folder.
func (p *Purger) keepsUpload(b finishedBatch) bool {
	if b.UploadPath == "" || fileMissing(b.UploadPath) {
		return false
	}

	inside, _ := pathInside(p.storage.BatchDir(b.ID.String()), b.UploadPath)

	return !inside
}

// fileMissing reports whether nothing exists at path.
func fileMissing(path string) bool {
	_, err := os.Lstat(path)

	return errors.Is(err, fs.ErrNotExist)
}

// pathInside reports whether path names an entry below the folder base.
// Both are made absolute and cleaned, and the symbolic links in the
// folders that exist on the way are resolved, so neither ".." nor a linked
// folder leads out. The last element of path is not resolved: os.Remove
// deletes a link itself, never its target.
func pathInside(base, path string) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, fmt.Errorf("resolving %s: %w", path, err)
	}

	dir, err := resolveExisting(filepath.Dir(abs))
	if err != nil {
		return false, err
	}

	root, err := resolveExisting(base)
	if err != nil {
		return false, err
	}

	rel, err := filepath.Rel(root, filepath.Join(dir, filepath.Base(abs)))
	if err != nil {
		return false, nil
	}

	return rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

// resolveExisting resolves the symbolic links of the longest leading part
// of the absolute path that exists, and appends the rest unchanged.
func resolveExisting(path string) (string, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err == nil {
		return resolved, nil
	}

	parent := filepath.Dir(path)
	if !errors.Is(err, fs.ErrNotExist) || parent == path {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}

	head, err := resolveExisting(parent)
	if err != nil {
		return "", err
	}

	return filepath.Join(head, filepath.Base(path)), nil
}

// distinctClients returns the client ids of batches, each once.
func distinctClients(batches []finishedBatch) []database.UUID {
	seen := make(map[database.UUID]bool, len(batches))
	var ids []database.UUID
	for _, b := range batches {
		if !seen[b.ClientID] {
			seen[b.ClientID] = true
			ids = append(ids, b.ClientID)
		}
	}

	return ids
}
