package imports

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// addFile stores content as an upload of the given type, with import
// options when not nil, and creates its Pending batch.
func (b *workerBundle) addFile(t *testing.T, name, fileType string, content []byte, options *ImportOptions) Batch {
	t.Helper()

	id := database.NewUUID()
	saved, err := b.storage.Save(id.String(), name, bytesReader(content), 0)
	require.NoError(t, err)

	batch := Batch{ID: id, ClientID: b.clientID, Status: StatusPending, FileType: fileType, FileName: name,
		FileSizeBytes: saved.SizeBytes, Checksum: saved.SHA256, UploadPath: saved.Path, PolicyDecision: DecisionImmediate,
		CreatedAt: b.clock.Now()}
	if options != nil {
		batch.ImportOptionsJSON, err = options.encode()
		require.NoError(t, err)
	}

	require.NoError(t, b.worker.store.createBatch(context.Background(), &batch))

	return batch
}

func (b *workerBundle) itemsOf(t *testing.T, id database.UUID) []Item {
	t.Helper()

	var items []Item
	require.NoError(t, b.db.Where(b.db.Render("{BatchId} = ?"), id).Order(b.db.Render("{Sequence}")).Find(&items).Error)

	return items
}

func TestStagingRejections(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			b.worker.cfg.Reading.RequiredFields = []string{"phoneNumber"}
			b.worker.cfg.Reading.DedupKey = "phoneNumber"
			b.worker.cfg.Reading.Limits.MaxRecordBytes = 200

			content := `[
{"phoneNumber":"+55 11 90000-0001","name":"a"},
{"name":"no phone"},
{"phoneNumber":"5511900000001","name":"same phone"},
{"phoneNumber":"5511900000002","name":"` + strings.Repeat("x", 300) + `"},
7,
{"phoneNumber":"5511900000003"}
]`
			batch := b.addFile(t, "leads.json", FileTypeJSON, []byte(content), nil)

			worked, err := b.worker.RunOnce(context.Background())
			require.NoError(t, err)
			require.True(t, worked)

			got := b.load(t, batch.ID)
			require.Equal(t, StatusCompletedWithErrors, got.Status)
			require.Equal(t, 6, got.TotalRecords)
			require.Equal(t, 6, got.ProcessedRecords)
			require.Equal(t, 3, got.FailedRecords)
			require.Equal(t, 1, got.SkippedRecords)
			require.Contains(t, *got.ErrorSummary, "first failure at sequence 1")

			items := b.itemsOf(t, batch.ID)
			require.Len(t, items, 6)
			want := []struct {
				status, message string
				line            int
			}{
				{ItemImported, "", 2},
				{ItemError, `required field "phoneNumber"`, 3},
				{ItemSkipped, "sequence 0", 4},
				{ItemError, "more than the limit of 200", 5},
				{ItemError, "not a JSON object", 6},
				{ItemImported, "", 7},
			}
			for i, w := range want {
				require.Equal(t, w.status, items[i].Status, "item %d", i)
				require.Equal(t, w.line, *items[i].SourceLine, "item %d", i)
				if w.message != "" {
					require.Contains(t, *items[i].ErrorMessage, w.message, "item %d", i)
				}
			}

			stats := b.standIn.Stats().Batches[batch.ID.String()]
			require.EqualValues(t, 2, stats.DistinctSequences)
		})
	}
}

func TestStagingOptionsOverride(t *testing.T) {
	b := setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 3)
	b.worker.cfg.Reading.RequiredFields = []string{"email"}
	b.worker.cfg.Reading.DedupKey = "phoneNumber"

	none := []string{}
	emptyKey := ""
	content := "phoneNumber|name\n1|a\n1|b\n"
	batch := b.addFile(t, "leads.txt", FileTypeCSV, []byte(content),
		&ImportOptions{Delimiter: "pipe", RequiredFields: &none, DedupKey: &emptyKey})

	_, err := b.worker.RunOnce(context.Background())
	require.NoError(t, err)

	got := b.load(t, batch.ID)
	require.Equal(t, StatusCompleted, got.Status)
	require.Equal(t, 2, got.TotalRecords)
	require.Zero(t, got.FailedRecords)
	require.Zero(t, got.SkippedRecords)

	items := b.itemsOf(t, batch.ID)
	require.JSONEq(t, `{"phoneNumber":"1","name":"b"}`, items[1].PayloadJSON)
}

func TestStagingFileFailures(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Run("file changed after upload", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addFile(t, "leads.json", FileTypeJSON, []byte(`[{"phoneNumber":"1"}]`), nil)
				require.NoError(t, os.WriteFile(batch.UploadPath, []byte(`[{"phoneNumber":"2"}]`), 0o600))

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusFailed, got.Status)
				require.Contains(t, *got.ErrorSummary, "changed after upload")
				require.Empty(t, b.itemsOf(t, batch.ID))
				require.Zero(t, b.standIn.Stats().Batches[batch.ID.String()].DistinctSequences)
			})

			t.Run("header without records", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				batch := b.addFile(t, "leads.csv", FileTypeCSV, []byte("phoneNumber;name\r\n;\r\n"), nil)

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusFailed, got.Status)
				require.Contains(t, *got.ErrorSummary, "contains no records")
			})

			t.Run("more records than MaxRecords", func(t *testing.T) {
				b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
				b.worker.cfg.Reading.MaxRecords = 1500
				var lines strings.Builder
				for i := range 1501 {
					fmt.Fprintf(&lines, "{\"phoneNumber\":\"%d\"}\n", i)
				}

				batch := b.addFile(t, "leads.ndjson", FileTypeNDJSON, []byte(lines.String()), nil)

				_, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)

				got := b.load(t, batch.ID)
				require.Equal(t, StatusFailed, got.Status)
				require.Contains(t, *got.ErrorSummary, "more than 1500 records")
				require.Contains(t, *got.ErrorSummary, "line 1501")
				require.Zero(t, got.ProcessedRecords)
				require.Empty(t, b.itemsOf(t, batch.ID))
				require.Zero(t, b.standIn.Stats().Batches[batch.ID.String()].DistinctSequences)
			})
		})
	}
}

// TestStagingResumeKeepsDuplicates interrupts staging after the first
// 1,000 records. A later duplicate of a record before the interruption
// must still be found, so the resumed run has to rebuild the keys.
func TestStagingResumeKeepsDuplicates(t *testing.T) {
	b := setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 3)
	b.worker.cfg.Reading.DedupKey = "phoneNumber"

	var lines strings.Builder
	for i := range 1500 {
		phone := i
		if i == 1200 {
			phone = 10
		}

		fmt.Fprintf(&lines, "{\"phoneNumber\":\"%d\"}\n", phone)
	}

	batch := b.addFile(t, "leads.ndjson", FileTypeNDJSON, []byte(lines.String()), nil)
	ctx := context.Background()

	token, ok, err := b.worker.store.claim(ctx, batch, "dead-worker", 100)
	require.NoError(t, err)
	require.True(t, ok)

	items := make([]Item, 1000)
	for i := range items {
		items[i] = Item{BatchID: batch.ID, Sequence: i, PayloadJSON: fmt.Sprintf(`{"phoneNumber":"%d"}`, i), Status: ItemPending, CreatedAt: b.clock.Now()}
	}
	require.NoError(t, b.worker.store.stageItems(ctx, batch.ID, token, items, 1000))

	b.clock.Advance(2 * time.Minute)
	_, err = b.watchdog.RunOnce(ctx)
	require.NoError(t, err)

	_, err = b.worker.RunOnce(ctx)
	require.NoError(t, err)

	got := b.load(t, batch.ID)
	require.Equal(t, StatusCompleted, got.Status)
	require.Equal(t, 1500, got.TotalRecords)
	require.Equal(t, 1, got.SkippedRecords)

	all := b.itemsOf(t, batch.ID)
	require.Equal(t, ItemSkipped, all[1200].Status)
	require.Contains(t, *all[1200].ErrorMessage, "sequence 10")
	require.EqualValues(t, 1499, b.standIn.Stats().Batches[batch.ID.String()].DistinctSequences)
}
