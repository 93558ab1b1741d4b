package imports

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/clock"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/imports/records"
	"github.com/dataflow/dataflow/modules/locking"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/storage"
)

type workerBundle struct {
	db       *database.DB
	worker   *Worker
	watchdog *Watchdog
	standIn  *omniflow.StandIn
	storage  *storage.Store
	clock    *clock.Manual
	clientID database.UUID
}

func setupWorker(t *testing.T, open func(testing.TB) *database.DB, standInCfg omniflow.StandInConfig, maxRetries int) *workerBundle {
	t.Helper()

	conn := open(t)
	var all []database.Migration
	all = append(all, clients.Migrations()...)
	all = append(all, Migrations()...)
	all = append(all, locking.Migrations()...)
	dbtest.Migrate(t, conn, all)

	clk := clock.NewManual(time.Now().UTC())
	client := clients.Client{ID: database.NewUUID(), Name: "Test", ClientIdentifier: "test", SecretHash: []byte{1}, SecretSalt: []byte{1},
		Status: clients.StatusActive, CreatedAt: clk.Now()}
	require.NoError(t, conn.Create(&client).Error)

	standInCfg.KeepRecords = true
	standIn := omniflow.NewStandIn(standInCfg, zerolog.Nop())
	srv := httptest.NewServer(standIn.Handler())
	t.Cleanup(srv.Close)

	sender, err := omniflow.NewClient(omniflow.ClientConfig{BaseURL: srv.URL, MaxRetries: maxRetries, RetryBaseDelay: time.Millisecond,
		Timeout: 5 * time.Second, Logger: zerolog.Nop()})
	require.NoError(t, err)

	store := &store{db: conn, now: clk.Now}
	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	slots := locking.NewSlots(conn, zerolog.Nop(), clk.Now)
	w := &Worker{
		cfg: WorkerConfig{ID: "test-worker", ChunkSize: 100, PollInterval: 10 * time.Millisecond, LockTimeout: time.Minute,
			HeartbeatInterval: time.Hour, Slots: 1, MaxAttempts: 5, UnavailableDelay: time.Minute, ShutdownTimeout: 5 * time.Second},
		store: store, slots: slots, sender: sender, storage: files, log: zerolog.Nop(), now: clk.Now,
	}
	require.NoError(t, slots.Ensure(context.Background(), 1))

	return &workerBundle{
		db: conn, worker: w, standIn: standIn, storage: files, clock: clk, clientID: client.ID,
		watchdog: &Watchdog{slots: slots, store: store, timeout: time.Minute, interval: time.Minute, log: zerolog.Nop()},
	}
}

// addBatch stores content as an uploaded file and creates its Pending batch.
func (b *workerBundle) addBatch(t *testing.T, content []byte, origin string) Batch {
	t.Helper()

	id := database.NewUUID()
	saved, err := b.storage.Save(id.String(), "leads.json", bytesReader(content), 0)
	require.NoError(t, err)

	batch := Batch{ID: id, ClientID: b.clientID, Status: StatusPending, FileType: FileTypeJSON, FileName: "leads.json",
		FileSizeBytes: saved.SizeBytes, Checksum: saved.SHA256, UploadPath: saved.Path, PolicyDecision: DecisionImmediate,
		OriginDefault: nullable(origin), CreatedAt: b.clock.Now()}
	require.NoError(t, b.worker.store.createBatch(context.Background(), &batch))

	return batch
}

func (b *workerBundle) load(t *testing.T, id database.UUID) Batch {
	t.Helper()

	batch, err := b.worker.store.batch(context.Background(), id)
	require.NoError(t, err)

	return batch
}

func leadsFile(t *testing.T, n int, opts importtest.GenerateOptions) []byte {
	t.Helper()

	path := filepath.Join(t.TempDir(), "leads.json")
	require.NoError(t, importtest.GenerateLeadsFile(path, n, opts))
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	return data
}

func TestWorker(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Run("delivers every record once and completes", func(t *testing.T) {
				// Also runs the statistics refresh that large PostgreSQL batches get.
				defer func(saved int) { analyzeThreshold = saved }(analyzeThreshold)
				analyzeThreshold = 100

				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addBatch(t, leadsFile(t, 250, importtest.GenerateOptions{Seed: 1, MissingOriginEvery: 5}), "fallback")

				worked, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)
				require.True(t, worked)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusCompleted, got.Status)
				require.Equal(t, 250, got.TotalRecords)
				require.Equal(t, 250, got.ProcessedRecords)
				require.Zero(t, got.FailedRecords)
				require.NotNil(t, got.CompletedAt)
				require.Equal(t, 100, *got.ChunkSize)

				stats := b.standIn.Stats().Batches[batch.ID.String()]
				require.EqualValues(t, 250, stats.DistinctSequences)
				require.Zero(t, stats.DuplicateSequenceCount)
				require.Len(t, stats.Chunks, 3)
				require.Equal(t, 50, stats.Chunks[2].Size)
				require.Equal(t, batch.ID.String()+":3", stats.Chunks[2].IdempotencyKey)

				var imported int64
				require.NoError(t, b.db.Model(&Item{}).Where(b.db.Render("{BatchId} = ? AND {Status} = ? AND {LeadId} IS NOT NULL"), batch.ID, ItemImported).
					Count(&imported).Error)
				require.EqualValues(t, 250, imported)

				_, err = os.Stat(filepath.Dir(batch.UploadPath))
				require.ErrorIs(t, err, os.ErrNotExist, "the batch folder must be removed")
			})

			t.Run("records rejected by omniflow end with errors", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{RequiredFields: []string{"phoneNumber"}}, 3)
				batch := b.addBatch(t, leadsFile(t, 120, importtest.GenerateOptions{Seed: 2, MissingPhoneEvery: 10}), "")

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusCompletedWithErrors, got.Status)
				require.Equal(t, 12, got.FailedRecords)
				require.Contains(t, *got.ErrorSummary, "12 of 120 records failed")
				require.Contains(t, *got.ErrorSummary, "phoneNumber")

				var failed []Item
				require.NoError(t, b.db.Where(b.db.Render("{BatchId} = ? AND {Status} = ?"), batch.ID, ItemError).Find(&failed).Error)
				require.Len(t, failed, 12)
				require.Contains(t, *failed[0].ErrorMessage, "phoneNumber")
			})

			t.Run("invalid json fails with the offset and sends nothing", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addBatch(t, []byte(`[{"name":"a"},{"name":"b"} {"name":"c"}]`), "")

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusFailed, got.Status)
				require.Contains(t, *got.ErrorSummary, "byte offset 27")
				require.Empty(t, b.standIn.Stats().Batches)

				var items int64
				require.NoError(t, b.db.Model(&Item{}).Where(b.db.Render("{BatchId} = ?"), batch.ID).Count(&items).Error)
				require.Zero(t, items)
			})

			t.Run("omniflow outage pauses the batch without using an attempt", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{FailFirst: 1000}, 0)
				batch := b.addBatch(t, leadsFile(t, 10, importtest.GenerateOptions{Seed: 3}), "")

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusPending, got.Status)
				require.Equal(t, 1, got.PauseCount)
				require.Zero(t, got.AttemptCount)
				require.Zero(t, got.ProcessedRecords)
				require.NotNil(t, got.NextAttemptAt)
				require.True(t, got.NextAttemptAt.After(b.clock.Now()))

				worked, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)
				require.False(t, worked, "a paused batch waits for NextAttemptAt")
			})

			t.Run("claim is won by exactly one of many workers", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addBatch(t, []byte(`[{"a":1}]`), "")

				var wg sync.WaitGroup
				var mu sync.Mutex
				wins := 0
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, ok, err := b.worker.store.claim(context.Background(), batch, "w", 100)
						if err != nil {
							t.Errorf("claim: %v", err)
						}

						if ok {
							mu.Lock()
							wins++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				require.Equal(t, 1, wins)
			})

			t.Run("watchdog recovers an abandoned batch and fences its worker", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addBatch(t, leadsFile(t, 150, importtest.GenerateOptions{Seed: 4}), "")
				ctx := context.Background()

				lease, err := b.worker.slots.Acquire(ctx, 1, "frozen-worker")
				require.NoError(t, err)
				token, ok, err := b.worker.store.claim(ctx, batch, "frozen-worker", 100)
				require.NoError(t, err)
				require.True(t, ok)

				b.clock.Advance(2 * time.Minute)
				recovered, err := b.watchdog.RunOnce(ctx)
				require.NoError(t, err)
				require.EqualValues(t, 1, recovered)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusPending, got.Status)
				require.Greater(t, got.LeaseToken, token)

				require.ErrorIs(t, b.worker.store.heartbeat(ctx, batch.ID, token), ErrLeaseLost)
				require.ErrorIs(t, b.worker.slots.Heartbeat(ctx, lease), locking.ErrLeaseLost)

				_, err = b.worker.RunOnce(ctx)
				require.NoError(t, err)

				got = b.load(t, batch.ID)
				require.Equal(t, StatusCompleted, got.Status)
				require.Equal(t, 2, got.AttemptCount)
				require.EqualValues(t, 150, b.standIn.Stats().Batches[batch.ID.String()].DistinctSequences)
			})

			t.Run("resumes staging after the records already staged", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addBatch(t, leadsFile(t, 2500, importtest.GenerateOptions{Seed: 5}), "")
				ctx := context.Background()

				// A first claim staged the first 1,000 records, then its
				// worker died.
				token, ok, err := b.worker.store.claim(ctx, batch, "dead-worker", 100)
				require.NoError(t, err)
				require.True(t, ok)

				first := b.load(t, batch.ID)
				run := &batchRun{w: b.worker, b: first, token: token, chunkSize: 100, log: zerolog.Nop()}
				records, err := os.ReadFile(batch.UploadPath)
				require.NoError(t, err)
				partial := stagePrefix(t, records, 1000)
				items := make([]Item, len(partial))
				for i, p := range partial {
					items[i] = Item{BatchID: batch.ID, Sequence: i, PayloadJSON: string(p), Status: ItemPending, CreatedAt: b.clock.Now()}
				}
				require.NoError(t, b.worker.store.stageItems(ctx, batch.ID, token, items, 1000))
				_ = run

				b.clock.Advance(2 * time.Minute)
				_, err = b.watchdog.RunOnce(ctx)
				require.NoError(t, err)

				_, err = b.worker.RunOnce(ctx)
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusCompleted, got.Status)
				require.Equal(t, 2500, got.TotalRecords)

				var count int64
				require.NoError(t, b.db.Model(&Item{}).Where(b.db.Render("{BatchId} = ?"), batch.ID).Count(&count).Error)
				require.EqualValues(t, 2500, count)
				stats := b.standIn.Stats().Batches[batch.ID.String()]
				require.EqualValues(t, 2500, stats.DistinctSequences)
				require.Zero(t, stats.DuplicateSequenceCount)
			})
		})
	}
}

func stagePrefix(t *testing.T, content []byte, n int) [][]byte {
	t.Helper()

	path := filepath.Join(t.TempDir(), "prefix.json")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	reader, err := records.Open(f, records.JSON, records.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = reader.Close() })

	out := make([][]byte, 0, n)
	for range n {
		rec, err := reader.Next()
		require.NoError(t, err)
		out = append(out, rec.Payload)
	}

	return out
}

func TestWorkerStop(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			batch := b.addBatch(t, leadsFile(t, 500, importtest.GenerateOptions{Seed: 6}), "")

			ctx, cancel := context.WithCancel(context.Background())
			b.worker.afterChunk = func(_ database.UUID, chunkID int) {
				if chunkID == 2 {
					cancel()
				}
			}

			runUntilStopped(t, b.worker, ctx)

			got := b.load(t, batch.ID)
			require.Equal(t, StatusPending, got.Status, "a stopped worker hands the batch back")
			require.Equal(t, 200, got.ProcessedRecords, "the chunk in flight finishes and commits")
			require.Zero(t, got.AttemptCount, "a clean stop does not use an attempt")
			require.Nil(t, got.WorkerID)

			held, err := b.worker.slots.(*locking.Slots).HeldCount(context.Background())
			require.NoError(t, err)
			require.Zero(t, held)

			b.worker.afterChunk = nil
			_, err = b.worker.RunOnce(context.Background())
			require.NoError(t, err)

			got = b.load(t, batch.ID)
			require.Equal(t, StatusCompleted, got.Status)
			stats := b.standIn.Stats().Batches[batch.ID.String()]
			require.EqualValues(t, 500, stats.DistinctSequences)
			require.Zero(t, stats.DuplicateSequenceCount)
		})
	}
}

func TestWorkerStopTimeout(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			b.worker.cfg.ShutdownTimeout = 50 * time.Millisecond
			batch := b.addBatch(t, leadsFile(t, 300, importtest.GenerateOptions{Seed: 7}), "")

			ctx, cancel := context.WithCancel(context.Background())
			b.worker.afterChunk = func(_ database.UUID, chunkID int) {
				if chunkID == 1 {
					// Chunk 2 hangs in OmniFlow longer than the shutdown
					// timeout allows.
					hang := int64(10_000)
					require.NoError(t, b.standIn.Configure(omniflow.StandInSwitches{LatencyMs: &hang}))
					cancel()
				}
			}

			runUntilStopped(t, b.worker, ctx)

			got := b.load(t, batch.ID)
			require.Equal(t, StatusPending, got.Status, "the batch goes back even when the chunk in flight was cut off")
			require.Equal(t, 100, got.ProcessedRecords)

			none := int64(0)
			require.NoError(t, b.standIn.Configure(omniflow.StandInSwitches{LatencyMs: &none}))
			b.worker.afterChunk = nil
			_, err := b.worker.RunOnce(context.Background())
			require.NoError(t, err)

			got = b.load(t, batch.ID)
			require.Equal(t, StatusCompleted, got.Status)
			stats := b.standIn.Stats().Batches[batch.ID.String()]
			require.EqualValues(t, 300, stats.DistinctSequences)
			for _, dup := range stats.DuplicateSequences {
				require.Equal(t, []string{batch.ID.String() + ":2"}, dup.IdempotencyKeys, "only the cut-off chunk may be resent")
			}
		})
	}
}

func TestStoreRetriesAreSafe(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			batch := b.addBatch(t, []byte(`[{"a":1},{"a":2}]`), "")
			ctx := context.Background()

			token, ok, err := b.worker.store.claim(ctx, batch, "w", 100)
			require.NoError(t, err)
			require.True(t, ok)

			items := []Item{
				{BatchID: batch.ID, Sequence: 0, PayloadJSON: `{"a":1}`, Status: ItemPending, CreatedAt: b.clock.Now()},
				{BatchID: batch.ID, Sequence: 1, PayloadJSON: `{"a":2}`, Status: ItemPending, CreatedAt: b.clock.Now()},
			}
			require.NoError(t, b.worker.store.stageItems(ctx, batch.ID, token, items, 2))
			require.NoError(t, b.worker.store.stageItems(ctx, batch.ID, token, items, 2), "staging the same rows again")
			require.NoError(t, b.worker.store.finishStaging(ctx, batch.ID, token, 2))

			outcomes := []itemOutcome{{Sequence: 0, Status: ItemImported, LeadID: "l0"}, {Sequence: 1, Status: ItemError, Error: "bad"}}
			require.NoError(t, b.worker.store.commitChunk(ctx, batch.ID, token, outcomes))
			require.NoError(t, b.worker.store.commitChunk(ctx, batch.ID, token, outcomes), "committing the same chunk again")

			got := b.load(t, batch.ID)
			require.Equal(t, 2, got.ProcessedRecords, "a repeated commit must not count twice")
			require.Equal(t, 1, got.FailedRecords)

			var rows int64
			require.NoError(t, b.db.Model(&Item{}).Where(b.db.Render("{BatchId} = ?"), batch.ID).Count(&rows).Error)
			require.EqualValues(t, 2, rows)

			require.NoError(t, b.worker.store.finish(ctx, batch.ID, token, StatusCompletedWithErrors, "x"))
			require.NoError(t, b.worker.store.finish(ctx, batch.ID, token, StatusCompletedWithErrors, "x"), "finishing again")
			require.ErrorIs(t, b.worker.store.finish(ctx, batch.ID, token+1, StatusCompleted, ""), ErrLeaseLost)
		})
	}
}

func TestFrozenRunSendsNothing(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			b.worker.cfg.HeartbeatInterval = time.Second
			batch := b.addBatch(t, leadsFile(t, 200, importtest.GenerateOptions{Seed: 8}), "")
			ctx := context.Background()

			token, ok, err := b.worker.store.claim(ctx, batch, "frozen", 100)
			require.NoError(t, err)
			require.True(t, ok)

			claimed := b.load(t, batch.ID)
			run := &batchRun{w: b.worker, b: claimed, token: token, chunkSize: 100, log: zerolog.Nop()}
			require.NoError(t, run.stage(ctx))

			// The worker froze: its last confirmation is old, and meanwhile the
			// watchdog gave the batch back.
			run.confirmed.Store(time.Now().Add(-time.Hour).UnixNano())
			b.clock.Advance(2 * time.Minute)
			_, err = b.watchdog.RunOnce(ctx)
			require.NoError(t, err)

			err = run.deliverAll(ctx, ctx)
			require.ErrorIs(t, err, ErrLeaseLost)
			require.Empty(t, b.standIn.Stats().Batches, "a worker that lost its lease must not send")
		})
	}
}

func TestCommitAfterTakeover(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			batch := b.addBatch(t, []byte(`[{"a":1}]`), "")
			ctx := context.Background()

			oldToken, ok, err := b.worker.store.claim(ctx, batch, "frozen", 100)
			require.NoError(t, err)
			require.True(t, ok)
			items := []Item{{BatchID: batch.ID, Sequence: 0, PayloadJSON: `{"a":1}`, Status: ItemPending, CreatedAt: b.clock.Now()}}
			require.NoError(t, b.worker.store.stageItems(ctx, batch.ID, oldToken, items, 1))

			// The watchdog hands the batch to another worker, which commits
			// the chunk the frozen one still has in flight.
			b.clock.Advance(2 * time.Minute)
			_, err = b.watchdog.RunOnce(ctx)
			require.NoError(t, err)
			newToken, ok, err := b.worker.store.claim(ctx, b.load(t, batch.ID), "taker", 100)
			require.NoError(t, err)
			require.True(t, ok)

			outcomes := []itemOutcome{{Sequence: 0, Status: ItemImported, LeadID: "l0"}}
			require.NoError(t, b.worker.store.commitChunk(ctx, batch.ID, newToken, outcomes))

			err = b.worker.store.commitChunk(ctx, batch.ID, oldToken, outcomes)
			require.ErrorIs(t, err, ErrLeaseLost, "the frozen worker must learn it lost the batch")
		})
	}
}

// runUntilStopped runs the worker until ctx ends and it returns, failing the
// test when it takes more than 30 seconds.
func runUntilStopped(t *testing.T, w *Worker, ctx context.Context) {
	t.Helper()

	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30s of the stop request")
	}
}
