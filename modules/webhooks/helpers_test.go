package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/clock"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// fixture is a migrated database with one client.
type fixture struct {
	db       *database.DB
	store    *Store
	clock    *clock.Manual
	clientID database.UUID
}

func newFixture(t testing.TB, eng dbtest.Engine) *fixture {
	t.Helper()

	db := eng.Open(t)
	var migs []database.Migration
	migs = append(migs, clients.Migrations()...)
	migs = append(migs, imports.Migrations()...)
	migs = append(migs, Migrations()...)
	m, err := database.NewMigrator(db.DB, db.Dialect, migs)
	require.NoError(t, err)
	_, err = m.Up(context.Background())
	require.NoError(t, err)

	clk := clock.NewManual(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	c, err := clients.NewStore(db, clk.Now).AddClient(context.Background(), "acme", "Acme", clients.GenerateSecret())
	require.NoError(t, err)

	return &fixture{db: db, store: NewStore(db, clk.Now), clock: clk, clientID: c.ID}
}

// subscribe adds a subscription to url, inserted directly so tests can use
// targets the API would refuse.
func (f *fixture) subscribe(t testing.TB, url string, events ...string) Subscription {
	t.Helper()

	sub, err := f.store.CreateSubscription(context.Background(), f.clientID, url, events, 0)
	require.NoError(t, err)

	return sub
}

// finish enqueues the event of a batch that ended with status.
func (f *fixture) finish(t testing.TB, status string) imports.BatchFinished {
	t.Helper()

	started := f.clock.Now().Add(-90 * time.Second)
	e := imports.BatchFinished{
		BatchID: database.NewUUID(), ClientID: f.clientID, Status: status, TotalRecords: 10, ProcessedRecords: 10,
		FailedRecords: 2, CreatedAt: started.Add(-time.Minute), StartedAt: &started, CompletedAt: f.clock.Now(),
		TraceID:      "4bf92f3577b34da6a3ce929d0e0e4736",
		ErrorSummary: "2 of 10 records failed; first failure at sequence 3: email jane@example.com is invalid",
	}
	require.NoError(t, f.db.Transaction(func(tx *gorm.DB) error { return f.store.Enqueue(tx, e) }))

	return e
}

func (f *fixture) deliverer(cfg DelivererConfig) *Deliverer {
	if cfg.Schedule == nil {
		cfg.Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.DisableAfter == 0 {
		cfg.DisableAfter = 72 * time.Hour
	}
	cfg.UserAgent = "DataFlow-Webhooks/test"
	d := NewDeliverer(f.store, cfg, zerolog.Nop())
	d.jitter = func() float64 { return 1 }

	return d
}

func (f *fixture) deliveries(t *testing.T) []Delivery {
	t.Helper()

	var out []Delivery
	require.NoError(t, f.db.Order(f.db.Render("{CreatedAt}, {Id}")).Find(&out).Error)

	return out
}

func (f *fixture) subscriptionRow(t *testing.T, id database.UUID) Subscription {
	t.Helper()

	var s Subscription
	require.NoError(t, f.db.Where(f.db.Render("{Id} = ?"), id).Take(&s).Error)

	return s
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

// receiver is a webhook endpoint on 127.0.0.1 whose responses a test scripts.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	answer   func(n int, w http.ResponseWriter)
	requests int
}

func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()

	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Header: req.Header.Clone(), Body: body})
		r.requests++
		n := r.requests
		r.mu.Unlock()

		if r.answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.answer(n, w)
	}))
	t.Cleanup(r.Close)

	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]received(nil), r.got...)
}
