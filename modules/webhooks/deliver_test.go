package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func TestEnqueue(t *testing.T) {
	for _, eng := range dbtest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			f := newFixture(t, eng)
			all := f.subscribe(t, "http://127.0.0.1:1/all")
			failures := f.subscribe(t, "http://127.0.0.1:1/failures", EventFailed)
			off := f.subscribe(t, "http://127.0.0.1:1/off")
			require.NoError(t, f.db.Model(&Subscription{}).Where(f.db.Render("{Id} = ?"), off.ID).Update("IsActive", false).Error)

			e := f.finish(t, "CompletedWithErrors")
			ds := f.deliveries(t)
			require.Len(t, ds, 1, "only the active subscription that wants the event")
			require.Equal(t, all.ID, ds[0].SubscriptionID)

			var ev Event
			require.NoError(t, f.db.Where(f.db.Render("{Id} = ?"), ds[0].EventID).Take(&ev).Error)
			require.Equal(t, EventCompletedWithErrors, ev.Type)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(ev.PayloadJSON), &body))
			require.Equal(t, "batch.completed_with_errors", body["type"])
			data := body["data"].(map[string]any)
			require.Equal(t, e.BatchID.String(), data["batchId"])
			require.Equal(t, "acme", data["clientIdentifier"])
			require.InDelta(t, 8, data["importedRecords"], 0)
			require.InDelta(t, 90, data["durationSeconds"], 0.001)
			require.Equal(t, "2 of 10 records failed; GET /imports/"+e.BatchID.String()+"/items?status=Error lists them", data["errorSummary"])
			require.NotContains(t, ev.PayloadJSON, "jane@example.com", "OmniFlow's message may quote lead data")

			f.finish(t, "Failed")
			require.Len(t, f.deliveries(t), 3, "a failure goes to both active subscriptions")
			_ = failures

			// A rolled-back final status leaves no event behind.
			rollback := errors.New("rollback")
			err := f.db.Transaction(func(tx *gorm.DB) error {
				require.NoError(t, f.store.Enqueue(tx, e))
				return rollback
			})
			require.ErrorIs(t, err, rollback)
			require.Len(t, f.deliveries(t), 3)
		})
	}
}

func TestDeliverySignsAndRetries(t *testing.T) {
	for _, eng := range dbtest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			f := newFixture(t, eng)
			rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n <= 2 {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			sub := f.subscribe(t, rcv.URL+"/hooks?token=abc")
			f.finish(t, "Completed")
			d := f.deliverer(DelivererConfig{AllowInsecure: true})
			ctx := context.Background()

			n, err := d.RunOnce(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			ds := f.deliveries(t)
			require.Equal(t, DeliveryPending, ds[0].Status)
			require.Equal(t, 1, ds[0].Attempts)
			require.Equal(t, 500, *ds[0].LastStatusCode)
			require.WithinDuration(t, f.clock.Now().Add(5*time.Second), *ds[0].NextAttemptAt, time.Millisecond)
			require.NotNil(t, f.subscriptionRow(t, sub.ID).FailingSince)

			n, err = d.RunOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "not due before its time")

			f.clock.Advance(5 * time.Second)
			_, err = d.RunOnce(ctx)
			require.NoError(t, err)
			ds = f.deliveries(t)
			require.Equal(t, 2, ds[0].Attempts)
			require.WithinDuration(t, f.clock.Now().Add(5*time.Minute), *ds[0].NextAttemptAt, time.Millisecond)

			f.clock.Advance(5 * time.Minute)
			_, err = d.RunOnce(ctx)
			require.NoError(t, err)
			ds = f.deliveries(t)
			require.Equal(t, DeliveryDelivered, ds[0].Status)
			require.Equal(t, 3, ds[0].Attempts)
			require.NotNil(t, ds[0].DeliveredAt)
			require.Nil(t, ds[0].NextAttemptAt)
			require.Nil(t, f.subscriptionRow(t, sub.ID).FailingSince, "a success ends the failing period")

			got := rcv.all()
			require.Len(t, got, 3)
			signer, err := NewSigner(sub.Secret)
			require.NoError(t, err)
			for _, r := range got {
				h := r.Header
				require.Equal(t, ds[0].EventID.String(), h.Get("webhook-id"), "the same id on every attempt")
				require.True(t, signer.Verify(h.Get("webhook-id"), h.Get("webhook-timestamp"), r.Body, h.Get("webhook-signature")))
				legacy, err := signer.SignLegacy(h.Get("X-DataFlow-Timestamp"), r.Body)
				require.NoError(t, err)
				require.Equal(t, legacy, h.Get("X-DataFlow-Signature"))
				require.Equal(t, "batch.completed", h.Get("X-DataFlow-Event"))
				require.Equal(t, "application/json", h.Get("Content-Type"))
				require.True(t, strings.HasPrefix(h.Get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-"))
				ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
				require.NoError(t, err)
				require.InDelta(t, time.Now().Unix(), ts, 60)
			}
		})
	}
}

func TestDeliveryGoneDisablesSubscription(t *testing.T) {
	for _, eng := range dbtest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			f := newFixture(t, eng)
			rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
			sub := f.subscribe(t, rcv.URL)
			f.finish(t, "Completed")
			f.finish(t, "Failed")
			d := f.deliverer(DelivererConfig{AllowInsecure: true, Parallel: 1})

			_, err := d.RunOnce(context.Background())
			require.NoError(t, err)
			require.Len(t, rcv.all(), 1, "the second delivery is cancelled, not sent")

			row := f.subscriptionRow(t, sub.ID)
			require.False(t, row.IsActive)
			require.NotNil(t, row.DisabledAt)
			require.Contains(t, *row.DisabledReason, "410")

			statuses := map[string]int{}
			for _, d := range f.deliveries(t) {
				statuses[d.Status]++
			}
			require.Equal(t, map[string]int{DeliveryFailed: 1, DeliveryCancelled: 1}, statuses)

			// New events of the client skip the disabled subscription.
			f.finish(t, "Completed")
			require.Len(t, f.deliveries(t), 2)
		})
	}
}

func TestDeliveryHonoursRetryAfterAndGivesUp(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "600")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	f.subscribe(t, rcv.URL)
	f.finish(t, "Completed")
	d := f.deliverer(DelivererConfig{AllowInsecure: true, Schedule: []time.Duration{5 * time.Second}})

	_, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	ds := f.deliveries(t)
	require.WithinDuration(t, f.clock.Now().Add(10*time.Minute), *ds[0].NextAttemptAt, time.Millisecond,
		"Retry-After pushes the attempt past the schedule's 5s")

	f.clock.Advance(10 * time.Minute)
	_, err = d.RunOnce(context.Background())
	require.NoError(t, err)
	ds = f.deliveries(t)
	require.Equal(t, DeliveryFailed, ds[0].Status, "the schedule is used up")
	require.Equal(t, 2, ds[0].Attempts)
	require.Nil(t, ds[0].NextAttemptAt)
}

func TestDeliveryDisablesAfterDaysOfFailures(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	sub := f.subscribe(t, rcv.URL)
	f.finish(t, "Completed")
	d := f.deliverer(DelivererConfig{AllowInsecure: true, DisableAfter: time.Hour,
		Schedule: []time.Duration{40 * time.Minute, 40 * time.Minute, 40 * time.Minute}})

	for range 2 {
		_, err := d.RunOnce(context.Background())
		require.NoError(t, err)
		require.True(t, f.subscriptionRow(t, sub.ID).IsActive)
		f.clock.Advance(40 * time.Minute)
	}

	_, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	row := f.subscriptionRow(t, sub.ID)
	require.False(t, row.IsActive, "failing for 80 minutes passes the one-hour limit")
	require.Contains(t, *row.DisabledReason, "Webhooks:DisableAfterDays")
	require.Equal(t, DeliveryCancelled, f.deliveries(t)[0].Status)
}

func TestDeliveryTimeoutAndRedirect(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newReceiver(t, func(_ int, w http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		w.WriteHeader(http.StatusOK)
	})
	redirect := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	f.subscribe(t, slow.URL)
	f.subscribe(t, redirect.URL)
	f.finish(t, "Completed")
	d := f.deliverer(DelivererConfig{AllowInsecure: true, Timeout: 300 * time.Millisecond})

	_, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	errs := map[string]bool{}
	for _, d := range f.deliveries(t) {
		require.Equal(t, DeliveryPending, d.Status)
		errs[*d.LastError] = true
	}
	require.Contains(t, errs, "timed out: no response within 300ms (Webhooks:TimeoutSeconds)")
	require.Contains(t, errs, "the endpoint responded with 302; redirects are not followed, so subscribe the final URL")
	require.Len(t, redirect.all(), 1)
}

func TestDeliveryRefusesBlockedAddressesAtSendTime(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	rcv := newReceiver(t, nil)
	port := rcv.Listener.Addr().String()[strings.LastIndex(rcv.Listener.Addr().String(), ":"):]
	// Rows the API would refuse, as the .NET service may have written them.
	f.subscribe(t, "https://127.0.0.1"+port+"/hook")
	f.subscribe(t, "https://localhost"+port+"/hook")
	f.subscribe(t, rcv.URL+"/plain-http")
	f.finish(t, "Completed")

	_, err := f.deliverer(DelivererConfig{}).RunOnce(context.Background())
	require.NoError(t, err)
	require.Empty(t, rcv.all(), "nothing reaches the loopback receiver")
	for _, d := range f.deliveries(t) {
		require.Equal(t, DeliveryPending, d.Status)
		require.Nil(t, d.LastStatusCode)
		require.True(t, strings.HasPrefix(*d.LastError, "webhook target refused"), *d.LastError)
	}
}

func TestDeliveryClaimsAreExclusive(t *testing.T) {
	for _, eng := range dbtest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			f := newFixture(t, eng)
			rcv := newReceiver(t, nil)
			f.subscribe(t, rcv.URL)
			for range 20 {
				f.finish(t, "Completed")
			}

			var wg sync.WaitGroup
			for range 3 {
				d := f.deliverer(DelivererConfig{AllowInsecure: true})
				wg.Go(func() {
					_, err := d.RunOnce(context.Background())
					require.NoError(t, err)
				})
			}
			wg.Wait()

			ids := map[string]int{}
			for _, r := range rcv.all() {
				ids[r.Header.Get("webhook-id")]++
			}
			require.Len(t, ids, 20)
			for id, n := range ids {
				require.Equal(t, 1, n, "event %s sent once", id)
			}
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	require.Equal(t, 2*time.Minute, parseRetryAfter("120", now))
	require.Equal(t, time.Duration(0), parseRetryAfter("-3", now))
	require.Equal(t, time.Duration(0), parseRetryAfter("soon", now))
	require.Equal(t, maxRetryAfter, parseRetryAfter("999999", now))
	require.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
}

// TestDeliveryAfterAbandonedClaim stands for a worker killed while it
// sends: its claim blocks the delivery until it expires, and then another
// worker sends it with the same webhook-id.
func TestDeliveryAfterAbandonedClaim(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	rcv := newReceiver(t, nil)
	f.subscribe(t, rcv.URL)
	f.finish(t, "Completed")
	d := f.deliverer(DelivererConfig{AllowInsecure: true})

	ds := f.deliveries(t)
	ok, err := f.store.claim(context.Background(), ds[0].ID, "dead-worker", f.clock.Now().Add(d.claimFor()))
	require.NoError(t, err)
	require.True(t, ok)

	n, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, n, "a live claim is respected")

	f.clock.Advance(d.claimFor() + time.Second)
	n, err = d.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, DeliveryDelivered, f.deliveries(t)[0].Status)
	require.Equal(t, ds[0].EventID.String(), rcv.all()[0].Header.Get("webhook-id"))
}

// TestDeliverySlowEndpointDoesNotBlockOthers keeps one endpoint from
// responding while it has a backlog: another subscription still gets its
// event, and the slow one never has more than two requests in flight.
func TestDeliverySlowEndpointDoesNotBlockOthers(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	slow, release, most := newBlockingReceiver(t)
	f.subscribe(t, slow.URL, EventCompleted)
	for range 12 {
		f.finish(t, "Completed")
	}
	fast := newReceiver(t, nil)
	f.subscribe(t, fast.URL, EventFailed)
	f.finish(t, "Failed")

	d := f.deliverer(DelivererConfig{AllowInsecure: true})
	result := make(chan error, 1)
	go func() {
		_, err := d.RunOnce(context.Background())
		result <- err
	}()

	require.Eventually(t, func() bool { return len(fast.all()) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the fast endpoint is served while the slow one holds its requests")
	close(release)
	require.NoError(t, <-result)
	require.Len(t, slow.all(), 12)
	require.LessOrEqual(t, most(), perSubscription)
}

func TestSubscriptionLimitUnderConcurrency(t *testing.T) {
	for _, eng := range dbtest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			f := newFixture(t, eng)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Go(func() {
					_, err := f.store.CreateSubscription(context.Background(), f.clientID,
						"https://crm.example.com/hook/"+strconv.Itoa(i), nil, 10)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)

			created, refused := 0, 0
			for err := range errs {
				switch {
				case err == nil:
					created++
				case errors.Is(err, ErrTooManySubscriptions):
					refused++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 10, created)
			require.Equal(t, 10, refused)
		})
	}
}

// TestDeliveryClientWithManySlowEndpoints gives one client five slow
// subscriptions: it gets at most half of the slots, so another client's
// event is still sent.
func TestDeliveryClientWithManySlowEndpoints(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	other, err := clients.NewStore(f.db, f.clock.Now).AddClient(context.Background(), "beta", "Beta", clients.GenerateSecret())
	require.NoError(t, err)

	slow, release, most := newBlockingReceiver(t)
	for i := range 5 {
		_, err := f.store.CreateSubscription(context.Background(), other.ID, slow.URL+"/"+strconv.Itoa(i), nil, 0)
		require.NoError(t, err)
	}
	for range 4 {
		e := imports.BatchFinished{BatchID: database.NewUUID(), ClientID: other.ID, Status: "Completed", CompletedAt: f.clock.Now()}
		require.NoError(t, f.db.Transaction(func(tx *gorm.DB) error { return f.store.Enqueue(tx, e) }))
	}
	fast := newReceiver(t, nil)
	f.subscribe(t, fast.URL)
	f.finish(t, "Completed")

	d := f.deliverer(DelivererConfig{AllowInsecure: true})
	result := make(chan error, 1)
	go func() {
		_, err := d.RunOnce(context.Background())
		result <- err
	}()

	require.Eventually(t, func() bool { return len(fast.all()) == 1 }, 10*time.Second, 10*time.Millisecond)
	close(release)
	require.NoError(t, <-result)
	require.Len(t, slow.all(), 20)
	require.LessOrEqual(t, most(), d.perClient())
}

func TestDuplicateOfLegacyRow(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	// A row of the .NET service, stored as typed.
	f.subscribe(t, "https://Legacy.example.com:443/hook")

	_, err := f.store.CreateSubscription(context.Background(), f.clientID, "https://legacy.example.com/hook", nil, 0)
	require.ErrorIs(t, err, ErrDuplicateURL)
}

func TestRedeliverOnlyOnceWhileWaiting(t *testing.T) {
	f := newFixture(t, dbtest.Engines()[0])
	sub := f.subscribe(t, "https://crm.example.com/hook")
	f.finish(t, "Completed")
	first := f.deliveries(t)[0]

	_, err := f.store.Redeliver(context.Background(), sub.ID, first.ID)
	require.ErrorIs(t, err, ErrRedeliveryPending, "the first delivery still waits")

	require.NoError(t, f.db.Model(&Delivery{}).Where(f.db.Render("{Id} = ?"), first.ID).Update("Status", DeliveryFailed).Error)
	_, err = f.store.Redeliver(context.Background(), sub.ID, first.ID)
	require.NoError(t, err)
	_, err = f.store.Redeliver(context.Background(), sub.ID, first.ID)
	require.ErrorIs(t, err, ErrRedeliveryPending)
	require.Len(t, f.deliveries(t), 2)
}

func TestJSONProblem(t *testing.T) {
	decode := func(body string) string {
		var req createRequest
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		return jsonProblem(dec.Decode(&req))
	}

	require.Equal(t, `the field "url" must be a string, not a JSON number`, decode(`{"url": 5}`))
	require.Equal(t, `unknown field "secret"`, decode(`{"secret": "x"}`))
	require.Equal(t, "invalid JSON at byte 2", decode(`{,}`))
	require.Equal(t, "the body is empty", decode(``))
}

// newBlockingReceiver returns a receiver that holds every request until
// release is closed, and a function that returns the most requests it
// held at once.
func newBlockingReceiver(t *testing.T) (*receiver, chan struct{}, func() int) {
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, most := 0, 0
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()

		<-release

		mu.Lock()
		inFlight--
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})

	return rcv, release, func() int {
		mu.Lock()
		defer mu.Unlock()

		return most
	}
}
