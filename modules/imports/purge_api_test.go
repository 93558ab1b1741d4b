package imports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
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

const adminKey = "admin-key-0123456789abcdef"

// purgeAPI is a serve API on SQLite with one client.
type purgeAPI struct {
	url      string
	db       *database.DB
	files    *storage.Store
	clientID database.UUID
}

func setupPurgeAPI(t *testing.T, key string) *purgeAPI {
	t.Helper()

	conn := dbtest.OpenSQLite(t)
	dbtest.Migrate(t, conn, db.Migrations())

	settings := config.Defaults()
	settings.Admin.ApiKey = key
	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	k := &kernel.Kernel{Settings: settings, Log: zerolog.New(zerolog.NewTestWriter(t)), DB: conn, Storage: files, Now: time.Now}
	clientsModule := clients.New()
	require.NoError(t, k.Register(clientsModule, imports.New(clientsModule.Middleware(), nil, nil)))

	srv := httptest.NewServer(k.HTTPServer().Echo)
	t.Cleanup(srv.Close)

	client := clients.Client{ID: database.NewUUID(), Name: "Purge", ClientIdentifier: "purge", SecretHash: []byte{1}, SecretSalt: []byte{1},
		Status: clients.StatusActive, CreatedAt: time.Now().UTC()}
	require.NoError(t, conn.Create(&client).Error)

	return &purgeAPI{url: srv.URL, db: conn, files: files, clientID: client.ID}
}

// addBatch creates a batch that ended endedAgo ago (or is running, for
// statuses that are not final) with items and an upload folder.
func (a *purgeAPI) addBatch(t *testing.T, status string, endedAgo time.Duration, items int) imports.Batch {
	t.Helper()

	now := time.Now().UTC().Truncate(time.Microsecond)
	id := database.NewUUID()
	saved, err := a.files.Save(id.String(), "leads.csv", strings.NewReader("phoneNumber\n1\n"), 0)
	require.NoError(t, err)

	b := imports.Batch{ID: id, ClientID: a.clientID, Status: status, FileType: imports.FileTypeCSV, FileName: "leads.csv",
		UploadPath: saved.Path, PolicyDecision: imports.DecisionImmediate, CreatedAt: now.Add(-endedAgo - time.Hour)}
	if status != imports.StatusProcessing && status != imports.StatusPending {
		ended := now.Add(-endedAgo)
		b.CompletedAt = &ended
	}

	require.NoError(t, a.db.Create(&b).Error)
	for i := range items {
		require.NoError(t, a.db.Create(&imports.Item{BatchID: id, Sequence: i, PayloadJSON: "{}", Status: imports.ItemImported, CreatedAt: now}).Error)
	}

	return b
}

func (a *purgeAPI) batchExists(t *testing.T, id database.UUID) bool {
	t.Helper()

	var n int64
	require.NoError(t, a.db.Model(&imports.Batch{}).Where(`"Id" = ?`, id).Count(&n).Error)

	return n == 1
}

// postPurge sends POST /admin/purge with the key (none when empty) and
// returns the status, headers and decoded body.
func postPurge(t *testing.T, url, key, body string, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/admin/purge", bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Admin-Key", key)
	}

	for name, values := range header {
		req.Header[name] = values
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))

	return resp.StatusCode, resp.Header, out
}

func TestPurgeEndpointAuth(t *testing.T) {
	t.Run("without Admin:ApiKey the endpoint is off", func(t *testing.T) {
		api := setupPurgeAPI(t, "")
		batch := api.addBatch(t, imports.StatusCompleted, time.Hour, 1)

		status, _, body := postPurge(t, api.url, "anything", `{"batchIds":["`+batch.ID.String()+`"]}`, nil)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Equal(t, "endpoint_disabled", body["code"])
		assert.Contains(t, body["message"], "Admin:ApiKey")
		assert.Contains(t, body["message"], "Admin__ApiKey")
		assert.True(t, api.batchExists(t, batch.ID))
	})

	t.Run("a wrong or missing key gets 401", func(t *testing.T) {
		api := setupPurgeAPI(t, adminKey)
		batch := api.addBatch(t, imports.StatusCompleted, time.Hour, 1)
		body := `{"batchIds":["` + batch.ID.String() + `"]}`

		for _, key := range []string{"", "wrong", adminKey + "x", adminKey[:len(adminKey)-1]} {
			status, _, resp := postPurge(t, api.url, key, body, nil)
			assert.Equal(t, http.StatusUnauthorized, status, "key %q", key)
			assert.Equal(t, "invalid_key", resp["code"], "key %q", key)
			assert.Contains(t, resp["message"], "X-Admin-Key")
		}

		status, header, resp := postPurge(t, api.url, "wrong", body, http.Header{"Accept-Language": {"pt-BR,pt;q=0.9"}})
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "pt-BR", header.Get("Content-Language"))
		assert.Contains(t, resp["message"], "Chave ausente ou inválida")
		assert.True(t, api.batchExists(t, batch.ID))
	})

	t.Run("too many wrong keys get 429 even with the right key", func(t *testing.T) {
		api := setupPurgeAPI(t, adminKey)
		for range 10 {
			status, _, _ := postPurge(t, api.url, "wrong", `{"olderThanDays":1}`, nil)
			require.Equal(t, http.StatusUnauthorized, status)
		}

		status, header, body := postPurge(t, api.url, adminKey, `{"olderThanDays":1}`, nil)
		assert.Equal(t, http.StatusTooManyRequests, status)
		assert.Equal(t, "too_many_failed_attempts", body["code"])
		assert.NotEmpty(t, header.Get("Retry-After"))
	})
}

func TestPurgeEndpoint(t *testing.T) {
	api := setupPurgeAPI(t, adminKey)

	t.Run("deletes finished batches by id and reports the others", func(t *testing.T) {
		done := api.addBatch(t, imports.StatusCompleted, time.Hour, 3)
		running := api.addBatch(t, imports.StatusProcessing, 0, 2)
		missing := database.NewUUID()
		body := `{"batchIds":["` + done.ID.String() + `","` + running.ID.String() + `","` + missing.String() + `"]}`

		status, _, resp := postPurge(t, api.url, adminKey, body, nil)
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.EqualValues(t, 1, resp["deletedBatches"])
		assert.EqualValues(t, 3, resp["deletedItems"])
		assert.EqualValues(t, 1, resp["deletedFolders"])
		skipped, ok := resp["skipped"].([]any)
		require.True(t, ok, "skipped is %T", resp["skipped"])
		require.Len(t, skipped, 2)
		notFinished := skipped[0].(map[string]any)
		assert.Equal(t, running.ID.String(), notFinished["batchId"])
		assert.Equal(t, "not_finished", notFinished["reason"])
		assert.Equal(t, "Processing", notFinished["status"])
		assert.Contains(t, notFinished["message"], "has not finished")
		notFound := skipped[1].(map[string]any)
		assert.Equal(t, missing.String(), notFound["batchId"])
		assert.Equal(t, "not_found", notFound["reason"])

		assert.False(t, api.batchExists(t, done.ID))
		assert.NoDirExists(t, api.files.BatchDir(done.ID.String()))
		assert.True(t, api.batchExists(t, running.ID))
		assert.DirExists(t, api.files.BatchDir(running.ID.String()))
	})

	t.Run("deletes by age up to maxBatches", func(t *testing.T) {
		oldest := api.addBatch(t, imports.StatusFailed, 10*24*time.Hour, 1)
		older := api.addBatch(t, imports.StatusCancelled, 9*24*time.Hour, 0)
		young := api.addBatch(t, imports.StatusCompleted, 2*24*time.Hour, 0)

		status, _, resp := postPurge(t, api.url, adminKey, `{"olderThanDays":5,"maxBatches":1}`, nil)
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.EqualValues(t, 1, resp["deletedBatches"])
		assert.Equal(t, []any{}, resp["skipped"])
		assert.Equal(t, []any{}, resp["keptFiles"])
		assert.False(t, api.batchExists(t, oldest.ID))
		assert.True(t, api.batchExists(t, older.ID))

		status, _, resp = postPurge(t, api.url, adminKey, `{"olderThanDays":5}`, nil)
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.EqualValues(t, 1, resp["deletedBatches"])
		assert.False(t, api.batchExists(t, older.ID))
		assert.True(t, api.batchExists(t, young.ID))
	})

	t.Run("skip messages follow Accept-Language", func(t *testing.T) {
		running := api.addBatch(t, imports.StatusPending, 0, 0)

		status, header, resp := postPurge(t, api.url, adminKey, `{"batchIds":["`+running.ID.String()+`"]}`,
			http.Header{"Accept-Language": {"pt-BR"}})
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.Equal(t, "pt-BR", header.Get("Content-Language"))
		skipped := resp["skipped"].([]any)
		require.Len(t, skipped, 1)
		assert.Contains(t, skipped[0].(map[string]any)["message"], "não terminou")
	})

	t.Run("rejects invalid bodies naming the field", func(t *testing.T) {
		id := database.NewUUID().String()
		cases := []struct {
			name  string
			body  string
			code  string
			field string
		}{
			{"not JSON", `batchIds=1`, "invalid_body", "(body)"},
			{"unknown field", `{"batchIds":["` + id + `"],"dryRun":true}`, "invalid_body", "dryRun"},
			{"two objects", `{"olderThanDays":1}{"olderThanDays":2}`, "invalid_body", "(after the object)"},
			{"no mode", `{}`, "invalid_purge_mode", "(body)"},
			{"both modes", `{"batchIds":["` + id + `"],"olderThanDays":3}`, "invalid_purge_mode", "(body)"},
			{"maxBatches with ids", `{"batchIds":["` + id + `"],"maxBatches":3}`, "invalid_purge_mode", "maxBatches"},
			{"empty ids", `{"batchIds":[]}`, "invalid_batch_ids", "batchIds"},
			{"bad id", `{"batchIds":["` + id + `","batch-1"]}`, "invalid_batch_ids", "batchIds"},
			{"id of the wrong type", `{"batchIds":[42]}`, "invalid_batch_ids", "batchIds"},
			{"negative days", `{"olderThanDays":-1}`, "invalid_older_than_days", "olderThanDays"},
			{"too many days", `{"olderThanDays":36501}`, "invalid_older_than_days", "olderThanDays"},
			{"fractional days", `{"olderThanDays":1.5}`, "invalid_older_than_days", "olderThanDays"},
			{"days as text", `{"olderThanDays":"30"}`, "invalid_older_than_days", "olderThanDays"},
			{"zero maxBatches", `{"olderThanDays":1,"maxBatches":0}`, "invalid_max_batches", "maxBatches"},
			{"too many maxBatches", `{"olderThanDays":1,"maxBatches":10001}`, "invalid_max_batches", "maxBatches"},
		}

		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, _, resp := postPurge(t, api.url, adminKey, tc.body, nil)
				assert.Equal(t, http.StatusBadRequest, status, "%v", resp)
				assert.Equal(t, tc.code, resp["code"])
				if tc.field == "" {
					assert.NotContains(t, resp, "field")
				} else {
					assert.Equal(t, tc.field, resp["field"])
				}
			})
		}

		tooMany := make([]string, imports.MaxPurgeBatchIDs+1)
		for i := range tooMany {
			tooMany[i] = `"` + database.NewUUID().String() + `"`
		}

		status, _, resp := postPurge(t, api.url, adminKey, `{"batchIds":[`+strings.Join(tooMany, ",")+`]}`, nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_batch_ids", resp["code"])
	})

	t.Run("a value of the wrong type is sent back in value", func(t *testing.T) {
		id := database.NewUUID().String()
		long := strings.Repeat("x", 300)
		cases := []struct {
			name  string
			body  string
			code  string
			value any
		}{
			{"number among ids", `{"batchIds":["` + id + `",42,true]}`, "invalid_batch_ids", float64(42)},
			{"ids as one string", `{"batchIds":"` + id + `"}`, "invalid_batch_ids", id},
			{"key in another case", `{"BatchIds":{"id":1}}`, "invalid_batch_ids", map[string]any{"id": float64(1)}},
			{"days as text", `{"olderThanDays":"30"}`, "invalid_older_than_days", "30"},
			{"fractional maxBatches", `{"olderThanDays":1,"maxBatches":2.5}`, "invalid_max_batches", 2.5},
			{"long value cut", `{"batchIds":[{"note":"` + long + `"}]}`, "invalid_batch_ids", `{"note":"` + long[:191] + "..."},
		}

		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, _, resp := postPurge(t, api.url, adminKey, tc.body, nil)
				assert.Equal(t, http.StatusBadRequest, status, "%v", resp)
				assert.Equal(t, tc.code, resp["code"])
				assert.Equal(t, tc.value, resp["value"])
			})
		}
	})

	t.Run("invalid_purge_mode in Portuguese names the field", func(t *testing.T) {
		status, header, resp := postPurge(t, api.url, adminKey, `{}`, http.Header{"Accept-Language": {"pt-BR"}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "pt-BR", header.Get("Content-Language"))
		assert.Equal(t, "(body)", resp["field"])
		assert.Contains(t, resp["message"], `veja "field"`)
	})

	t.Run("a body over 1 MiB gets request_too_large with maxBytes", func(t *testing.T) {
		body := `{"batchIds":["` + strings.Repeat("a", 1<<20) + `"]}`
		for _, language := range []string{"en", "pt-BR"} {
			status, header, resp := postPurge(t, api.url, adminKey, body, http.Header{"Accept-Language": {language}})
			assert.Equal(t, http.StatusRequestEntityTooLarge, status)
			assert.Equal(t, language, header.Get("Content-Language"))
			assert.Equal(t, "request_too_large", resp["code"])
			assert.EqualValues(t, 1<<20, resp["maxBytes"])
			assert.Contains(t, resp["message"], "1 MiB")
		}
	})

	t.Run("reports an upload file outside the storage folder", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "leads.csv")
		require.NoError(t, os.WriteFile(outside, []byte("phoneNumber\n1\n"), 0o600))
		batch := api.addBatch(t, imports.StatusCompleted, time.Hour, 0)
		require.NoError(t, api.db.Model(&imports.Batch{}).Where(`"Id" = ?`, batch.ID).Update("UploadPath", outside).Error)

		status, _, resp := postPurge(t, api.url, adminKey, `{"batchIds":["`+batch.ID.String()+`"]}`, nil)
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.EqualValues(t, 1, resp["deletedBatches"])
		assert.Equal(t, []any{map[string]any{"batchId": batch.ID.String(), "path": outside}}, resp["keptFiles"])
		assert.FileExists(t, outside)
		assert.False(t, api.batchExists(t, batch.ID))
	})

	t.Run("leaves unrelated folders alone", func(t *testing.T) {
		other := filepath.Join(api.files.Base(), "keep-me")
		require.NoError(t, os.MkdirAll(other, 0o750))
		batch := api.addBatch(t, imports.StatusCompleted, time.Hour, 0)

		status, _, resp := postPurge(t, api.url, adminKey, `{"batchIds":["`+batch.ID.String()+`"]}`, nil)
		require.Equal(t, http.StatusOK, status, "%v", resp)
		assert.DirExists(t, other)
	})
}
