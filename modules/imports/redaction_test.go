package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func TestRedaction(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{RequiredFields: []string{"phoneNumber"}}, 3)
			b.worker.cfg.Redaction = RedactionConfig{OnSuccess: true, IncludeHash: true}
			content := leadsFile(t, 150, importtest.GenerateOptions{Seed: 70, MissingPhoneEvery: 10})
			originals := stagePrefix(t, content, 150)
			batch := b.addBatch(t, content, "")

			_, err := b.worker.RunOnce(context.Background())
			require.NoError(t, err)
			require.Equal(t, StatusCompletedWithErrors, b.load(t, batch.ID).Status)

			for _, it := range b.itemsOf(t, batch.ID) {
				switch it.Status {
				case ItemImported:
					sum := sha256.Sum256(originals[it.Sequence])
					require.JSONEq(t, `{"masked":true,"sha256":"`+hex.EncodeToString(sum[:])+`"}`, it.PayloadJSON, "item %d", it.Sequence)
				case ItemError:
					require.JSONEq(t, string(originals[it.Sequence]), it.PayloadJSON, "failed records keep their payload, item %d", it.Sequence)
				}
			}
		})
	}
}

func TestRedactionClientOverride(t *testing.T) {
	b := setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 3)
	b.worker.cfg.Redaction = RedactionConfig{OnSuccess: true}
	keep := false
	require.NoError(t, b.db.Create(&clients.Policy{ID: database.NewUUID(), ClientID: &b.clientID, RedactPayloadOnSuccess: &keep,
		CreatedAt: b.clock.Now()}).Error)

	content := leadsFile(t, 10, importtest.GenerateOptions{Seed: 71})
	batch := b.addBatch(t, content, "")
	_, err := b.worker.RunOnce(context.Background())
	require.NoError(t, err)

	for _, it := range b.itemsOf(t, batch.ID) {
		require.False(t, isRedacted(it.PayloadJSON), "the client's policy keeps payloads, item %d", it.Sequence)
	}
}
