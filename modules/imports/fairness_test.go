package imports

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func TestFairOrder(t *testing.T) {
	a, b, c := database.NewUUID(), database.NewUUID(), database.NewUUID()
	batch := func(client database.UUID, name string) Batch { return Batch{ClientID: client, FileName: name} }
	candidates := []Batch{batch(a, "a1"), batch(a, "a2"), batch(a, "a3"), batch(b, "b1"), batch(c, "c1"), batch(b, "b2")}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

	names := func(bs []Batch) []string {
		out := make([]string, len(bs))
		for i, b := range bs {
			out[i] = b.FileName
		}

		return out
	}

	t.Run("never served clients first, then the longest waiting", func(t *testing.T) {
		loads := map[database.UUID]clientLoad{a: {lastStart: now}, b: {lastStart: now.Add(-time.Hour)}}
		require.Equal(t, []string{"c1", "b1", "a1", "b2", "a2", "a3"}, names(fairOrder(candidates, loads, 0)))
	})

	t.Run("clients at their limit wait", func(t *testing.T) {
		loads := map[database.UUID]clientLoad{a: {processing: 1}, b: {processing: 2}}
		require.Equal(t, []string{"c1"}, names(fairOrder(candidates, loads, 1)))
		require.Equal(t, []string{"a1", "c1", "a2", "a3"}, names(fairOrder(candidates, loads, 2)))
	})
}

// TestWorkerServesClientsFairly uploads three batches of one client, then
// one of another: the second client's batch runs second, not last.
func TestWorkerServesClientsFairly(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			other := clients.Client{ID: database.NewUUID(), Name: "Other", ClientIdentifier: "other", SecretHash: []byte{1}, SecretSalt: []byte{1},
				Status: clients.StatusActive, CreatedAt: b.clock.Now()}
			require.NoError(t, b.db.Create(&other).Error)

			var first []Batch
			for i := range 3 {
				first = append(first, b.addBatch(t, leadsFile(t, 5, importtest.GenerateOptions{Seed: uint64(30 + i)}), ""))
				b.clock.Advance(time.Second)
			}

			late := b.addBatch(t, leadsFile(t, 5, importtest.GenerateOptions{Seed: 40}), "")
			require.NoError(t, b.db.Model(&Batch{}).Where(b.db.Render("{Id} = ?"), late.ID).Update("ClientId", other.ID).Error)

			var order []database.UUID
			for range 4 {
				b.clock.Advance(time.Second)
				worked, err := b.worker.RunOnce(context.Background())
				require.NoError(t, err)
				require.True(t, worked)

				var started Batch
				require.NoError(t, b.db.Where(b.db.Render("{Status} = ?"), StatusCompleted).
					Order(b.db.Render("{CompletedAt} DESC")).Take(&started).Error)
				order = append(order, started.ID)
			}

			require.Equal(t, []database.UUID{first[0].ID, late.ID, first[1].ID, first[2].ID}, order)
		})
	}
}

// TestWorkerWaitsForScheduledTime checks that a Scheduled batch runs only
// once its time has come.
func TestWorkerWaitsForScheduledTime(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			batch := b.addBatch(t, leadsFile(t, 5, importtest.GenerateOptions{Seed: 50}), "")
			at := b.clock.Now().Add(time.Hour).UTC()
			require.NoError(t, b.db.Model(&Batch{}).Where(b.db.Render("{Id} = ?"), batch.ID).
				Updates(map[string]any{"Status": StatusScheduled, "PolicyDecision": DecisionScheduled, "ScheduledFor": at}).Error)

			worked, err := b.worker.RunOnce(context.Background())
			require.NoError(t, err)
			require.False(t, worked, "the batch is not due yet")
			require.Equal(t, StatusScheduled, b.load(t, batch.ID).Status)

			b.clock.Advance(time.Hour + time.Second)
			worked, err = b.worker.RunOnce(context.Background())
			require.NoError(t, err)
			require.True(t, worked)
			require.Equal(t, StatusCompleted, b.load(t, batch.ID).Status)
		})
	}
}

// TestCandidatesLongQueue checks that a client with hundreds of queued
// batches cannot push another client's batch out of the candidates.
func TestCandidatesLongQueue(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			other := clients.Client{ID: database.NewUUID(), Name: "Other", ClientIdentifier: "other", SecretHash: []byte{1}, SecretSalt: []byte{1},
				Status: clients.StatusActive, CreatedAt: b.clock.Now()}
			require.NoError(t, b.db.Create(&other).Error)

			for range 250 {
				b.clock.Advance(time.Millisecond)
				require.NoError(t, b.worker.store.createBatch(context.Background(), &Batch{ID: database.NewUUID(), ClientID: b.clientID,
					Status: StatusPending, FileType: FileTypeJSON, FileName: "x.json", PolicyDecision: DecisionImmediate, CreatedAt: b.clock.Now()}))
			}

			b.clock.Advance(time.Millisecond)
			late := Batch{ID: database.NewUUID(), ClientID: other.ID, Status: StatusPending, FileType: FileTypeJSON, FileName: "y.json",
				PolicyDecision: DecisionImmediate, CreatedAt: b.clock.Now()}
			require.NoError(t, b.worker.store.createBatch(context.Background(), &late))

			got, err := b.worker.store.candidates(context.Background(), candidateLimit, candidatesPerClient)
			require.NoError(t, err)
			require.Len(t, got, candidatesPerClient+1)
			require.Equal(t, late.ID, got[len(got)-1].ID)
		})
	}
}

func TestBatchStats(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			b := setupWorker(t, engine.Open, omniflow.StandInConfig{}, 3)
			b.addBatch(t, leadsFile(t, 5, importtest.GenerateOptions{Seed: 60}), "")
			b.clock.Advance(10 * time.Minute)

			stats, err := b.worker.store.batchStats(context.Background())
			require.NoError(t, err)
			require.Equal(t, map[string]int{StatusPending: 1}, stats.ByStatus)
			require.InDelta(t, (10 * time.Minute).Seconds(), stats.OldestPendingAge.Seconds(), 1)
		})
	}
}

// TestTraceParentSent checks that every chunk carries the batch's trace
// id in traceparent and x-trace-id.
func TestTraceParentSent(t *testing.T) {
	var mu sync.Mutex
	var parents, traceIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		traceIDs = append(traceIDs, r.Header.Get("x-trace-id"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)

	b := setupWorker(t, dbtest.OpenSQLite, omniflow.StandInConfig{}, 3)
	sender, err := omniflow.NewClient(omniflow.ClientConfig{BaseURL: srv.URL, MaxRetries: 1, RetryBaseDelay: time.Millisecond,
		Timeout: 5 * time.Second, Logger: zerolog.Nop()})
	require.NoError(t, err)
	b.worker.sender = sender

	batch := b.addBatch(t, leadsFile(t, 150, importtest.GenerateOptions{Seed: 61}), "")
	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	require.NoError(t, b.db.Model(&Batch{}).Where(b.db.Render("{Id} = ?"), batch.ID).Update("TraceId", traceID).Error)

	_, err = b.worker.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, b.load(t, batch.ID).Status)

	require.Len(t, parents, 2)
	for i := range parents {
		require.Regexp(t, `^00-`+traceID+`-[0-9a-f]{16}-01$`, parents[i])
		require.Equal(t, traceID, traceIDs[i])
	}
	require.NotEqual(t, parents[0], parents[1], "each chunk is its own span")
}
