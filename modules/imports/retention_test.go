package imports

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/clock"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

const day = 24 * time.Hour

// retentionBundle is a database with two clients, an upload folder and a
// retention job on a manual clock.
type retentionBundle struct {
	db        *database.DB
	store     *store
	storage   *storage.Store
	clock     *clock.Manual
	purger    *Purger
	retention *Retention
	clientA   database.UUID
	clientB   database.UUID
}

func setupRetention(t *testing.T, open func(testing.TB) *database.DB, cfg RetentionConfig) *retentionBundle {
	t.Helper()

	conn := open(t)
	var all []database.Migration
	all = append(all, clients.Migrations()...)
	all = append(all, Migrations()...)
	dbtest.Migrate(t, conn, all)

	// The folder tests compare the clock with real file times, so the
	// clock starts at the real time and only moves when a test moves it.
	clk := clock.NewManual(time.Now().UTC().Truncate(time.Second))
	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	b := &retentionBundle{db: conn, store: &store{db: conn, now: clk.Now}, storage: files, clock: clk}
	b.clientA = b.addClient(t, "client-a")
	b.clientB = b.addClient(t, "client-b")
	b.purger = NewPurger(conn, files, zerolog.New(zerolog.NewTestWriter(t)), clk.Now)
	b.retention = NewRetention(cfg, b.purger)

	return b
}

func (b *retentionBundle) addClient(t *testing.T, identifier string) database.UUID {
	t.Helper()

	c := clients.Client{ID: database.NewUUID(), Name: identifier, ClientIdentifier: identifier, SecretHash: []byte{1}, SecretSalt: []byte{1},
		Status: clients.StatusActive, CreatedAt: b.clock.Now()}
	require.NoError(t, b.db.Create(&c).Error)

	return c.ID
}

// addPolicy adds a ClientPolicies row; a nil client makes the global row.
func (b *retentionBundle) addPolicy(t *testing.T, client *database.UUID, days *int, createdAt time.Time) {
	t.Helper()

	p := clients.Policy{ID: database.NewUUID(), ClientID: client, RetentionDays: days, CreatedAt: createdAt.UTC()}
	require.NoError(t, b.db.Create(&p).Error)
}

// batchSpec describes a batch to create.
type batchSpec struct {
	client database.UUID
	status string
	// endedAgo sets CompletedAt for final statuses, and CreatedAt for all.
	endedAgo time.Duration
	items    int
	folder   bool
	parent   *database.UUID
}

// addBatch creates a batch with its items and, when asked, an upload
// folder with one file.
func (b *retentionBundle) addBatch(t *testing.T, spec batchSpec) Batch {
	t.Helper()

	ctx := context.Background()
	now := b.clock.Now().UTC()
	id := database.NewUUID()
	batch := Batch{ID: id, ClientID: spec.client, Status: spec.status, FileType: FileTypeNDJSON, FileName: "leads.ndjson",
		PolicyDecision: DecisionImmediate, CreatedAt: now.Add(-spec.endedAgo - time.Hour), ParentBatchID: spec.parent}
	if spec.status != StatusPending && spec.status != StatusScheduled && spec.status != StatusProcessing {
		ended := now.Add(-spec.endedAgo)
		batch.CompletedAt = &ended
	}

	if spec.folder {
		saved, err := b.storage.Save(id.String(), "leads.ndjson", bytesReader([]byte(`{"phoneNumber":"1"}`+"\n")), 0)
		require.NoError(t, err)
		batch.UploadPath = saved.Path
	}

	require.NoError(t, b.store.createBatch(ctx, &batch))

	items := make([]Item, spec.items)
	for i := range items {
		items[i] = Item{BatchID: id, Sequence: i, PayloadJSON: `{"masked":true}`, Status: ItemImported, CreatedAt: now}
	}

	if len(items) > 0 {
		require.NoError(t, b.db.CreateInBatches(items, 500).Error)
	}

	return batch
}

// exists reports whether the batch row is still there.
func (b *retentionBundle) exists(t *testing.T, id database.UUID) bool {
	t.Helper()

	_, err := b.store.batch(context.Background(), id)
	if errors.Is(err, ErrBatchNotFound) {
		return false
	}

	require.NoError(t, err)

	return true
}

func (b *retentionBundle) itemCount(t *testing.T, id database.UUID) int64 {
	t.Helper()

	n, err := b.store.countBatchItems(context.Background(), id)
	require.NoError(t, err)

	return n
}

func (b *retentionBundle) folderExists(id database.UUID) bool {
	_, err := os.Stat(b.storage.BatchDir(id.String()))

	return err == nil
}

// makeFolder creates a batch folder with one file, both last changed at
// changedAt.
func (b *retentionBundle) makeFolder(t *testing.T, name string, changedAt time.Time) string {
	t.Helper()

	dir := filepath.Join(b.storage.Base(), name)
	require.NoError(t, os.MkdirAll(dir, 0o750))
	file := filepath.Join(dir, "leads.csv")
	require.NoError(t, os.WriteFile(file, []byte("phoneNumber\n1\n"), 0o600))
	require.NoError(t, os.Chtimes(file, changedAt, changedAt))
	require.NoError(t, os.Chtimes(dir, changedAt, changedAt))

	return dir
}

func days(n int) *int { return &n }

func TestRetention(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Run("deletes only finished batches past the retention", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				completed := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 31 * day, items: 12, folder: true})
				failed := b.addBatch(t, batchSpec{client: b.clientA, status: StatusFailed, endedAgo: 40 * day, items: 3})
				cancelled := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCancelled, endedAgo: 31 * day})
				withErrors := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompletedWithErrors, endedAgo: 29 * day, items: 5, folder: true})
				processing := b.addBatch(t, batchSpec{client: b.clientA, status: StatusProcessing, endedAgo: 90 * day, items: 4, folder: true})
				pending := b.addBatch(t, batchSpec{client: b.clientB, status: StatusPending, endedAgo: 90 * day, folder: true})
				before := testutil.ToFloat64(metrics.RetentionBatchesDeleted.WithLabelValues(triggerRetention))

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.Equal(t, 3, report.DeletedBatches)
				assert.Equal(t, int64(15), report.DeletedItems)
				assert.Equal(t, 1, report.DeletedFolders)
				assert.Equal(t, 1, report.FinishedFolders, "the folder of the recent CompletedWithErrors batch is not needed")
				assert.Equal(t, 0, report.OrphanFolders)
				assert.InDelta(t, before+3, testutil.ToFloat64(metrics.RetentionBatchesDeleted.WithLabelValues(triggerRetention)), 0)
				for _, gone := range []Batch{completed, failed, cancelled} {
					assert.False(t, b.exists(t, gone.ID), "batch %s (%s)", gone.ID, gone.Status)
					assert.Zero(t, b.itemCount(t, gone.ID), "items of batch %s", gone.ID)
				}

				assert.False(t, b.folderExists(completed.ID))
				for _, kept := range []Batch{withErrors, processing, pending} {
					assert.True(t, b.exists(t, kept.ID), "batch %s (%s)", kept.ID, kept.Status)
				}

				assert.Equal(t, int64(5), b.itemCount(t, withErrors.ID))
				assert.Equal(t, int64(4), b.itemCount(t, processing.ID))
				assert.False(t, b.folderExists(withErrors.ID))
				assert.True(t, b.folderExists(processing.ID), "a Processing batch keeps its file")
				assert.True(t, b.folderExists(pending.ID), "a Pending batch keeps its file")
			})

			t.Run("client and global RetentionDays override the setting", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				clientC := b.addClient(t, "client-c")
				clientD := b.addClient(t, "client-d")
				start := b.clock.Now()
				b.addPolicy(t, nil, days(10), start)
				b.addPolicy(t, &b.clientA, days(60), start)
				// Client C has its own row without RetentionDays, so the
				// global row decides.
				b.addPolicy(t, &clientC, nil, start)
				// Client D's oldest row decides; the newer one is ignored.
				b.addPolicy(t, &clientD, days(5), start)
				b.addPolicy(t, &clientD, days(90), start.Add(time.Minute))

				keptA := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 45 * day})
				goneA := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 61 * day})
				keptB := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 9 * day})
				goneB := b.addBatch(t, batchSpec{client: b.clientB, status: StatusFailed, endedAgo: 11 * day})
				keptC := b.addBatch(t, batchSpec{client: clientC, status: StatusCompleted, endedAgo: 9 * day})
				goneC := b.addBatch(t, batchSpec{client: clientC, status: StatusCompleted, endedAgo: 11 * day})
				keptD := b.addBatch(t, batchSpec{client: clientD, status: StatusCompleted, endedAgo: 4 * day})
				goneD := b.addBatch(t, batchSpec{client: clientD, status: StatusCompleted, endedAgo: 6 * day})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.Equal(t, 4, report.DeletedBatches)
				for _, gone := range []Batch{goneA, goneB, goneC, goneD} {
					assert.False(t, b.exists(t, gone.ID), "batch of client %s that ended %s ago", gone.ClientID, b.clock.Now().Sub(*gone.CompletedAt))
				}

				for _, kept := range []Batch{keptA, keptB, keptC, keptD} {
					assert.True(t, b.exists(t, kept.ID), "batch of client %s that ended %s ago", kept.ClientID, b.clock.Now().Sub(*kept.CompletedAt))
				}
			})

			t.Run("RetentionDays below 1 keeps the batches", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				b.addPolicy(t, &b.clientA, days(0), b.clock.Now())
				keptA := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 400 * day})
				goneB := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 400 * day})

				_, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.True(t, b.exists(t, keptA.ID))
				assert.False(t, b.exists(t, goneB.ID))
			})

			t.Run("deletes at most MaxBatchesPerRun, oldest first", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30, MaxBatchesPerRun: 2})
				b.addPolicy(t, &b.clientB, days(20), b.clock.Now())
				third := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 33 * day})
				first := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 50 * day})
				fourth := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 21 * day})
				second := b.addBatch(t, batchSpec{client: b.clientA, status: StatusFailed, endedAgo: 40 * day})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 2, report.DeletedBatches)
				assert.False(t, b.exists(t, first.ID))
				assert.False(t, b.exists(t, second.ID))
				assert.True(t, b.exists(t, third.ID))
				assert.True(t, b.exists(t, fourth.ID))

				report, err = b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 2, report.DeletedBatches)
				assert.False(t, b.exists(t, third.ID))
				assert.False(t, b.exists(t, fourth.ID))
			})

			t.Run("deletes batches that become old as the clock moves", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 29 * day, items: 2})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Zero(t, report.DeletedBatches)
				assert.True(t, b.exists(t, batch.ID))

				b.clock.Advance(day + time.Minute)
				report, err = b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 1, report.DeletedBatches)
				assert.False(t, b.exists(t, batch.ID))
			})

			t.Run("finishes a batch after a crash part way", func(t *testing.T) {
				piece := itemDeletePiece
				itemDeletePiece = 3
				t.Cleanup(func() { itemDeletePiece = piece })

				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 31 * day, items: 10, folder: true})

				// The run stops after the first piece of items, as a
				// process killed at that point would.
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				b.purger.afterPiece = func(database.UUID) { cancel() }

				report, err := b.retention.RunOnce(ctx)
				require.ErrorIs(t, err, context.Canceled)
				assert.Zero(t, report.DeletedBatches)
				assert.Equal(t, int64(3), report.DeletedItems)
				assert.False(t, b.folderExists(batch.ID), "the folder goes first")
				assert.Equal(t, int64(7), b.itemCount(t, batch.ID))
				assert.True(t, b.exists(t, batch.ID), "the row goes last")

				b.purger.afterPiece = nil
				report, err = b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 1, report.DeletedBatches)
				assert.Equal(t, int64(7), report.DeletedItems)
				assert.Zero(t, report.DeletedFolders, "the folder was gone already")
				assert.False(t, b.exists(t, batch.ID))
				assert.Zero(t, b.itemCount(t, batch.ID))
			})

			t.Run("keeps a retry batch readable after its parent is deleted", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				parent := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompletedWithErrors, endedAgo: 31 * day, items: 3})
				child := b.addBatch(t, batchSpec{client: b.clientA, status: StatusPending, items: 1, folder: true, parent: &parent.ID})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 1, report.DeletedBatches)
				assert.False(t, b.exists(t, parent.ID))

				loaded, err := b.store.batch(context.Background(), child.ID)
				require.NoError(t, err)
				require.NotNil(t, loaded.ParentBatchID)
				assert.Equal(t, parent.ID, *loaded.ParentBatchID)
				assert.Equal(t, int64(1), b.itemCount(t, child.ID))
				assert.True(t, b.folderExists(child.ID))
			})

			t.Run("removes old orphan folders and keeps fresh ones", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				now := b.clock.Now()
				oldOrphan := database.NewUUID()
				freshOrphan := database.NewUUID()
				busyOrphan := database.NewUUID()
				b.makeFolder(t, oldOrphan.String(), now.Add(-2*time.Hour))
				b.makeFolder(t, freshOrphan.String(), now.Add(-10*time.Minute))
				// An upload in progress: the folder is old but its file is
				// still being written.
				busy := b.makeFolder(t, busyOrphan.String(), now.Add(-3*time.Hour))
				temp := filepath.Join(busy, ".upload-123")
				require.NoError(t, os.WriteFile(temp, []byte("phone"), 0o600))
				require.NoError(t, os.Chtimes(temp, now.Add(-time.Minute), now.Add(-time.Minute)))
				other := b.makeFolder(t, "not-a-batch", now.Add(-48*time.Hour))
				upper := b.makeFolder(t, "ABCDEF00-0000-4000-8000-000000000000", now.Add(-48*time.Hour))
				pending := b.addBatch(t, batchSpec{client: b.clientA, status: StatusPending, folder: true})
				require.NoError(t, os.Chtimes(b.storage.BatchDir(pending.ID.String()), now.Add(-48*time.Hour), now.Add(-48*time.Hour)))

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.Equal(t, 1, report.OrphanFolders)
				assert.False(t, b.folderExists(oldOrphan))
				assert.True(t, b.folderExists(freshOrphan), "an orphan younger than OrphanAge may be an upload whose row is not written yet")
				assert.True(t, b.folderExists(busyOrphan), "a folder whose file changed recently is kept")
				assert.DirExists(t, other)
				assert.DirExists(t, upper)
				assert.True(t, b.folderExists(pending.ID))

				b.clock.Advance(time.Hour)
				report, err = b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 1, report.OrphanFolders)
				assert.False(t, b.folderExists(freshOrphan))
				assert.True(t, b.folderExists(busyOrphan))
			})
		})
	}
}

func TestPurger(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Run("deletes requested finished batches and reports the rest", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{})
				recent := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: time.Hour, items: 4, folder: true})
				failed := b.addBatch(t, batchSpec{client: b.clientB, status: StatusFailed, endedAgo: day, items: 2})
				running := b.addBatch(t, batchSpec{client: b.clientA, status: StatusProcessing, items: 3, folder: true})
				missing := database.NewUUID()
				before := testutil.ToFloat64(metrics.RetentionBatchesDeleted.WithLabelValues(triggerPurge))

				result, err := b.purger.Purge(context.Background(), PurgeRequest{
					BatchIDs: []database.UUID{recent.ID, running.ID, missing, failed.ID, recent.ID},
				})
				require.NoError(t, err)

				assert.Equal(t, 2, result.DeletedBatches)
				assert.Equal(t, int64(6), result.DeletedItems)
				assert.Equal(t, 1, result.DeletedFolders)
				assert.Equal(t, []PurgeSkip{
					{BatchID: running.ID.String(), Reason: SkipNotFinished, Status: StatusProcessing},
					{BatchID: missing.String(), Reason: SkipNotFound},
				}, result.Skipped)
				assert.InDelta(t, before+2, testutil.ToFloat64(metrics.RetentionBatchesDeleted.WithLabelValues(triggerPurge)), 0)
				assert.False(t, b.exists(t, recent.ID))
				assert.False(t, b.folderExists(recent.ID))
				assert.False(t, b.exists(t, failed.ID))
				assert.True(t, b.exists(t, running.ID))
				assert.Equal(t, int64(3), b.itemCount(t, running.ID))
				assert.True(t, b.folderExists(running.ID))
			})

			t.Run("by age ignores client policies and stops at the maximum", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{})
				b.addPolicy(t, &b.clientA, days(365), b.clock.Now())
				oldest := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 20 * day})
				older := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCancelled, endedAgo: 15 * day})
				old := b.addBatch(t, batchSpec{client: b.clientA, status: StatusFailed, endedAgo: 11 * day})
				young := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 9 * day})
				running := b.addBatch(t, batchSpec{client: b.clientB, status: StatusProcessing, endedAgo: 30 * day})

				result, err := b.purger.Purge(context.Background(), PurgeRequest{OlderThanDays: days(10), MaxBatches: 2})
				require.NoError(t, err)
				assert.Equal(t, 2, result.DeletedBatches)
				assert.Empty(t, result.Skipped)
				assert.False(t, b.exists(t, oldest.ID))
				assert.False(t, b.exists(t, older.ID))
				assert.True(t, b.exists(t, old.ID))

				result, err = b.purger.Purge(context.Background(), PurgeRequest{OlderThanDays: days(10)})
				require.NoError(t, err)
				assert.Equal(t, 1, result.DeletedBatches)
				assert.False(t, b.exists(t, old.ID))
				assert.True(t, b.exists(t, young.ID))
				assert.True(t, b.exists(t, running.ID))
			})

			t.Run("plan changes nothing", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{})
				batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 2 * day, items: 7, folder: true})
				running := b.addBatch(t, batchSpec{client: b.clientA, status: StatusScheduled})

				plan, err := b.purger.Plan(context.Background(), PurgeRequest{BatchIDs: []database.UUID{batch.ID, running.ID}})
				require.NoError(t, err)

				require.Len(t, plan.Batches, 1)
				assert.Equal(t, batch.ID.String(), plan.Batches[0].BatchID)
				assert.Equal(t, b.clientA.String(), plan.Batches[0].ClientID)
				assert.Equal(t, int64(7), plan.Batches[0].Items)
				assert.True(t, plan.Batches[0].FolderExists)
				assert.True(t, plan.Batches[0].EndedAt.Equal(*batch.CompletedAt), "ended at %s", plan.Batches[0].EndedAt)
				assert.Equal(t, []PurgeSkip{{BatchID: running.ID.String(), Reason: SkipNotFinished, Status: StatusScheduled}}, plan.Skipped)
				assert.True(t, b.exists(t, batch.ID))
				assert.Equal(t, int64(7), b.itemCount(t, batch.ID))
				assert.True(t, b.folderExists(batch.ID))
			})

			t.Run("rejects an invalid request", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{})
				for _, req := range []PurgeRequest{
					{},
					{BatchIDs: []database.UUID{database.NewUUID()}, OlderThanDays: days(1)},
					{OlderThanDays: days(-1)},
					{OlderThanDays: days(1), MaxBatches: MaxPurgeBatches + 1},
				} {
					_, err := b.purger.Purge(context.Background(), req)
					assert.Error(t, err, "request %+v", req)
				}
			})
		})
	}
}
