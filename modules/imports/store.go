package imports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// ErrBatchNotFound is returned when no batch of the client has the id.
var ErrBatchNotFound = errors.New("batch not found")

// ErrLeaseLost is returned when a write finds another lease token on the
// batch: another worker took it over, and this one must stop.
var ErrLeaseLost = errors.New("batch lease lost")

// store holds the SQL of batches and items. Every write of a worker is
// conditional on the lease token it claimed the batch with.
type store struct {
	db  *database.DB
	now func() time.Time
	// hooks points at the module's finish hooks (see OnBatchFinished).
	hooks *[]FinishHook
}

func (s *store) utcNow() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *store) createBatch(ctx context.Context, b *Batch) error {
	if err := s.db.WithContext(ctx).Create(b).Error; err != nil {
		return fmt.Errorf("creating batch: %w", err)
	}

	return nil
}

func (s *store) batchForClient(ctx context.Context, id, clientID database.UUID) (Batch, error) {
	var b Batch
	err := s.db.WithContext(ctx).Where(s.db.Render("{Id} = ? AND {ClientId} = ?"), id, clientID).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Batch{}, ErrBatchNotFound
	}

	if err != nil {
		return Batch{}, fmt.Errorf("loading batch: %w", err)
	}

	return b, nil
}

func (s *store) batch(ctx context.Context, id database.UUID) (Batch, error) {
	var b Batch
	err := s.db.WithContext(ctx).Where(s.db.Render("{Id} = ?"), id).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Batch{}, ErrBatchNotFound
	}

	if err != nil {
		return Batch{}, fmt.Errorf("loading batch: %w", err)
	}

	return b, nil
}

// candidates returns batches ready to run, oldest first: Pending ones and
// Scheduled ones whose time has come, not paused until later. It takes at
// most perClient of each client, so a client with a long queue cannot
// push the other clients' batches out of the list that fair ordering
// chooses from.
func (s *store) candidates(ctx context.Context, limit, perClient int) ([]Batch, error) {
	now := s.utcNow()

	var out []Batch
	ready := s.db.WithContext(ctx).Model(&Batch{}).
		Select(s.db.Render("{Id}, ROW_NUMBER() OVER (PARTITION BY {ClientId} ORDER BY {CreatedAt}, {Id}) AS {Rank}")).
		Where(s.db.Render("({Status} = ? OR ({Status} = ? AND ({ScheduledFor} IS NULL OR {ScheduledFor} <= ?))) AND ({NextAttemptAt} IS NULL OR {NextAttemptAt} <= ?)"),
			StatusPending, StatusScheduled, now, now)
	err := s.db.WithContext(ctx).
		Where(s.db.Render("{Id} IN (?)"), s.db.WithContext(ctx).Table("(?) AS ranked", ready).
			Select(s.db.Render("{Id}")).Where(s.db.Render("{Rank} <= ?"), perClient)).
		Order(s.db.Render("{CreatedAt}")).Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("looking for batches to process: %w", err)
	}

	return out, nil
}

// claim moves a batch to Processing under a new lease token. It returns
// false when another worker claimed it first.
func (s *store) claim(ctx context.Context, b Batch, workerID string, chunkSize int) (int64, bool, error) {
	now := s.utcNow()
	token := b.LeaseToken + 1
	size := chunkSize
	if b.ChunkSize != nil && *b.ChunkSize > 0 {
		size = *b.ChunkSize
	}

	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {ImportBatches} SET {Status} = ?, {LeaseToken} = ?, {WorkerId} = ?, {HeartbeatAt} = ?, "+
			"{StartedAt} = COALESCE({StartedAt}, ?), {AttemptCount} = {AttemptCount} + 1, {ChunkSize} = ?, {NextAttemptAt} = NULL "+
			"WHERE {Id} = ? AND {LeaseToken} = ? AND {Status} IN (?, ?)"),
		StatusProcessing, token, workerID, now, now, size, b.ID, b.LeaseToken, StatusPending, StatusScheduled)
	if res.Error != nil {
		return 0, false, fmt.Errorf("claiming batch: %w", res.Error)
	}

	return token, res.RowsAffected == 1, nil
}

// guardedUpdate runs an UPDATE of the batch row conditional on the lease;
// zero rows means the lease is gone.
func guardedUpdate(tx *gorm.DB, d database.Dialect, id database.UUID, token int64, set string, args ...any) error {
	args = append(args, id, token, StatusProcessing)
	res := tx.Exec(d.Render("UPDATE {ImportBatches} SET "+set+" WHERE {Id} = ? AND {LeaseToken} = ? AND {Status} = ?"), args...)
	if res.Error != nil {
		return fmt.Errorf("updating batch: %w", res.Error)
	}

	if res.RowsAffected != 1 {
		return ErrLeaseLost
	}

	return nil
}

func (s *store) heartbeat(ctx context.Context, id database.UUID, token int64) error {
	return guardedUpdate(s.db.WithContext(ctx), s.db.Dialect, id, token, "{HeartbeatAt} = ?", s.utcNow())
}

// stageItems inserts records and advances StagedRecords in one transaction.
func (s *store) stageItems(ctx context.Context, id database.UUID, token int64, items []Item, stagedAfter int) error {
	insertBatch := 1000
	if s.db.Dialect.Provider == database.SQLServer {
		// SQL Server takes at most 2,100 parameters per statement.
		insertBatch = 300
	}

	// Records rejected at staging have their outcome already, so they
	// count as processed from now on.
	var failed, skipped int
	for _, it := range items {
		switch it.Status {
		case ItemError:
			failed++
		case ItemSkipped:
			skipped++
		}
	}

	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A retry after a commit whose acknowledgement was lost finds the
		// rows already there; the transaction stored all of them or none.
		existing, err := s.countItems(tx, id, items[0].Sequence, items[len(items)-1].Sequence, "")
		if err != nil {
			return err
		}

		if existing == int64(len(items)) {
			return guardedUpdate(tx, s.db.Dialect, id, token, "{StagedRecords} = ?, {HeartbeatAt} = ?", stagedAfter, s.utcNow())
		}

		err = guardedUpdate(tx, s.db.Dialect, id, token,
			"{StagedRecords} = ?, {HeartbeatAt} = ?, {ProcessedRecords} = {ProcessedRecords} + ?, {FailedRecords} = {FailedRecords} + ?, {SkippedRecords} = {SkippedRecords} + ?",
			stagedAfter, s.utcNow(), failed+skipped, failed, skipped)
		if err != nil {
			return err
		}

		if err := tx.CreateInBatches(items, insertBatch).Error; err != nil {
			return fmt.Errorf("staging records: %w", err)
		}

		return nil
	})
}

func (s *store) finishStaging(ctx context.Context, id database.UUID, token int64, total int) error {
	err := guardedUpdate(s.db.WithContext(ctx), s.db.Dialect, id, token,
		"{StagedRecords} = ?, {TotalRecords} = ?, {StagedAt} = ?", total, total, s.utcNow())
	if err != nil {
		return err
	}

	// PostgreSQL plans the per-chunk UPDATE from table statistics. On a
	// fresh database they predate the rows just staged until autovacuum
	// runs, and the plan made each chunk's UPDATE ten times slower in a
	// 200,000-record trial. Large batches refresh them at once.
	if s.db.Dialect.Provider == database.Postgres && total >= analyzeThreshold {
		if err := s.db.WithContext(ctx).Exec(s.db.Render("ANALYZE {ImportItems}")).Error; err != nil {
			return fmt.Errorf("refreshing ImportItems statistics: %w", err)
		}
	}

	return nil
}

// analyzeThreshold is the batch size from which staging refreshes the
// PostgreSQL statistics of ImportItems. Tests lower it.
var analyzeThreshold = 10_000

// firstPending returns the lowest sequence still Pending, or false when
// every record has an outcome.
func (s *store) firstPending(ctx context.Context, id database.UUID) (int, bool, error) {
	var first *int
	err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT MIN({Sequence}) FROM {ImportItems} WHERE {BatchId} = ? AND {Status} = ?"), id, ItemPending).Scan(&first).Error
	if err != nil {
		return 0, false, fmt.Errorf("finding the next pending record: %w", err)
	}

	if first == nil {
		return 0, false, nil
	}

	return *first, true, nil
}

// pendingItem is a record waiting for delivery.
type pendingItem struct {
	Sequence int
	Payload  []byte
}

// loadChunk returns the pending records of one chunk, in order. It scans
// rows by hand rather than through GORM, because this runs once per chunk
// and is the hottest read of the worker.
func (s *store) loadChunk(ctx context.Context, id database.UUID, index, chunkSize int) ([]pendingItem, error) {
	rows, err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT {Sequence}, {PayloadJson} FROM {ImportItems} WHERE {BatchId} = ? AND {Status} = ? AND {Sequence} >= ? AND {Sequence} < ? ORDER BY {Sequence}"),
		id, ItemPending, index*chunkSize, (index+1)*chunkSize).Rows()
	if err != nil {
		return nil, fmt.Errorf("loading chunk %d: %w", index+1, err)
	}
	defer rows.Close()

	items := make([]pendingItem, 0, chunkSize)
	for rows.Next() {
		var it pendingItem
		if err := rows.Scan(&it.Sequence, &it.Payload); err != nil {
			return nil, fmt.Errorf("loading chunk %d: %w", index+1, err)
		}

		items = append(items, it)
	}

	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading chunk %d: %w", index+1, err)
	}

	return items, nil
}

// itemOutcome is the result of one delivered record.
type itemOutcome struct {
	Sequence int
	Status   string
	LeadID   string
	Error    string
	// Mask, when set, replaces the stored payload (redaction).
	Mask string
}

// commitChunk stores every record's outcome and the batch counters in one
// transaction, conditional on the lease.
func (s *store) commitChunk(ctx context.Context, id database.UUID, token int64, outcomes []itemOutcome) error {
	d := s.db.Dialect
	failed := 0
	for _, o := range outcomes {
		if o.Status == ItemError {
			failed++
		}
	}

	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The counters grow by the chunk's size, so a retry after a commit
		// whose acknowledgement was lost must not apply them again: a chunk
		// with no pending record left was already committed.
		pending, err := s.countItems(tx, id, outcomes[0].Sequence, outcomes[len(outcomes)-1].Sequence, ItemPending)
		if err != nil {
			return err
		}

		if pending == 0 {
			// Already committed, by this worker or by the one that took the
			// batch over: only the lease decides whether this one goes on.
			return guardedUpdate(tx, d, id, token, "{HeartbeatAt} = ?", s.utcNow())
		}

		err = guardedUpdate(tx, d, id, token,
			"{ProcessedRecords} = {ProcessedRecords} + ?, {FailedRecords} = {FailedRecords} + ?, {HeartbeatAt} = ?",
			len(outcomes), failed, s.utcNow())
		if err != nil {
			return err
		}

		return updateOutcomes(tx, d, id, outcomes)
	})
}

// countItems counts a batch's items with a sequence in [first, last], only
// those with status when it is not empty.
func (s *store) countItems(tx *gorm.DB, id database.UUID, first, last int, status string) (int64, error) {
	sql := "SELECT COUNT(*) FROM {ImportItems} WHERE {BatchId} = ? AND {Sequence} >= ? AND {Sequence} <= ?"
	args := []any{id, first, last}
	if status != "" {
		sql += " AND {Status} = ?"
		args = append(args, status)
	}

	var n int64
	if err := tx.Raw(s.db.Render(sql), args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("counting records: %w", err)
	}

	return n, nil
}

// updateOutcomes writes item outcomes: runs of imported records without a
// lead id as one range UPDATE each, the rest with one UPDATE per group of
// rows, so a chunk costs a few statements, not one round trip per record.
func updateOutcomes(tx *gorm.DB, d database.Dialect, id database.UUID, outcomes []itemOutcome) error {
	rangeSQL := d.Render("UPDATE {ImportItems} SET {Status} = ? WHERE {BatchId} = ? AND {Sequence} >= ? AND {Sequence} <= ?")

	var individual []itemOutcome
	for i := 0; i < len(outcomes); {
		o := outcomes[i]
		if o.Status != ItemImported || o.LeadID != "" {
			individual = append(individual, o)
			i++

			continue
		}

		j := i
		for j+1 < len(outcomes) && outcomes[j+1].Status == ItemImported && outcomes[j+1].LeadID == "" &&
			outcomes[j+1].Sequence == outcomes[j].Sequence+1 {
			j++
		}

		if err := tx.Exec(rangeSQL, ItemImported, id, o.Sequence, outcomes[j].Sequence).Error; err != nil {
			return fmt.Errorf("storing record outcomes: %w", err)
		}

		i = j + 1
	}

	columns := []string{"Status", "LeadId", "ErrorMessage"}
	types := []database.ColumnType{database.TypeInt, database.TypeString, database.TypeString, database.TypeText}
	maxRows := d.BulkUpdateMaxRows(len(types))
	for start := 0; start < len(individual); start += maxRows {
		group := individual[start:min(start+maxRows, len(individual))]
		args := make([]any, 0, len(group)*len(types)+1)
		for _, o := range group {
			args = append(args, o.Sequence, o.Status, nullable(o.LeadID), nullable(truncate(o.Error, 2000)))
		}

		args = append(args, id)
		sql := d.BulkUpdate("ImportItems", "BatchId", "Sequence", columns, types, len(group))
		if err := tx.Exec(sql, args...).Error; err != nil {
			return fmt.Errorf("storing record outcomes: %w", err)
		}
	}

	return maskPayloads(tx, d, id, outcomes)
}

// maskPayloads replaces the payloads of the outcomes that carry a mask, in
// the transaction of the chunk's outcomes, so a payload is never kept past
// the commit that redacts it.
func maskPayloads(tx *gorm.DB, d database.Dialect, id database.UUID, outcomes []itemOutcome) error {
	var masked []itemOutcome
	for _, o := range outcomes {
		if o.Mask != "" {
			masked = append(masked, o)
		}
	}

	types := []database.ColumnType{database.TypeInt, database.TypeText}
	maxRows := d.BulkUpdateMaxRows(len(types))
	for start := 0; start < len(masked); start += maxRows {
		group := masked[start:min(start+maxRows, len(masked))]
		args := make([]any, 0, len(group)*2+1)
		for _, o := range group {
			args = append(args, o.Sequence, o.Mask)
		}

		args = append(args, id)
		sql := d.BulkUpdate("ImportItems", "BatchId", "Sequence", []string{"PayloadJson"}, types, len(group))
		if err := tx.Exec(sql, args...).Error; err != nil {
			return fmt.Errorf("redacting payloads: %w", err)
		}
	}

	return nil
}

// finish sets the final status. The lease check makes sure only the holder
// ends the batch.
func (s *store) finish(ctx context.Context, id database.UUID, token int64, status, summary string) error {
	err := s.finalTx(s.db.WithContext(ctx), id, func(tx *gorm.DB) error {
		return guardedUpdate(tx, s.db.Dialect, id, token,
			"{Status} = ?, {CompletedAt} = ?, {ErrorSummary} = ?, {WorkerId} = NULL",
			status, s.utcNow(), nullable(truncate(summary, 4000)))
	})
	if !errors.Is(err, ErrLeaseLost) {
		return err
	}

	// A retry after a commit whose acknowledgement was lost: the batch
	// already carries this status under this lease.
	var n int64
	if cerr := s.db.WithContext(ctx).Raw(s.db.Render("SELECT COUNT(*) FROM {ImportBatches} WHERE {Id} = ? AND {LeaseToken} = ? AND {Status} = ?"),
		id, token, status).Scan(&n).Error; cerr == nil && n == 1 {
		return nil
	}

	return err
}

// failStaging ends a batch whose file cannot be read: it removes what was
// staged so nothing of it is delivered, and sets Failed.
func (s *store) failStaging(ctx context.Context, id database.UUID, token int64, summary string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := guardedUpdate(tx, s.db.Dialect, id, token,
			"{Status} = ?, {CompletedAt} = ?, {ErrorSummary} = ?, {WorkerId} = NULL, {StagedRecords} = 0, {TotalRecords} = 0, "+
				"{ProcessedRecords} = 0, {FailedRecords} = 0, {SkippedRecords} = 0",
			StatusFailed, s.utcNow(), truncate(summary, 4000))
		if err != nil {
			return err
		}

		if err := tx.Exec(s.db.Render("DELETE FROM {ImportItems} WHERE {BatchId} = ?"), id).Error; err != nil {
			return err
		}

		return s.finalTx(tx, id, func(*gorm.DB) error { return nil })
	})
}

// releaseKind is the reason a batch goes back to Pending.
type releaseKind int

const (
	// releaseStop is a requested stop: the attempt is given back.
	releaseStop releaseKind = iota
	// releasePause is an OmniFlow outage: the attempt is given back and
	// PauseCount grows.
	releasePause
	// releaseFailure is a database or file error: the attempt counts.
	releaseFailure
)

// release puts a batch back to Pending for a claim no earlier than
// notBefore (nil: at once).
func (s *store) release(ctx context.Context, id database.UUID, token int64, kind releaseKind, notBefore *time.Time) error {
	set := "{Status} = ?, {WorkerId} = NULL, {LeaseToken} = {LeaseToken} + 1, {NextAttemptAt} = ?"
	if kind != releaseFailure {
		set += ", {AttemptCount} = {AttemptCount} - 1"
	}

	if kind == releasePause {
		set += ", {PauseCount} = {PauseCount} + 1"
	}

	return guardedUpdate(s.db.WithContext(ctx), s.db.Dialect, id, token, set, StatusPending, notBefore)
}

// recoverStale puts back every Processing batch whose heartbeat is older
// than cutoff. The token bump fences off the worker that lost it.
func (s *store) recoverStale(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {ImportBatches} SET {Status} = ?, {WorkerId} = NULL, {LeaseToken} = {LeaseToken} + 1 "+
			"WHERE {Status} = ? AND ({HeartbeatAt} < ? OR ({HeartbeatAt} IS NULL AND ({StartedAt} IS NULL OR {StartedAt} < ?)))"),
		StatusPending, StatusProcessing, cutoff, cutoff)
	if res.Error != nil {
		return 0, fmt.Errorf("recovering stale batches: %w", res.Error)
	}

	return res.RowsAffected, nil
}

// failExhausted ends a batch that used up its attempts.
func (s *store) failExhausted(ctx context.Context, b Batch, token int64, maxAttempts int) error {
	summary := fmt.Sprintf("the batch was claimed %d times without finishing (ImportBatch:MaxBatchAttempts=%d); %d of %d records were processed",
		b.AttemptCount, maxAttempts, b.ProcessedRecords, b.TotalRecords)

	return s.finish(ctx, b.ID, token, StatusFailed, summary)
}

func (s *store) firstError(ctx context.Context, id database.UUID) (int, string, error) {
	var row struct {
		Sequence     int
		ErrorMessage *string
	}

	err := s.db.WithContext(ctx).Model(&Item{}).Select(s.db.Render("{Sequence}, {ErrorMessage}")).
		Where(s.db.Render("{BatchId} = ? AND {Status} = ?"), id, ItemError).Order(s.db.Render("{Sequence}")).Limit(1).Scan(&row).Error
	if err != nil {
		return 0, "", fmt.Errorf("loading the first failed record: %w", err)
	}

	if row.ErrorMessage == nil {
		return row.Sequence, "", nil
	}

	return row.Sequence, *row.ErrorMessage, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}

	return &s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}

	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}

	return s[:n]
}
