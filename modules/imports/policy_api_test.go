package imports_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/kernel"
	"github.com/dataflow/dataflow/platform/storage"
)

// setupPolicyAPI starts the API at a fixed time, with the client's own
// policy row, and returns its URL.
func setupPolicyAPI(t *testing.T, now time.Time, own clients.Policy, adjust func(*config.Settings)) string {
	t.Helper()

	conn := dbtest.OpenSQLite(t)
	dbtest.Migrate(t, conn, db.Migrations())

	settings := config.Defaults()
	settings.ClientSeed.Clients = []config.SeedClient{{Name: "API", ClientIdentifier: "api", Secret: apiSecret}}
	settings.Scheduling.TimeZone = "America/Sao_Paulo"
	adjust(settings)

	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	k := &kernel.Kernel{Settings: settings, Log: zerolog.New(zerolog.NewTestWriter(t)), DB: conn, Storage: files, Now: func() time.Time { return now }}
	clientsModule := clients.New()
	require.NoError(t, k.Register(clientsModule, imports.New(clientsModule.Middleware(), nil, nil)))
	require.NoError(t, k.Seed(context.Background()))

	var client clients.Client
	require.NoError(t, conn.Where(conn.Render("{ClientIdentifier} = ?"), "api").Take(&client).Error)
	own.ID = database.NewUUID()
	own.ClientID = &client.ID
	own.CreatedAt = now
	require.NoError(t, conn.Create(&own).Error)

	srv := httptest.NewServer(k.HTTPServer().Echo)
	t.Cleanup(srv.Close)

	return srv.URL
}

func ptr[T any](v T) *T { return &v }

func TestUploadPolicies(t *testing.T) {
	// 23:30 in São Paulo (UTC-3) on 2026-12-04.
	lateEvening := time.Date(2026, 12, 5, 2, 30, 0, 0, time.UTC)

	t.Run("outside the window the batch is scheduled", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{AllowedStartHour: ptr(8), AllowedEndHour: ptr(18)}, func(*config.Settings) {})

		resp, body := upload(t, url, nil, []byte(`[{"phone":"1"}]`))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
		require.Equal(t, "Scheduled", body["status"])
		require.Equal(t, "Scheduled", body["policyDecision"])
		require.Equal(t, "2026-12-05T11:00:00Z", body["scheduledFor"], "08:00 in São Paulo the next morning")

		resp, batch := get(t, url+"/imports/"+body["batchId"].(string))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, batch["policyReason"], "window")
	})

	t.Run("a window across midnight lets a late upload run now", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{AllowedStartHour: ptr(22), AllowedEndHour: ptr(6)}, func(*config.Settings) {})

		resp, body := upload(t, url, nil, []byte(`[{"phone":"1"}]`))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
		require.Equal(t, "Pending", body["status"])
		require.Nil(t, body["scheduledFor"])
	})

	t.Run("small files skip the window when only large ones must wait", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{AllowedStartHour: ptr(8), AllowedEndHour: ptr(18),
			RequireSchedulingForLarge: ptr(true), LargeThresholdMb: ptr(1)}, func(*config.Settings) {})

		resp, body := upload(t, url, nil, []byte(`[{"phone":"1"}]`))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
		require.Equal(t, "Pending", body["status"])
	})

	t.Run("the client's size limit replaces the global one", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{MaxFileSizeMb: ptr(1)}, func(s *config.Settings) { s.ImportStorage.MaxFileSizeMb = 100 })

		resp, body := upload(t, url, nil, make([]byte, 2<<20))
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.EqualValues(t, 1, body["maxFileSizeMb"])
	})

	t.Run("over the daily quota the batch waits for the next day", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{MaxBatchPerDay: ptr(2)}, func(*config.Settings) {})

		for i, want := range []string{"Pending", "Pending", "Scheduled"} {
			resp, body := upload(t, url, map[string]string{"allowDuplicate": "true"}, []byte(`[{"phone":"1"}]`))
			require.Equal(t, http.StatusAccepted, resp.StatusCode, "upload %d: %v", i, body)
			require.Equal(t, want, body["status"], "upload %d", i)
			if want == "Scheduled" {
				require.Equal(t, "2026-12-05T03:00:00Z", body["scheduledFor"], "midnight in São Paulo")
			}
		}
	})

	t.Run("over the daily quota with rejection configured", func(t *testing.T) {
		url := setupPolicyAPI(t, lateEvening, clients.Policy{MaxBatchPerDay: ptr(1)}, func(s *config.Settings) { s.Scheduling.RejectOverQuota = true })

		resp, _ := upload(t, url, nil, []byte(`[{"phone":"1"}]`))
		require.Equal(t, http.StatusAccepted, resp.StatusCode)

		resp, body := upload(t, url, map[string]string{"allowDuplicate": "true"}, []byte(`[{"phone":"1"}]`))
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "quota_exceeded", body["code"])
		require.Equal(t, "1800", resp.Header.Get("Retry-After"), "30 minutes to midnight in São Paulo")
	})
}

func TestUploadQuotaUnderConcurrency(t *testing.T) {
	lateEvening := time.Date(2026, 12, 5, 2, 30, 0, 0, time.UTC)
	url := setupPolicyAPI(t, lateEvening, clients.Policy{MaxBatchPerDay: ptr(2)}, func(*config.Settings) {})

	statuses := make(chan string, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := upload(t, url, nil, []byte(fmt.Sprintf(`[{"phone":"%d"}]`, i)))
			if resp.StatusCode != http.StatusAccepted {
				statuses <- fmt.Sprintf("HTTP %d", resp.StatusCode)

				return
			}

			statuses <- fmt.Sprintf("%s %v", body["status"], body["scheduledFor"])
		}()
	}
	wg.Wait()
	close(statuses)

	perDay := map[string]int{}
	for s := range statuses {
		perDay[s]++
	}

	require.Equal(t, map[string]int{
		"Pending <nil>":                  2,
		"Scheduled 2026-12-05T03:00:00Z": 2,
		"Scheduled 2026-12-06T03:00:00Z": 2,
		"Scheduled 2026-12-07T03:00:00Z": 2,
	}, perDay, "every day holds exactly its quota")
}
