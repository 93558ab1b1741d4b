package clients

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dataflow/dataflow/platform/database"
)

// Counter counts events per key in fixed time windows, in the database,
// so that every serve replica reads the same counts.
type Counter struct {
	db  *database.DB
	now func() time.Time
}

// NewCounter returns a counter over the RateLimitCounters table.
func NewCounter(db *database.DB, now func() time.Time) *Counter {
	return &Counter{db: db, now: now}
}

// counterRetention is how long old windows are kept before a hit deletes
// them.
const counterRetention = time.Hour

// Hit adds one event for key in the current window and returns the count
// of the window with it, and when the window ends.
func (c *Counter) Hit(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	start := c.now().UTC().Truncate(window)
	var count int
	err := c.db.WithContext(ctx).Raw(c.upsertSQL(), key, start).Scan(&count).Error
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("counting %s: %w", key, err)
	}

	// About one hit in 200 removes the windows older than an hour, which
	// keeps the table small without a separate job.
	if rand.IntN(200) == 0 {
		cutoff := c.now().UTC().Add(-counterRetention)
		if err := c.db.WithContext(ctx).Exec(c.db.Render("DELETE FROM {RateLimitCounters} WHERE {WindowStart} < ?"), cutoff).Error; err != nil {
			return count, start.Add(window), fmt.Errorf("removing old rate limit windows: %w", err)
		}
	}

	return count, start.Add(window), nil
}

// Undo takes back one event of key in the current window.
func (c *Counter) Undo(ctx context.Context, key string, window time.Duration) error {
	start := c.now().UTC().Truncate(window)
	err := c.db.WithContext(ctx).Exec(c.db.Render(
		"UPDATE {RateLimitCounters} SET {Count} = {Count} - 1 WHERE {Key} = ? AND {WindowStart} = ? AND {Count} > 0"), key, start).Error
	if err != nil {
		return fmt.Errorf("taking back a count of %s: %w", key, err)
	}

	return nil
}

// Count returns the count of key in the current window without adding to
// it, and when the window ends.
func (c *Counter) Count(ctx context.Context, key string, window time.Duration) (int, time.Time, error) {
	start := c.now().UTC().Truncate(window)
	var count int64
	err := c.db.WithContext(ctx).Raw(c.db.Render(
		"SELECT COALESCE(SUM({Count}), 0) FROM {RateLimitCounters} WHERE {Key} = ? AND {WindowStart} = ?"), key, start).Scan(&count).Error
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reading count of %s: %w", key, err)
	}

	return int(count), start.Add(window), nil
}

// upsertSQL adds one to a key's window row, creating it when missing, and
// returns the new count, in one statement so concurrent replicas cannot
// lose an update.
func (c *Counter) upsertSQL() string {
	if c.db.Dialect.Provider == database.SQLServer {
		return c.db.Render("MERGE {RateLimitCounters} WITH (HOLDLOCK) AS t USING (SELECT ? AS {Key}, ? AS {WindowStart}) AS s " +
			"ON t.{Key} = s.{Key} AND t.{WindowStart} = s.{WindowStart} " +
			"WHEN MATCHED THEN UPDATE SET {Count} = t.{Count} + 1 " +
			"WHEN NOT MATCHED THEN INSERT ({Key}, {WindowStart}, {Count}) VALUES (s.{Key}, s.{WindowStart}, 1) " +
			"OUTPUT inserted.{Count};")
	}

	// PostgreSQL and SQLite (3.35 and later) share this form.
	return c.db.Render("INSERT INTO {RateLimitCounters} ({Key}, {WindowStart}, {Count}) VALUES (?, ?, 1) " +
		"ON CONFLICT ({Key}, {WindowStart}) DO UPDATE SET {Count} = {RateLimitCounters}.{Count} + 1 RETURNING {Count}")
}
