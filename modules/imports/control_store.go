package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// terminalStatuses are the statuses a batch never leaves.
var terminalStatuses = []string{StatusCompleted, StatusCompletedWithErrors, StatusFailed, StatusCancelled}

// duplicateOf returns the newest batch of the client with the same file
// content that is still running, or that finished after since. Cancelled
// batches do not count: the client gave them up.
func (s *store) duplicateOf(ctx context.Context, clientID database.UUID, checksum string, since time.Time) (Batch, bool, error) {
	var b Batch
	err := s.db.WithContext(ctx).
		Where(s.db.Render("{ClientId} = ? AND {Checksum} = ? AND {Status} <> ? AND ({Status} NOT IN ? OR {CompletedAt} >= ?)"),
			clientID, checksum, StatusCancelled, terminalStatuses, since).
		Order(s.db.Render("{CreatedAt} DESC")).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Batch{}, false, nil
	}

	if err != nil {
		return Batch{}, false, fmt.Errorf("looking for an earlier upload of the file: %w", err)
	}

	return b, true, nil
}

// batchFilter selects a client's batches for the batch list.
type batchFilter struct {
	statuses    []string
	createdFrom *time.Time
	createdTo   *time.Time
	before      *batchCursor
	limit       int
	clientID    database.UUID
}

// batchCursor is the position after the last batch of a page: newest
// first, by creation time, then id to break ties.
type batchCursor struct {
	CreatedAt time.Time
	ID        database.UUID
}

func (s *store) listBatches(ctx context.Context, f batchFilter) ([]Batch, error) {
	q := s.db.WithContext(ctx).Where(s.db.Render("{ClientId} = ?"), f.clientID)
	if len(f.statuses) > 0 {
		q = q.Where(s.db.Render("{Status} IN ?"), f.statuses)
	}

	if f.createdFrom != nil {
		q = q.Where(s.db.Render("{CreatedAt} >= ?"), f.createdFrom.UTC())
	}

	if f.createdTo != nil {
		q = q.Where(s.db.Render("{CreatedAt} < ?"), f.createdTo.UTC())
	}

	if f.before != nil {
		q = q.Where(s.db.Render("({CreatedAt} < ? OR ({CreatedAt} = ? AND {Id} < ?))"), f.before.CreatedAt, f.before.CreatedAt, f.before.ID)
	}

	var out []Batch
	if err := q.Order(s.db.Render("{CreatedAt} DESC, {Id} DESC")).Limit(f.limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing batches: %w", err)
	}

	return out, nil
}

// errNotWaiting rolls back a cancellation that found the batch in another
// status.
var errNotWaiting = errors.New("batch is not waiting")

// cancelWaiting cancels a Pending or Scheduled batch of the client at
// once. It bumps the lease token, so a worker that read the batch as a
// candidate cannot claim it any more. It returns false when the batch was
// in another status by then.
func (s *store) cancelWaiting(ctx context.Context, id, clientID database.UUID, summary string) (bool, error) {
	now := s.utcNow()
	cancelled := false
	err := s.finalTx(s.db.WithContext(ctx), id, func(tx *gorm.DB) error {
		res := tx.Exec(s.db.Render(
			"UPDATE {ImportBatches} SET {Status} = ?, {CompletedAt} = ?, {ErrorSummary} = ?, {LeaseToken} = {LeaseToken} + 1, {CancelRequestedAt} = ? "+
				"WHERE {Id} = ? AND {ClientId} = ? AND {Status} IN (?, ?)"),
			StatusCancelled, now, summary, now, id, clientID, StatusPending, StatusScheduled)
		if res.Error != nil {
			return fmt.Errorf("cancelling batch: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return errNotWaiting
		}
		cancelled = true

		return nil
	})
	if errors.Is(err, errNotWaiting) {
		return false, nil
	}

	return cancelled, err
}

// requestCancel marks a Processing batch so that its worker stops before
// its next chunk. It returns false when the batch was not Processing.
func (s *store) requestCancel(ctx context.Context, id, clientID database.UUID) (bool, error) {
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {ImportBatches} SET {CancelRequestedAt} = COALESCE({CancelRequestedAt}, ?) WHERE {Id} = ? AND {ClientId} = ? AND {Status} = ?"),
		s.utcNow(), id, clientID, StatusProcessing)
	if res.Error != nil {
		return false, fmt.Errorf("requesting cancellation: %w", res.Error)
	}

	return res.RowsAffected == 1, nil
}

// cancelRequested reports whether the client asked to cancel the batch.
func (s *store) cancelRequested(ctx context.Context, id database.UUID) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT COUNT(*) FROM {ImportBatches} WHERE {Id} = ? AND {CancelRequestedAt} IS NOT NULL"), id).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("checking for a cancellation: %w", err)
	}

	return n > 0, nil
}

// finishCancelled ends a batch whose cancellation the worker observed.
// Records never sent stay Pending, so the item list shows what was not
// delivered.
func (s *store) finishCancelled(ctx context.Context, id database.UUID, token int64, summary string) error {
	return s.finalTx(s.db.WithContext(ctx), id, func(tx *gorm.DB) error {
		return guardedUpdate(tx, s.db.Dialect, id, token,
			"{Status} = ?, {CompletedAt} = ?, {ErrorSummary} = ?, {WorkerId} = NULL", StatusCancelled, s.utcNow(), truncate(summary, 4000))
	})
}
