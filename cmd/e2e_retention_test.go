package cmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

const e2eAdminKey = "e2e-admin-key-0123456789abcdef"

// purgeCounts is the 200 body of POST /admin/purge.
type purgeCounts struct {
	DeletedBatches int   `json:"deletedBatches"`
	DeletedItems   int64 `json:"deletedItems"`
	DeletedFolders int   `json:"deletedFolders"`
	Skipped        []struct {
		BatchID string `json:"batchId"`
		Reason  string `json:"reason"`
		Status  string `json:"status"`
	} `json:"skipped"`
}

// postPurge sends POST /admin/purge to apiURL, with X-Admin-Key when key
// is not empty.
func postPurge(t *testing.T, s *stack, apiURL, key, body string) apiResponse {
	t.Helper()

	request, err := http.NewRequest(http.MethodPost, apiURL+"/admin/purge", strings.NewReader(body))
	require.NoError(t, err)
	request.Header.Set("Content-Type", "application/json")
	if key != "" {
		request.Header.Set("X-Admin-Key", key)
	}

	return s.send(t, request, nil)
}

// itemCount counts the ImportItems rows of a batch.
func (s *stack) itemCount(t *testing.T, batchID string) int {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var n int
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM "ImportItems" WHERE "BatchId" = ?`), batchID).Scan(&n)
	require.NoError(t, err)

	return n
}

// leaveFolder writes a file into the batch's folder, as a worker that
// stopped before removing it would have left it.
func (s *stack) leaveFolder(t *testing.T, batchID string) string {
	t.Helper()

	dir := filepath.Join(s.storagePath, batchID)
	require.NoError(t, os.MkdirAll(dir, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "leads.json"), []byte(`[]`), 0o600))

	return dir
}

// finishedBatch uploads a small file and waits for its batch to finish.
func (s *stack) finishedBatch(t *testing.T, client credentials, seed uint64, records int) string {
	t.Helper()

	content, _ := generateLeads(t, records, importtest.GenerateOptions{Seed: seed})
	accepted := s.upload(t, client, "leads.json", content)
	status, _ := s.waitForBatch(t, client, accepted.BatchID)
	require.Equal(t, "Completed", status.Status)

	return accepted.BatchID
}

// waitForLogLine fails the test unless the process prints, within
// batchTimeout, one line that contains every part.
func waitForLogLine(t *testing.T, p *process, parts ...string) {
	t.Helper()

	deadline := time.Now().Add(batchTimeout)
	for {
		for _, line := range strings.Split(p.output.String(), "\n") {
			matched := true
			for _, part := range parts {
				matched = matched && strings.Contains(line, part)
			}

			if matched {
				return
			}
		}

		if time.Now().After(deadline) || p.hasExited() {
			t.Fatalf("%s printed no line with %q within %s", p.name, parts, batchTimeout)
		}

		time.Sleep(pollInterval)
	}
}

func TestE2EPurge(t *testing.T) {
	skipUnlessEndToEnd(t)

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{env: []string{"Admin__ApiKey=" + e2eAdminKey}})
		first := s.finishedBatch(t, clientAlpha, 61, 5)
		second := s.finishedBatch(t, clientBeta, 62, 4)
		require.Equal(t, 5, s.itemCount(t, first))
		firstDir := s.leaveFolder(t, first)

		t.Run("without Admin:ApiKey the endpoint is off", func(t *testing.T) {
			var env []string
			for _, v := range s.env {
				if !strings.HasPrefix(v, "Admin__ApiKey=") && !strings.HasPrefix(v, "Urls=") {
					env = append(env, v)
				}
			}

			url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
			serve := startProcess(t, "serve-without-key", s.workDir, append(env, "Urls="+url), "--config-dir", s.configDir, "serve")
			waitHealthy(t, serve, url)

			response := postPurge(t, s, url, e2eAdminKey, `{"batchIds":["`+first+`"]}`)
			require.Equal(t, http.StatusForbidden, response.status, "%s", response.body)
			body := response.apiError(t)
			assert.Equal(t, "endpoint_disabled", body.Code)
			assert.Contains(t, body.Message, "Admin:ApiKey")
		})

		t.Run("a wrong key gets 401 and deletes nothing", func(t *testing.T) {
			for _, key := range []string{"", "not-the-key"} {
				response := postPurge(t, s, s.apiURL, key, `{"batchIds":["`+first+`"]}`)
				require.Equal(t, http.StatusUnauthorized, response.status, "key %q: %s", key, response.body)
				assert.Equal(t, "invalid_key", response.apiError(t).Code)
			}

			assert.Equal(t, http.StatusOK, s.getBatch(t, &clientAlpha, first, nil).status)
			assert.DirExists(t, firstDir)
		})

		t.Run("the right key deletes the batch, its items and its files", func(t *testing.T) {
			response := postPurge(t, s, s.apiURL, e2eAdminKey, `{"batchIds":["`+first+`"]}`)
			require.Equal(t, http.StatusOK, response.status, "%s", response.body)

			var counts purgeCounts
			require.NoError(t, json.Unmarshal(response.body, &counts))
			assert.Equal(t, 1, counts.DeletedBatches)
			assert.Equal(t, int64(5), counts.DeletedItems)
			assert.Equal(t, 1, counts.DeletedFolders)
			assert.Empty(t, counts.Skipped)

			assert.Equal(t, http.StatusNotFound, s.getBatch(t, &clientAlpha, first, nil).status)
			assert.Zero(t, s.itemCount(t, first))
			assert.NoDirExists(t, firstDir)
			assert.Equal(t, http.StatusOK, s.getBatch(t, &clientBeta, second, nil).status, "another batch is left alone")
		})

		t.Run("dataflow purge lists, then deletes", func(t *testing.T) {
			base := []string{"--config-dir", s.configDir, "purge"}

			invalid := runDataflow(t, s.workDir, s.env, commandTimeout, base...)
			assert.Equal(t, 1, invalid.exitCode)
			assert.Contains(t, invalid.stderr, "--batch-id")

			dryRun := runDataflow(t, s.workDir, s.env, commandTimeout, append(base, "--older-than-days", "0", "--dry-run")...)
			require.Equal(t, 0, dryRun.exitCode, "stderr:\n%s", dryRun.stderr)
			assert.Contains(t, dryRun.stdout, "CLIENT")
			assert.Contains(t, dryRun.stdout, second)
			assert.Contains(t, dryRun.stdout, clientBeta.id, "the dry run names the client by its identifier")
			assert.Contains(t, dryRun.stdout, "dry run: would delete 1 batch, 4 items and 0 folders")
			assert.Equal(t, http.StatusOK, s.getBatch(t, &clientBeta, second, nil).status, "a dry run deletes nothing")

			// Spaces around an id are trimmed, as the endpoint does.
			purge := runDataflow(t, s.workDir, s.env, commandTimeout, append(base, "--batch-id", " "+second+" ", "--batch-id", first, "--json")...)
			require.Equal(t, 0, purge.exitCode, "stderr:\n%s", purge.stderr)

			var counts purgeCounts
			require.NoError(t, json.Unmarshal([]byte(purge.stdout), &counts), "stdout: %s", purge.stdout)
			assert.Equal(t, 1, counts.DeletedBatches)
			assert.Equal(t, int64(4), counts.DeletedItems)
			require.Len(t, counts.Skipped, 1)
			assert.Equal(t, first, counts.Skipped[0].BatchID)
			assert.Equal(t, "not_found", counts.Skipped[0].Reason)
			assert.Equal(t, http.StatusNotFound, s.getBatch(t, &clientBeta, second, nil).status)
			assert.Zero(t, s.itemCount(t, second))
		})

		t.Run("dataflow purge counts one batch in the singular", func(t *testing.T) {
			third := s.finishedBatch(t, clientAlpha, 63, 1)

			purge := runDataflow(t, s.workDir, s.env, commandTimeout, "--config-dir", s.configDir, "purge", "--batch-id", third)
			require.Equal(t, 0, purge.exitCode, "stderr:\n%s", purge.stderr)
			assert.Contains(t, purge.stdout, "deleted 1 batch, 1 item and 0 folders")
		})
	})
}

func TestE2ERetentionJob(t *testing.T) {
	skipUnlessEndToEnd(t)

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{env: []string{
			"DataRetention__EnableCleanup=true",
			"DataRetention__BatchRetentionDays=1",
			// 36 seconds, the lowest value the setting accepts, so the
			// first run comes after about 36 seconds.
			"DataRetention__CheckIntervalHours=0.01",
		}})
		old := s.finishedBatch(t, clientAlpha, 71, 3)
		recent := s.finishedBatch(t, clientBeta, 72, 2)
		ended := time.Now().UTC().Add(-49 * time.Hour)
		require.EqualValues(t, 1, s.exec(t, `UPDATE "ImportBatches" SET "CompletedAt" = ? WHERE "Id" = ?`, ended, old))

		orphan := filepath.Join(s.storagePath, "9d3c1a52-7f0e-4b6a-9c41-2e8d5f7a0b13")
		require.NoError(t, os.MkdirAll(orphan, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(orphan, "leads.csv"), []byte("phoneNumber\n1\n"), 0o600))
		longAgo := time.Now().Add(-3 * time.Hour)
		require.NoError(t, os.Chtimes(filepath.Join(orphan, "leads.csv"), longAgo, longAgo))
		require.NoError(t, os.Chtimes(orphan, longAgo, longAgo))
		fresh := filepath.Join(s.storagePath, "5b7e2f10-3c4d-4e8f-a1b2-c3d4e5f60718")
		require.NoError(t, os.MkdirAll(fresh, 0o750))

		waitForLogLine(t, s.worker, "retention: deleted batch", `"batch_id":"`+old+`"`, `"client_identifier":"`+clientAlpha.id+`"`)
		waitForLogLine(t, s.worker, "retention: removed a folder without a batch", `"batch_id":"9d3c1a52-7f0e-4b6a-9c41-2e8d5f7a0b13"`)

		assert.Equal(t, http.StatusNotFound, s.getBatch(t, &clientAlpha, old, nil).status)
		assert.Zero(t, s.itemCount(t, old))
		assert.NoDirExists(t, orphan)
		assert.DirExists(t, fresh, "a folder changed within the last hour may be an upload in progress")
		assert.Equal(t, http.StatusOK, s.getBatch(t, &clientBeta, recent, nil).status)
		assert.Equal(t, 2, s.itemCount(t, recent))
	})
}
