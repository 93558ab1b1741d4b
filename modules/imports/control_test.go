package imports

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func TestCancelDuringProcessing(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			batch := b.addBatch(t, leadsFile(t, 500, importtest.GenerateOptions{Seed: 21}), "")
			ctx := context.Background()

			b.worker.afterChunk = func(id database.UUID, chunkID int) {
				if chunkID == 2 {
					ok, err := b.worker.store.requestCancel(ctx, id, b.clientID)
					require.NoError(t, err)
					require.True(t, ok)
				}
			}

			_, err := b.worker.RunOnce(ctx)
			require.NoError(t, err)

			got := b.load(t, batch.ID)
			require.Equal(t, StatusCancelled, got.Status)
			require.Equal(t, 200, got.ProcessedRecords)
			require.Contains(t, *got.ErrorSummary, "after 200 of 500 records")
			require.NotNil(t, got.CompletedAt)

			stats := b.standIn.Stats().Batches[batch.ID.String()]
			require.EqualValues(t, 200, stats.DistinctSequences, "no chunk may be sent after the cancellation is seen")

			pending := 0
			for _, it := range b.itemsOf(t, batch.ID) {
				if it.Status == ItemPending {
					pending++
				}
			}
			require.Equal(t, 300, pending)

			_, err = b.worker.store.batch(ctx, batch.ID)
			require.NoError(t, err)
			ok, err := b.worker.store.requestCancel(ctx, batch.ID, b.clientID)
			require.NoError(t, err)
			require.False(t, ok, "a finished batch cannot be cancelled again")
		})
	}
}

func TestCancelWaitingBatch(t *testing.T) {
	b := setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 3)
	batch := b.addBatch(t, leadsFile(t, 10, importtest.GenerateOptions{Seed: 22}), "")
	ctx := context.Background()

	ok, err := b.worker.store.cancelWaiting(ctx, batch.ID, b.clientID, "cancelled")
	require.NoError(t, err)
	require.True(t, ok)

	worked, err := b.worker.RunOnce(ctx)
	require.NoError(t, err)
	require.False(t, worked, "a cancelled batch must not be claimed")
	require.Equal(t, StatusCancelled, b.load(t, batch.ID).Status)
	require.Zero(t, b.standIn.Stats().Batches[batch.ID.String()].DistinctSequences)
}
