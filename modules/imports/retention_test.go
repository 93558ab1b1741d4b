package imports

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	// logs contains what the purger and the retention job logged.
	logs *logBuffer
}

// logBuffer is a log destination that goroutines share.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	return l.buf.Write(p)
}

// lineWith returns the first logged line that contains every part, or "".
func (l *logBuffer) lineWith(parts ...string) string {
	l.mu.Lock()
	defer l.mu.Unlock()

	for _, line := range strings.Split(l.buf.String(), "\n") {
		matched := true
		for _, part := range parts {
			matched = matched && strings.Contains(line, part)
		}

		if matched {
			return line
		}
	}

	return ""
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

	b := &retentionBundle{db: conn, store: &store{db: conn, now: clk.Now}, storage: files, clock: clk, logs: &logBuffer{}}
	b.clientA = b.addClient(t, "client-a")
	b.clientB = b.addClient(t, "client-b")
	b.purger = NewPurger(conn, files, zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t), b.logs)), clk.Now)
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

// addPolicy adds a ClientPolicies row and returns its id; a nil client
// makes the global row.
func (b *retentionBundle) addPolicy(t *testing.T, client *database.UUID, days *int, createdAt time.Time) database.UUID {
	t.Helper()

	p := clients.Policy{ID: database.NewUUID(), ClientID: client, RetentionDays: days, CreatedAt: createdAt.UTC()}
	require.NoError(t, b.db.Create(&p).Error)

	return p.ID
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
	// uploadPath, when set, is the UploadPath of the row instead of the
	// file in the folder.
	uploadPath string
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

	if spec.uploadPath != "" {
		batch.UploadPath = spec.uploadPath
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

			t.Run("logs name the client of each batch and folder", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				expired := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 31 * day, items: 2})
				finished := b.addBatch(t, batchSpec{client: b.clientB, status: StatusFailed, endedAgo: day, folder: true})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				require.Equal(t, 1, report.DeletedBatches)
				require.Equal(t, 1, report.FinishedFolders)

				assert.NotEmpty(t, b.logs.lineWith("retention: deleted batch", `"batch_id":"`+expired.ID.String()+`"`,
					`"client_id":"`+b.clientA.String()+`"`, `"client_identifier":"client-a"`))
				assert.NotEmpty(t, b.logs.lineWith("retention: removed the folder of a finished batch", `"batch_id":"`+finished.ID.String()+`"`,
					`"client_id":"`+b.clientB.String()+`"`, `"client_identifier":"client-b"`))
			})

			t.Run("keeps an upload file outside the storage folder", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				outside := filepath.Join(t.TempDir(), "leads.csv")
				require.NoError(t, os.WriteFile(outside, []byte("phoneNumber\n1\n"), 0o600))
				batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 31 * day, uploadPath: outside})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.Equal(t, 1, report.DeletedBatches)
				assert.Equal(t, 1, report.KeptFiles)
				assert.False(t, b.exists(t, batch.ID))
				assert.FileExists(t, outside)
				assert.NotEmpty(t, b.logs.lineWith(`"level":"warn"`, "retention: the batch's upload file is outside its batch folder",
					`"batch_id":"`+batch.ID.String()+`"`, `"client_id":"`+b.clientA.String()+`"`))
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

			t.Run("RetentionDays below 1 keeps the batches and fails the run", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				policyID := b.addPolicy(t, &b.clientA, days(0), b.clock.Now())
				keptA := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 400 * day})
				goneB := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 400 * day})
				failedRuns := testutil.ToFloat64(metrics.RetentionRuns.WithLabelValues("error"))

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				b.retention.logRun(report, err)

				assert.True(t, b.exists(t, keptA.ID))
				assert.False(t, b.exists(t, goneB.ID), "the other client's batches are deleted in the same run")
				assert.Equal(t, 1, report.DeletedBatches)
				assert.Equal(t, 1, report.InvalidPolicies)
				assert.InDelta(t, failedRuns+1, testutil.ToFloat64(metrics.RetentionRuns.WithLabelValues("error")), 0)
				assert.NotEmpty(t, b.logs.lineWith(`"level":"error"`, "RetentionDays below 1", `"policy_id":"`+policyID.String()+`"`,
					`"client_identifier":"client-a"`, `"client_id":"`+b.clientA.String()+`"`), "no error line names the row and the client")
				assert.NotEmpty(t, b.logs.lineWith(`"level":"error"`, "retention: run finished", `"invalid_policies":1`))
			})

			t.Run("global RetentionDays below 1 keeps the default clients' batches", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30})
				policyID := b.addPolicy(t, nil, days(-3), b.clock.Now())
				b.addPolicy(t, &b.clientB, days(10), b.clock.Now())
				keptA := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 400 * day})
				goneB := b.addBatch(t, batchSpec{client: b.clientB, status: StatusCompleted, endedAgo: 11 * day})

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)

				assert.True(t, b.exists(t, keptA.ID))
				assert.False(t, b.exists(t, goneB.ID))
				assert.Equal(t, 1, report.InvalidPolicies)
				assert.NotEmpty(t, b.logs.lineWith(`"level":"error"`, "global ClientPolicies row", `"policy_id":"`+policyID.String()+`"`))
			})

			t.Run("a run that changed nothing counts as ok", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{DefaultDays: 30, Interval: 90 * time.Minute})
				okRuns := testutil.ToFloat64(metrics.RetentionRuns.WithLabelValues("ok"))

				report, err := b.retention.RunOnce(context.Background())
				require.NoError(t, err)
				b.retention.logRun(report, err)

				assert.Equal(t, RetentionReport{}, report)
				assert.InDelta(t, okRuns+1, testutil.ToFloat64(metrics.RetentionRuns.WithLabelValues("ok")), 0)
				assert.NotEmpty(t, b.logs.lineWith("retention: run finished", `"next_run_in":"1h30m0s"`))
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
				b.purger.afterPiece = func(database.UUID, int64) { cancel() }

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

			t.Run("keeps upload files outside the batch folder", func(t *testing.T) {
				b := setupRetention(t, engine.Open, RetentionConfig{})
				writeFile := func(path string) string {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
					require.NoError(t, os.WriteFile(path, []byte("phoneNumber\n1\n"), 0o600))

					return path
				}

				outsideDir := t.TempDir()
				elsewhere := writeFile(filepath.Join(outsideDir, "elsewhere.csv"))
				// The storage folder is {temp}/uploads, so this path climbs out
				// of it.
				dotted := filepath.Join(b.storage.Base(), database.NewUUID().String(), "..", "..", "dotted.csv")
				writeFile(filepath.Clean(dotted))
				// A folder inside the storage folder that links outside it.
				linkedDir := t.TempDir()
				linkedFile := writeFile(filepath.Join(linkedDir, "linked.csv"))
				require.NoError(t, os.Symlink(linkedDir, filepath.Join(b.storage.Base(), "linked")))
				throughLink := filepath.Join(b.storage.Base(), "linked", "linked.csv")
				// A file under the storage folder but outside the batch's own
				// folder, as an older layout or a hand-written row leaves it.
				inside := writeFile(filepath.Join(b.storage.Base(), "old-layout", "inside.csv"))
				missing := filepath.Join(outsideDir, "missing.csv")

				spec := func(path string) batchSpec {
					return batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: day, uploadPath: path}
				}
				batchElsewhere := b.addBatch(t, spec(elsewhere))
				batchDotted := b.addBatch(t, spec(dotted))
				batchLinked := b.addBatch(t, spec(throughLink))
				batchInside := b.addBatch(t, spec(inside))
				batchMissing := b.addBatch(t, spec(missing))
				req := PurgeRequest{BatchIDs: []database.UUID{batchElsewhere.ID, batchDotted.ID, batchLinked.ID, batchInside.ID, batchMissing.ID}}
				wantKept := []KeptFile{
					{BatchID: batchElsewhere.ID.String(), Path: elsewhere},
					{BatchID: batchDotted.ID.String(), Path: dotted},
					{BatchID: batchLinked.ID.String(), Path: throughLink},
					{BatchID: batchInside.ID.String(), Path: inside},
				}

				plan, err := b.purger.Plan(context.Background(), req)
				require.NoError(t, err)
				assert.Equal(t, wantKept, plan.KeptFiles)

				result, err := b.purger.Purge(context.Background(), req)
				require.NoError(t, err)

				assert.Equal(t, 5, result.DeletedBatches)
				assert.Equal(t, wantKept, result.KeptFiles)
				assert.FileExists(t, elsewhere)
				assert.FileExists(t, filepath.Clean(dotted))
				assert.FileExists(t, linkedFile)
				assert.FileExists(t, inside, "a file of another folder may belong to another batch")
				assert.NotEmpty(t, b.logs.lineWith(`"level":"warn"`, "purge: the batch's upload file is outside its batch folder",
					`"batch_id":"`+batchLinked.ID.String()+`"`, `"client_identifier":"client-a"`))
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
				assert.Equal(t, "client-a", plan.Batches[0].ClientIdentifier)
				assert.Empty(t, plan.KeptFiles)
				assert.Equal(t, int64(7), plan.Batches[0].Items)
				assert.True(t, plan.Batches[0].FolderExists)
				assert.True(t, plan.Batches[0].EndedAt.Equal(*batch.CompletedAt), "ended at %s", plan.Batches[0].EndedAt)
				assert.Equal(t, []PurgeSkip{{BatchID: running.ID.String(), Reason: SkipNotFinished, Status: StatusScheduled}}, plan.Skipped)
				assert.True(t, b.exists(t, batch.ID))
				assert.Equal(t, int64(7), b.itemCount(t, batch.ID))
				assert.True(t, b.folderExists(batch.ID))
			})

			t.Run("two purgers at once delete each item once", func(t *testing.T) {
				piece := itemDeletePiece
				itemDeletePiece = 7
				t.Cleanup(func() { itemDeletePiece = piece })

				b := setupRetention(t, engine.Open, RetentionConfig{})
				const batchCount, itemsPerBatch = 6, 80
				var ids []database.UUID
				for range batchCount {
					batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 40 * day, items: itemsPerBatch, folder: true})
					ids = append(ids, batch.ID)
				}

				// Both purgers select the same batches in the same order, so
				// their pieces compete for the same rows.
				second := NewPurger(b.db, b.storage, b.purger.log, b.clock.Now)
				var mu sync.Mutex
				var pieces []int64
				recordPiece := func(_ database.UUID, deleted int64) {
					mu.Lock()
					defer mu.Unlock()

					pieces = append(pieces, deleted)
				}
				b.purger.afterPiece, second.afterPiece = recordPiece, recordPiece

				start := make(chan struct{})
				results := make([]PurgeResult, 2)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i, p := range []*Purger{b.purger, second} {
					wg.Go(func() {
						<-start
						results[i], errs[i] = p.Purge(context.Background(), PurgeRequest{OlderThanDays: days(30)})
					})
				}

				close(start)
				wg.Wait()
				require.NoError(t, errs[0])
				require.NoError(t, errs[1])

				assert.Equal(t, batchCount, results[0].DeletedBatches+results[1].DeletedBatches, "each batch row is counted by one purger")
				assert.Equal(t, int64(batchCount*itemsPerBatch), results[0].DeletedItems+results[1].DeletedItems,
					"each item is deleted, and counted, by one piece; a lower sum means ON DELETE CASCADE removed items")
				var fromPieces int64
				for _, n := range pieces {
					assert.LessOrEqual(t, n, int64(7), "a piece deleted more rows than itemDeletePiece")
					fromPieces += n
				}

				assert.Equal(t, int64(batchCount*itemsPerBatch), fromPieces)
				for _, id := range ids {
					assert.False(t, b.exists(t, id), "batch %s", id)
					assert.Zero(t, b.itemCount(t, id), "items of batch %s", id)
					assert.False(t, b.folderExists(id), "folder of batch %s", id)
				}
			})

			t.Run("a purger that waited for another one's piece goes on piece by piece", func(t *testing.T) {
				if engine.Name != "postgres" {
					t.Skip("only PostgreSQL among the test engines lets a DELETE wait for row locks and then skip the rows")
				}

				piece := itemDeletePiece
				itemDeletePiece = 5
				t.Cleanup(func() { itemDeletePiece = piece })

				b := setupRetention(t, engine.Open, RetentionConfig{})
				batch := b.addBatch(t, batchSpec{client: b.clientA, status: StatusCompleted, endedAgo: 2 * day, items: 20})
				var pieces []int64
				b.purger.afterPiece = func(_ database.UUID, deleted int64) { pieces = append(pieces, deleted) }

				// Another process deletes the first piece and has not
				// committed yet.
				tx := b.db.Begin()
				require.NoError(t, tx.Error)
				t.Cleanup(func() { tx.Rollback() })
				var holder int64
				require.NoError(t, tx.Raw("SELECT pg_backend_pid()").Scan(&holder).Error)
				require.NoError(t, tx.Exec(`DELETE FROM "ImportItems" WHERE "BatchId" = ? AND "Sequence" < 5`, batch.ID).Error)

				done := make(chan PurgeResult, 1)
				failed := make(chan error, 1)
				go func() {
					result, err := b.purger.Purge(context.Background(), PurgeRequest{BatchIDs: []database.UUID{batch.ID}})
					failed <- err
					done <- result
				}()

				// The purger's first piece covers the same rows, so it waits
				// for the open transaction.
				require.Eventually(t, func() bool {
					var waiting int64
					err := b.db.Raw("SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", holder).Scan(&waiting).Error

					return err == nil && waiting > 0
				}, 30*time.Second, 10*time.Millisecond, "the purger never waited for the open transaction")
				require.NoError(t, tx.Commit().Error)

				require.NoError(t, <-failed)
				result := <-done
				assert.Equal(t, 1, result.DeletedBatches)
				assert.Equal(t, int64(15), result.DeletedItems, "the 15 items the other process left are deleted piece by piece")
				assert.Equal(t, []int64{5, 5, 5}, pieces)
				assert.False(t, b.exists(t, batch.ID))
				assert.Zero(t, b.itemCount(t, batch.ID))
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
