package locking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/database"
)

// ErrNoFreeSlot is returned by Acquire when every slot is held.
var ErrNoFreeSlot = errors.New("no free processing slot")

// ErrLeaseLost is returned when a slot's lease token changed under its holder.
var ErrLeaseLost = errors.New("processing slot lease lost")

// slotRow is one row of BatchLocks.
type slotRow struct {
	ID               int            `gorm:"column:Id;primaryKey"`
	IsLocked         bool           `gorm:"column:IsLocked"`
	LockOwnerBatchID *database.UUID `gorm:"column:LockOwnerBatchId"`
	LockedAt         *time.Time     `gorm:"column:LockedAt"`
	LeaseToken       int64          `gorm:"column:LeaseToken"`
	HeartbeatAt      *time.Time     `gorm:"column:HeartbeatAt"`
	LockedBy         *string        `gorm:"column:LockedBy"`
}

func (slotRow) TableName() string { return "BatchLocks" }

// Lease is a held slot.
type Lease struct {
	Slot  int
	Token int64
}

// ExpiredSlot is a slot the watchdog freed, with the batch it was assigned to.
type ExpiredSlot struct {
	Slot    int
	BatchID *database.UUID
	Holder  string
}

// Slots manages the BatchLocks rows.
type Slots struct {
	db  *database.DB
	log zerolog.Logger
	now func() time.Time
}

// NewSlots returns a slot manager.
func NewSlots(db *database.DB, log zerolog.Logger, now func() time.Time) *Slots {
	return &Slots{db: db, log: log, now: now}
}

func (s *Slots) utcNow() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ensure creates slot rows 1..count that do not exist yet. Rows above count
// are left alone (an operator who lowers the count keeps the old rows, which
// stay free because Acquire only looks at 1..count).
func (s *Slots) Ensure(ctx context.Context, count int) error {
	d := s.db.Dialect
	for id := 1; id <= count; id++ {
		err := s.db.WithContext(ctx).Exec(d.Render(
			"INSERT INTO {BatchLocks} ({Id}, {IsLocked}, {LeaseToken}) SELECT ?, "+d.Bool(false)+", 0 WHERE NOT EXISTS (SELECT 1 FROM {BatchLocks} WHERE {Id} = ?)"),
			id, id).Error
		if err != nil && !isDuplicate(err) {
			return fmt.Errorf("creating processing slot %d: %w", id, err)
		}
	}

	return nil
}

// isDuplicate reports a lost race between two workers creating the same row.
func isDuplicate(err error) bool {
	msg := err.Error()
	for _, s := range []string{"UNIQUE constraint", "duplicate key", "PRIMARY KEY constraint", "23505"} {
		if containsFold(msg, s) {
			return true
		}
	}

	return false
}

// Acquire takes the first free slot among 1..count for holder.
func (s *Slots) Acquire(ctx context.Context, count int, holder string) (Lease, error) {
	var rows []slotRow
	err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT {Id}, {IsLocked}, {LeaseToken} FROM {BatchLocks} WHERE {Id} <= ? AND {IsLocked} = ? ORDER BY {Id}"),
		count, false).Scan(&rows).Error
	if err != nil {
		return Lease{}, fmt.Errorf("reading processing slots: %w", err)
	}

	for _, row := range rows {
		taken, err := s.take(ctx, row.ID, row.LeaseToken, holder)
		if err != nil {
			return Lease{}, err
		}

		if taken {
			return Lease{Slot: row.ID, Token: row.LeaseToken + 1}, nil
		}
	}

	return Lease{}, ErrNoFreeSlot
}

// take moves a free slot seen with token to held by holder with token+1.
// It reports false when another worker changed the slot first.
func (s *Slots) take(ctx context.Context, id int, token int64, holder string) (bool, error) {
	now := s.utcNow()
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {BatchLocks} SET {IsLocked} = ?, {LockOwnerBatchId} = NULL, {LockedAt} = ?, {HeartbeatAt} = ?, {LockedBy} = ?, {LeaseToken} = ? "+
			"WHERE {Id} = ? AND {IsLocked} = ? AND {LeaseToken} = ?"),
		true, now, now, holder, token+1, id, false, token)
	if res.Error != nil {
		return false, fmt.Errorf("taking processing slot %d: %w", id, res.Error)
	}

	return res.RowsAffected == 1, nil
}

// Assign records which batch a held slot processes.
func (s *Slots) Assign(ctx context.Context, lease Lease, batchID database.UUID) error {
	return s.guarded(ctx, lease, "assigning",
		"UPDATE {BatchLocks} SET {LockOwnerBatchId} = ?, {HeartbeatAt} = ? WHERE {Id} = ? AND {LeaseToken} = ? AND {IsLocked} = ?",
		batchID, s.utcNow(), lease.Slot, lease.Token, true)
}

// Heartbeat renews a held slot. It returns ErrLeaseLost when the slot was
// taken away.
func (s *Slots) Heartbeat(ctx context.Context, lease Lease) error {
	return s.guarded(ctx, lease, "renewing",
		"UPDATE {BatchLocks} SET {HeartbeatAt} = ? WHERE {Id} = ? AND {LeaseToken} = ? AND {IsLocked} = ?",
		s.utcNow(), lease.Slot, lease.Token, true)
}

// Release frees a held slot. Releasing a slot already taken away returns
// ErrLeaseLost and changes nothing.
func (s *Slots) Release(ctx context.Context, lease Lease) error {
	return s.guarded(ctx, lease, "releasing",
		"UPDATE {BatchLocks} SET {IsLocked} = ?, {LockOwnerBatchId} = NULL, {LockedBy} = NULL WHERE {Id} = ? AND {LeaseToken} = ? AND {IsLocked} = ?",
		false, lease.Slot, lease.Token, true)
}

func (s *Slots) guarded(ctx context.Context, lease Lease, verb, sql string, args ...any) error {
	res := s.db.WithContext(ctx).Exec(s.db.Render(sql), args...)
	if res.Error != nil {
		return fmt.Errorf("%s processing slot %d: %w", verb, lease.Slot, res.Error)
	}

	if res.RowsAffected != 1 {
		return fmt.Errorf("%s processing slot %d: %w", verb, lease.Slot, ErrLeaseLost)
	}

	return nil
}

// ExpireStale frees every held slot whose heartbeat (or, for rows written by
// the .NET worker, LockedAt) is older than timeout, and returns them.
func (s *Slots) ExpireStale(ctx context.Context, timeout time.Duration) ([]ExpiredSlot, error) {
	cutoff := s.utcNow().Add(-timeout)

	var rows []slotRow
	err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT {Id}, {LeaseToken}, {LockOwnerBatchId}, {LockedBy} FROM {BatchLocks} "+
			"WHERE {IsLocked} = ? AND ({HeartbeatAt} < ? OR ({HeartbeatAt} IS NULL AND ({LockedAt} IS NULL OR {LockedAt} < ?)))"),
		true, cutoff, cutoff).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading stale processing slots: %w", err)
	}

	var expired []ExpiredSlot
	for _, row := range rows {
		freed, err := s.free(ctx, row.ID, row.LeaseToken)
		if err != nil {
			return expired, err
		}

		if freed {
			holder := ""
			if row.LockedBy != nil {
				holder = *row.LockedBy
			}

			expired = append(expired, ExpiredSlot{Slot: row.ID, BatchID: row.LockOwnerBatchID, Holder: holder})
		}
	}

	return expired, nil
}

// free frees a held slot seen with token and bumps the token, which fences
// off its holder. It reports false when the holder renewed or released it.
func (s *Slots) free(ctx context.Context, id int, token int64) (bool, error) {
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {BatchLocks} SET {IsLocked} = ?, {LockOwnerBatchId} = NULL, {LockedBy} = NULL, {LeaseToken} = ? "+
			"WHERE {Id} = ? AND {LeaseToken} = ? AND {IsLocked} = ?"),
		false, token+1, id, token, true)
	if res.Error != nil {
		return false, fmt.Errorf("freeing stale processing slot %d: %w", id, res.Error)
	}

	return res.RowsAffected == 1, nil
}

// HeldCount returns how many slots are held now.
func (s *Slots) HeldCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT COUNT(*) FROM {BatchLocks} WHERE {IsLocked} = ?"), true).Scan(&n).Error

	return n, err
}
