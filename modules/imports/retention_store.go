package imports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
)

// itemDeletePiece is the largest number of ImportItems rows one DELETE
// removes. SQL Server escalates to a table lock once a statement holds
// 5,000 locks on one table or index (SQL Server documentation, "Lock
// Escalation (Database Engine)"), which would block the worker's writes to
// other batches, so a piece stays below that. Tests lower it.
var itemDeletePiece = 4000

// maxRetentionDays caps a retention period. It is the upper bound that
// DataRetention:BatchRetentionDays accepts (100 years), and it keeps the
// cutoff inside the timestamp range of every engine.
const maxRetentionDays = 36500

// idsPerQuery bounds the ids of one IN list, well below the 2,100
// parameters that SQL Server allows per statement.
const idsPerQuery = 500

// finishedBatch is the part of a batch row that deleting it needs.
type finishedBatch struct {
	ID          database.UUID `gorm:"column:Id"`
	ClientID    database.UUID `gorm:"column:ClientId"`
	Status      string        `gorm:"column:Status"`
	CreatedAt   time.Time     `gorm:"column:CreatedAt"`
	CompletedAt *time.Time    `gorm:"column:CompletedAt"`
	UploadPath  string        `gorm:"column:UploadPath"`
}

// endedAt returns when the batch reached its final status. Rows written by
// the .NET services may lack CompletedAt, and then CreatedAt is used
// instead, as in the SQL of finishedBefore.
func (b finishedBatch) endedAt() time.Time {
	if b.CompletedAt != nil {
		return *b.CompletedAt
	}

	return b.CreatedAt
}

// endedBefore orders batches by end time, then id.
func endedBefore(a, b finishedBatch) int {
	if c := a.endedAt().Compare(b.endedAt()); c != 0 {
		return c
	}

	return slices.Compare(a.ID[:], b.ID[:])
}

// clientScope restricts finishedBefore to some clients.
type clientScope struct {
	// only, when not nil, lists the clients to include.
	only []database.UUID
	// withoutOwnRetention excludes every client that has a ClientPolicies
	// row with RetentionDays set.
	withoutOwnRetention bool
}

// finishedBefore returns up to limit batches in a final status that ended
// before cutoff, oldest first.
func (s *store) finishedBefore(ctx context.Context, cutoff time.Time, limit int, scope clientScope) ([]finishedBatch, error) {
	q := s.db.WithContext(ctx).Model(&Batch{}).
		Select(s.db.Render("{Id}, {ClientId}, {Status}, {CreatedAt}, {CompletedAt}, {UploadPath}")).
		Where(s.db.Render("{Status} IN ? AND COALESCE({CompletedAt}, {CreatedAt}) < ?"), terminalStatuses, cutoff.UTC())
	if scope.only != nil {
		q = q.Where(s.db.Render("{ClientId} IN ?"), scope.only)
	}

	if scope.withoutOwnRetention {
		q = q.Where(s.db.Render("{ClientId} NOT IN (SELECT {ClientId} FROM {ClientPolicies} WHERE {ClientId} IS NOT NULL AND {RetentionDays} IS NOT NULL)"))
	}

	var out []finishedBatch
	err := q.Order(s.db.Render("COALESCE({CompletedAt}, {CreatedAt}), {Id}")).Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("looking for finished batches that ended before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}

	return out, nil
}

// batchesByID returns the batches among ids that exist, in any status.
func (s *store) batchesByID(ctx context.Context, ids []database.UUID) ([]finishedBatch, error) {
	var out []finishedBatch
	for start := 0; start < len(ids); start += idsPerQuery {
		group := ids[start:min(start+idsPerQuery, len(ids))]

		var rows []finishedBatch
		err := s.db.WithContext(ctx).Model(&Batch{}).
			Select(s.db.Render("{Id}, {ClientId}, {Status}, {CreatedAt}, {CompletedAt}, {UploadPath}")).
			Where(s.db.Render("{Id} IN ?"), group).Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("loading batches by id: %w", err)
		}

		out = append(out, rows...)
	}

	return out, nil
}

// allPolicies returns every ClientPolicies row, oldest first. The table
// contains about one row per client, so it is read whole.
func (s *store) allPolicies(ctx context.Context) ([]clients.Policy, error) {
	var rows []clients.Policy
	if err := s.db.WithContext(ctx).Order(s.db.Render("{CreatedAt}, {Id}")).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("loading client policies: %w", err)
	}

	return rows, nil
}

// countBatchItems counts the ImportItems rows of a batch.
func (s *store) countBatchItems(ctx context.Context, id database.UUID) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT COUNT(*) FROM {ImportItems} WHERE {BatchId} = ?"), id).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("counting the items of batch %s: %w", id, err)
	}

	return n, nil
}

// deleteItemsPiece deletes the itemDeletePiece lowest sequences of a
// batch's items in one statement, which commits on its own. It returns how
// many rows it deleted, zero once none are left. The sequences of a batch
// are unique, so one piece never holds more than itemDeletePiece rows, and
// the (BatchId, Sequence) index serves both the MIN and the range.
func (s *store) deleteItemsPiece(ctx context.Context, id database.UUID) (int64, error) {
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"DELETE FROM {ImportItems} WHERE {BatchId} = ? AND {Sequence} < "+
			"(SELECT MIN({Sequence}) FROM {ImportItems} WHERE {BatchId} = ?) + ?"),
		id, id, itemDeletePiece)
	if res.Error != nil {
		return 0, fmt.Errorf("deleting the items of batch %s: %w", id, res.Error)
	}

	return res.RowsAffected, nil
}

// deleteEmptyBatch deletes the batch row when it is in a final status and
// has no ImportItems rows left. It returns false when the row is gone, is
// not final, or still has items. The NOT EXISTS condition keeps ON DELETE
// CASCADE from removing items. Without it, a process that lost a race for
// a piece of items could delete the row while another process is still
// deleting the rest, and the cascade would delete them all in one
// statement.
func (s *store) deleteEmptyBatch(ctx context.Context, id database.UUID) (bool, error) {
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"DELETE FROM {ImportBatches} WHERE {Id} = ? AND {Status} IN ? "+
			"AND NOT EXISTS (SELECT 1 FROM {ImportItems} WHERE {BatchId} = ?)"),
		id, terminalStatuses, id)
	if res.Error != nil {
		return false, fmt.Errorf("deleting batch %s: %w", id, res.Error)
	}

	return res.RowsAffected == 1, nil
}

// finishedBatchExists reports whether the batch row exists in a final
// status. A batch never leaves a final status, so false means that
// another process deleted it.
func (s *store) finishedBatchExists(ctx context.Context, id database.UUID) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT COUNT(*) FROM {ImportBatches} WHERE {Id} = ? AND {Status} IN ?"),
		id, terminalStatuses).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("checking whether batch %s still exists: %w", id, err)
	}

	return n > 0, nil
}

// clientIdentifiers returns the ClientIdentifier of each client in ids
// that has a Clients row, for the logs and the dry-run output.
func (s *store) clientIdentifiers(ctx context.Context, ids []database.UUID) (map[database.UUID]string, error) {
	out := make(map[database.UUID]string, len(ids))
	for start := 0; start < len(ids); start += idsPerQuery {
		group := ids[start:min(start+idsPerQuery, len(ids))]

		var rows []struct {
			ID         database.UUID `gorm:"column:Id"`
			Identifier string        `gorm:"column:ClientIdentifier"`
		}
		err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT {Id}, {ClientIdentifier} FROM {Clients} WHERE {Id} IN ?"), group).
			Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("loading client identifiers: %w", err)
		}

		for _, r := range rows {
			out[r.ID] = r.Identifier
		}
	}

	return out, nil
}
