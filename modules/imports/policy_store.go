package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
)

// policies returns the client's own ClientPolicies row and the global row
// (ClientId NULL); either may be nil. When a scope has several rows, the
// oldest wins.
func (s *store) policies(ctx context.Context, clientID database.UUID) (own, global *clients.Policy, err error) {
	var rows []clients.Policy
	err = s.db.WithContext(ctx).Where(s.db.Render("{ClientId} = ? OR {ClientId} IS NULL"), clientID).
		Order(s.db.Render("{CreatedAt}")).Find(&rows).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, fmt.Errorf("loading client policies: %w", err)
	}

	for i := range rows {
		switch {
		case rows[i].ClientID == nil && global == nil:
			global = &rows[i]
		case rows[i].ClientID != nil && own == nil:
			own = &rows[i]
		}
	}

	return own, global, nil
}

// countOnDay counts the client's batches that run on the day [start, end):
// those scheduled into it, and those created in it to run at once.
// Cancelled batches do not count.
func (s *store) countOnDay(ctx context.Context, clientID database.UUID, start, end time.Time) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT COUNT(*) FROM {ImportBatches} WHERE {ClientId} = ? AND {Status} <> ? AND "+
			"(({ScheduledFor} IS NOT NULL AND {ScheduledFor} >= ? AND {ScheduledFor} < ?) OR ({ScheduledFor} IS NULL AND {CreatedAt} >= ? AND {CreatedAt} < ?))"),
		clientID, StatusCancelled, start.UTC(), end.UTC(), start.UTC(), end.UTC()).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("counting the client's batches of the day: %w", err)
	}

	return int(n), nil
}

// withClientLock runs fn in a transaction that holds the client's row
// locked, with a store bound to that transaction. Uploads of one client
// are thus evaluated and recorded one at a time, so two at once cannot
// both take the last place of a day's quota. An UPDATE that changes
// nothing still takes the row lock on PostgreSQL and SQL Server, and the
// database write lock on SQLite.
func (s *store) withClientLock(ctx context.Context, clientID database.UUID, fn func(tx *store) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(s.db.Render("UPDATE {Clients} SET {Status} = {Status} WHERE {Id} = ?"), clientID).Error; err != nil {
			return fmt.Errorf("locking the client: %w", err)
		}

		return fn(&store{db: &database.DB{DB: tx, Dialect: s.db.Dialect, Target: s.db.Target}, now: s.now})
	})
}
