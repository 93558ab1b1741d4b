package cmd_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

// TestE2EHappyPath uploads 1,200 leads and follows them through the worker
// to the stand-in, the database and the storage folder.
func TestE2EHappyPath(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const total = 1200
		const chunkSize = 100
		const originDefault = "e2e-origin"

		s := newStack(t, db, stackOptions{chunkSize: chunkSize})
		content, fileRecords := generateLeads(t, total, importtest.GenerateOptions{Seed: 11, MissingOriginEvery: 7})

		start := time.Now()
		accepted := s.upload(t, clientAlpha, "leads.json", content, formPart{name: "originDefault", content: []byte(originDefault)})
		require.Equal(t, "Pending", accepted.Status)
		require.Equal(t, "/imports/"+accepted.BatchID, accepted.Location)

		final, progress := s.waitForBatch(t, clientAlpha, accepted.BatchID)
		t.Logf("batch %s ended %s after %s", accepted.BatchID, final.Status, time.Since(start).Round(time.Millisecond))

		sawPartialProgress := false
		for _, processed := range progress {
			require.LessOrEqual(t, processed, total, "processedRecords went past the total")
			if processed > 0 && processed < total {
				sawPartialProgress = true
			}
		}
		t.Logf("observed processedRecords values %v (partial progress seen: %t)", compactProgress(progress), sawPartialProgress)

		require.Equal(t, "Completed", final.Status, "errorSummary: %v", final.ErrorSummary)
		require.Equal(t, total, final.TotalRecords)
		require.Equal(t, total, final.ProcessedRecords)
		require.Equal(t, total, final.ImportedRecords)
		require.Equal(t, 0, final.FailedRecords)
		require.Equal(t, "leads.json", final.FileName)
		require.Equal(t, "Json", final.FileType)
		require.Equal(t, int64(len(content)), final.FileSizeBytes)
		require.NotNil(t, final.OriginDefault)
		require.Equal(t, originDefault, *final.OriginDefault)

		t.Run("stand-in received every record once", func(t *testing.T) {
			status, records := s.standInRecords(t, accepted.BatchID)
			require.Equal(t, http.StatusOK, status)
			require.Len(t, records, total)

			missingOrigin := 0
			for i, stored := range records {
				require.Equal(t, int64(i), stored.Sequence, "records must cover sequences 0..%d once each", total-1)

				expected := fileRecords[i]
				if _, ok := expected["origin"]; !ok {
					missingOrigin++
					expected["origin"] = originDefault
				}

				require.Equal(t, expected, decodeRecord(t, stored.Record), "record %d differs from the file", i)
			}

			require.Positive(t, missingOrigin, "the file must contain records without origin")

			batch, ok := s.standInStats(t).Batches[accepted.BatchID]
			require.True(t, ok, "the stand-in has no stats for batch %s", accepted.BatchID)
			require.Equal(t, int64(total), batch.DistinctSequences)
			require.Equal(t, int64(0), batch.DuplicateSequenceCount, "duplicates: %+v", batch.DuplicateSequences)
			require.Equal(t, int64(total), batch.RecordsReceived)
			require.Equal(t, int64(0), batch.IdempotencyReplays)
		})

		t.Run("chunks have fixed ids and idempotency keys", func(t *testing.T) {
			batch := s.standInStats(t).Batches[accepted.BatchID]
			require.Len(t, batch.Chunks, total/chunkSize)

			for i, chunk := range batch.Chunks {
				require.Equal(t, i+1, chunk.ChunkID)
				require.Equal(t, int64(i*chunkSize), chunk.Offset)
				require.Equal(t, chunkSize, chunk.Size)
				require.Equal(t, fmt.Sprintf("%s:%d", accepted.BatchID, i+1), chunk.IdempotencyKey)
				require.Equal(t, int64(1), chunk.TimesReceived, "chunk %d", chunk.ChunkID)
			}
		})

		t.Run("items are imported with lead ids", func(t *testing.T) {
			items := s.items(t, accepted.BatchID)
			require.Len(t, items, total)

			for i, item := range items {
				require.Equal(t, i, item.sequence)
				require.Equal(t, "Imported", item.status, "item %d", i)
				require.True(t, item.leadID.Valid, "item %d has no LeadId", i)
				require.NotEmpty(t, item.leadID.String, "item %d has an empty LeadId", i)
			}
		})

		t.Run("uploaded file is removed", func(t *testing.T) {
			_, err := os.Stat(filepath.Join(s.storagePath, accepted.BatchID))
			require.ErrorIs(t, err, fs.ErrNotExist)
		})
	})
}

// compactProgress drops repeated values so the log stays short.
func compactProgress(progress []int) []int {
	var out []int
	for _, value := range progress {
		if len(out) == 0 || out[len(out)-1] != value {
			out = append(out, value)
		}
	}

	return out
}

// TestE2ERecordRejections checks that records OmniFlow rejects end as item
// errors while the rest of the batch is imported.
func TestE2ERecordRejections(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const total = 1000

		s := newStack(t, db, stackOptions{standInArgs: []string{"--require-field", "phoneNumber"}})
		content, fileRecords := generateLeads(t, total, importtest.GenerateOptions{Seed: 12, MissingPhoneEvery: 10})

		withoutPhone := map[int]bool{}
		for i, record := range fileRecords {
			if _, ok := record["phoneNumber"]; !ok {
				withoutPhone[i] = true
			}
		}
		require.Len(t, withoutPhone, 100)

		accepted := s.upload(t, clientAlpha, "leads.json", content)
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)

		require.Equal(t, "CompletedWithErrors", final.Status)
		require.Equal(t, total, final.TotalRecords)
		require.Equal(t, total, final.ProcessedRecords)
		require.Equal(t, 100, final.FailedRecords)
		require.Equal(t, 900, final.ImportedRecords)
		require.NotNil(t, final.ErrorSummary)
		require.NotEmpty(t, *final.ErrorSummary)
		require.Contains(t, *final.ErrorSummary, "phoneNumber")

		items := s.items(t, accepted.BatchID)
		require.Len(t, items, total)

		for i, item := range items {
			require.Equal(t, i, item.sequence)
			if withoutPhone[i] {
				require.Equal(t, "Error", item.status, "item %d lacks phoneNumber", i)
				require.True(t, item.errorMessage.Valid, "item %d has no ErrorMessage", i)
				require.Contains(t, item.errorMessage.String, "phoneNumber", "item %d", i)

				continue
			}

			require.Equal(t, "Imported", item.status, "item %d", i)
			require.NotEmpty(t, item.leadID.String, "item %d has no LeadId", i)
		}

		status, records := s.standInRecords(t, accepted.BatchID)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, records, 900)
	})
}

// TestE2EOutageRecovery runs a batch through an OmniFlow outage that outlasts
// the retries of several claims, so the batch is paused and resumed.
func TestE2EOutageRecovery(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const total = 1000

		s := newStack(t, db, stackOptions{
			standInArgs: []string{"--fail-first", "8"},
			env:         []string{"ImportBatch__MaxRetries=1"},
		})
		content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 13})

		start := time.Now()
		accepted := s.upload(t, clientAlpha, "leads.json", content)
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
		t.Logf("batch %s ended %s after %s", accepted.BatchID, final.Status, time.Since(start).Round(time.Millisecond))

		require.Equal(t, "Completed", final.Status, "errorSummary: %v", final.ErrorSummary)
		require.Equal(t, total, final.TotalRecords)
		require.Equal(t, total, final.ProcessedRecords)
		require.Equal(t, total, final.ImportedRecords)
		require.Equal(t, 0, final.FailedRecords)

		row := s.batchRow(t, accepted.BatchID)
		require.Positive(t, row.pauseCount, "the batch must have been paused at least once")
		s.worker.waitForOutput(t, "batch paused", readyTimeout)

		status, records := s.standInRecords(t, accepted.BatchID)
		require.Equal(t, http.StatusOK, status)
		require.Len(t, records, total)
		for i, stored := range records {
			require.Equal(t, int64(i), stored.Sequence, "sequence %d is missing", i)
		}

		batch := s.standInStats(t).Batches[accepted.BatchID]
		require.Equal(t, int64(total), batch.DistinctSequences)
		require.GreaterOrEqual(t, batch.Requests, int64(8+total/100), "the 8 failed requests count for the batch")
		for _, duplicate := range batch.DuplicateSequences {
			require.Len(t, duplicate.IdempotencyKeys, 1,
				"sequence %d was delivered with different idempotency keys", duplicate.Sequence)
		}

		for _, chunk := range batch.Chunks {
			require.Equal(t, fmt.Sprintf("%s:%d", accepted.BatchID, chunk.ChunkID), chunk.IdempotencyKey)
		}

		items := s.items(t, accepted.BatchID)
		require.Len(t, items, total)
		for i, item := range items {
			require.Equal(t, "Imported", item.status, "item %d", i)
		}
	})
}

// TestE2EAuthentication checks that every authentication failure gets the
// same 401 and that a client cannot see another client's batch.
func TestE2EAuthentication(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		clientSuspended := credentials{id: "e2e-suspended", secret: "suspended-secret-0123456789ab"}
		s := newStack(t, db, stackOptions{deferWorker: true, env: seedEnvironment(2, clientSuspended)})

		// serve caches successful verifications, so the client is suspended
		// before it ever authenticates.
		suspended := s.exec(t, `UPDATE "Clients" SET "Status" = 'Suspended' WHERE "ClientIdentifier" = ?`, clientSuspended.id)
		require.Equal(t, int64(1), suspended)

		content, _ := generateLeads(t, 3, importtest.GenerateOptions{Seed: 14})
		accepted := s.upload(t, clientAlpha, "leads.json", content)

		noHeaders := s.getBatch(t, nil, accepted.BatchID, nil)
		require.Equal(t, http.StatusUnauthorized, noHeaders.status)
		require.Equal(t, "unauthorized", noHeaders.apiError(t).Code)
		require.NotEmpty(t, noHeaders.apiError(t).Message)

		t.Run("wrong secret", func(t *testing.T) {
			wrong := credentials{id: clientAlpha.id, secret: "not-the-secret-0123456789"}
			response := s.getBatch(t, &wrong, accepted.BatchID, nil)
			require.Equal(t, http.StatusUnauthorized, response.status)
			require.Equal(t, string(noHeaders.body), string(response.body))
		})

		t.Run("unknown client", func(t *testing.T) {
			unknown := credentials{id: "e2e-nobody", secret: "nobody-secret-0123456789"}
			response := s.getBatch(t, &unknown, accepted.BatchID, nil)
			require.Equal(t, http.StatusUnauthorized, response.status)
			require.Equal(t, string(noHeaders.body), string(response.body))
		})

		t.Run("suspended client", func(t *testing.T) {
			response := s.postMultipart(t, &clientSuspended, formPart{name: "file", fileName: "leads.json", content: content})
			require.Equal(t, http.StatusUnauthorized, response.status)
			require.Equal(t, string(noHeaders.body), string(response.body))
			s.serve.waitForOutput(t, "auth: client is not active", readyTimeout)
		})

		t.Run("another client's batch", func(t *testing.T) {
			response := s.getBatch(t, &clientBeta, accepted.BatchID, nil)
			require.Equal(t, http.StatusNotFound, response.status)
			require.Equal(t, "batch_not_found", response.apiError(t).Code)

			missing := s.getBatch(t, &clientBeta, "00000000-0000-4000-8000-000000000000", nil)
			require.Equal(t, http.StatusNotFound, missing.status)
			require.Equal(t, string(missing.body), string(response.body), "another client's batch must look missing")

			own := s.batchStatus(t, clientAlpha, accepted.BatchID)
			require.Equal(t, accepted.BatchID, own.BatchID)
		})

		for _, acceptLanguage := range []string{"pt-BR", "pt", "pt-BR,pt;q=0.9,en;q=0.5"} {
			t.Run("portuguese message for "+acceptLanguage, func(t *testing.T) {
				response := s.getBatch(t, nil, accepted.BatchID, http.Header{"Accept-Language": {acceptLanguage}})
				require.Equal(t, http.StatusUnauthorized, response.status)

				body := response.apiError(t)
				require.Equal(t, "unauthorized", body.Code)
				require.NotEqual(t, noHeaders.apiError(t).Message, body.Message)
				require.Contains(t, body.Message, "Credenciais")
				require.Equal(t, "pt-BR", response.header.Get("Content-Language"))
			})
		}
	})
}

// TestE2EBadInput checks the 400 responses of POST /imports, that a client's
// file name cannot leave the storage folder, and that a file with a syntax
// error fails without any record sent.
func TestE2EBadInput(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		// The worker starts only after the uploads, so the stored files can
		// be inspected before it removes them.
		s := newStack(t, db, stackOptions{deferWorker: true})
		leads, _ := generateLeads(t, 5, importtest.GenerateOptions{Seed: 15})

		rejected := []struct {
			name  string
			parts []formPart
			code  string
		}{
			{"empty file", []formPart{{name: "file", fileName: "leads.json"}}, "empty_file"},
			{"missing file field", []formPart{{name: "originDefault", content: []byte("x")}}, "missing_file"},
			{"json string file", []formPart{{name: "file", fileName: "leads.json", content: []byte(`"hello"`)}}, "invalid_file"},
			{"json number file", []formPart{{name: "file", fileName: "leads.json", content: []byte(`42`)}}, "invalid_file"},
			{"metadata not json", []formPart{
				{name: "file", fileName: "leads.json", content: leads},
				{name: "metadata", content: []byte("{not json")},
			}, "invalid_metadata"},
		}
		for _, tc := range rejected {
			t.Run(tc.name, func(t *testing.T) {
				response := s.postMultipart(t, &clientAlpha, tc.parts...)
				require.Equal(t, http.StatusBadRequest, response.status, "body %s", response.body)
				require.Equal(t, tc.code, response.apiError(t).Code)
			})
		}

		t.Run("json body", func(t *testing.T) {
			request, err := http.NewRequest(http.MethodPost, s.apiURL+"/imports", strings.NewReader(`[{"name":"a"}]`))
			require.NoError(t, err)
			request.Header.Set("Content-Type", "application/json")

			response := s.send(t, request, &clientAlpha)
			require.Equal(t, http.StatusBadRequest, response.status)
			require.Equal(t, "not_multipart", response.apiError(t).Code)
		})

		t.Run("rejected uploads leave no folder", func(t *testing.T) {
			entries, err := os.ReadDir(s.storagePath)
			require.NoError(t, err)
			for _, entry := range entries {
				require.True(t, strings.HasPrefix(entry.Name(), "."), "unexpected storage entry %s", entry.Name())
			}
		})

		traversal := s.upload(t, clientAlpha, "../../x.json", leads, formPart{name: "fileName", content: []byte("../../x.json")})
		truncated := s.upload(t, clientAlpha, "truncated.json", []byte(`[{"a":1},{"b":`))
		missingComma := s.upload(t, clientAlpha, "comma.json", []byte(`[{"a":1} {"b":2}]`))

		t.Run("file name stays inside the batch folder", func(t *testing.T) {
			batchDir := filepath.Join(s.storagePath, traversal.BatchID)
			row := s.batchRow(t, traversal.BatchID)
			require.Equal(t, batchDir, filepath.Dir(row.uploadPath), "UploadPath %s", row.uploadPath)
			require.FileExists(t, row.uploadPath)

			var found []string
			err := filepath.WalkDir(s.root, func(path string, entry fs.DirEntry, err error) error {
				if err != nil {
					return err
				}

				if entry.Name() == "x.json" {
					found = append(found, path)
				}

				return nil
			})
			require.NoError(t, err)
			require.Equal(t, []string{filepath.Join(batchDir, "x.json")}, found)

			status := s.batchStatus(t, clientAlpha, traversal.BatchID)
			require.Equal(t, "x.json", status.FileName)
		})

		s.startWorker(t)

		t.Run("traversal name batch completes", func(t *testing.T) {
			final, _ := s.waitForBatch(t, clientAlpha, traversal.BatchID)
			require.Equal(t, "Completed", final.Status, "errorSummary: %v", final.ErrorSummary)
			require.Equal(t, 5, final.ImportedRecords)
		})

		for name, batch := range map[string]uploadAccepted{"truncated": truncated, "missing comma": missingComma} {
			t.Run("invalid json fails "+name, func(t *testing.T) {
				final, _ := s.waitForBatch(t, clientAlpha, batch.BatchID)
				require.Equal(t, "Failed", final.Status)
				require.NotNil(t, final.ErrorSummary)
				require.Contains(t, *final.ErrorSummary, "byte offset")
				require.Equal(t, 0, final.ProcessedRecords)

				status, _ := s.standInRecords(t, batch.BatchID)
				require.Equal(t, http.StatusNotFound, status, "the stand-in must not know the batch")

				_, seen := s.standInStats(t).Batches[batch.BatchID]
				require.False(t, seen, "the stand-in received requests for the batch")

				require.Empty(t, s.items(t, batch.BatchID), "a failed file keeps no staged records")
			})
		}
	})
}

// TestE2EStartupErrors checks how serve and migrate fail when the storage
// folder or the database is unusable.
func TestE2EStartupErrors(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	root := t.TempDir()
	configDir := filepath.Join(root, "config")
	require.NoError(t, os.MkdirAll(configDir, 0o750))

	const password = "e2e-Pg-pa55word-Kx7"
	closedPostgres := "postgres://dataflow:" + password + "@127.0.0.1:1/dataflow?sslmode=disable"

	t.Run("storage under a regular file", func(t *testing.T) {
		t.Parallel()

		blocker := filepath.Join(t.TempDir(), "regular-file")
		require.NoError(t, os.WriteFile(blocker, []byte("not a folder"), 0o600))

		env := append([]string{
			"ConnectionStrings__DataFlow=" + filepath.Join(t.TempDir(), "dataflow.db"),
			"ImportStorage__BasePath=" + filepath.Join(blocker, "uploads"),
			"Urls=" + fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			"ApplyMigrationsOnStartup=true",
		}, seedEnvironment(0, clientAlpha)...)

		result := runDataflow(t, root, env, 10*time.Second, "--config-dir", configDir, "serve")
		require.NotEqual(t, 0, result.exitCode)
		require.Contains(t, result.stderr, "ImportStorage:BasePath")
	})

	t.Run("migrate with database down", func(t *testing.T) {
		t.Parallel()

		env := []string{"ConnectionStrings__DataFlow=" + closedPostgres}
		result := runDataflow(t, root, env, 30*time.Second, "--config-dir", configDir, "migrate", "up")
		require.NotEqual(t, 0, result.exitCode)
		require.Contains(t, result.stderr, "connecting to postgres database")
		require.Contains(t, result.stderr, "127.0.0.1")
		require.NotContains(t, result.stdout+result.stderr, password)
		t.Logf("migrate up failed after %s", result.elapsed.Round(time.Millisecond))
	})

	t.Run("serve waits for the database", func(t *testing.T) {
		t.Parallel()

		env := append([]string{
			"ConnectionStrings__DataFlow=" + closedPostgres,
			"ImportStorage__BasePath=" + filepath.Join(t.TempDir(), "uploads"),
			"Urls=" + fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		}, seedEnvironment(0, clientAlpha)...)

		serve := startProcess(t, "serve", root, env, "--config-dir", configDir, "serve")
		serve.waitForOutput(t, "retrying", readyTimeout)
		require.False(t, serve.waitExit(3*time.Second), "serve must keep retrying while the database is down")

		require.NoError(t, serve.cmd.Process.Signal(syscall.SIGTERM))
		require.True(t, serve.waitExit(stopTimeout), "serve did not exit within %s of SIGTERM", stopTimeout)

		output := serve.output.String()
		require.NotContains(t, output, password)

		require.Equal(t, 0, serve.exitCode(), "a stop requested with SIGTERM is not a failure; output:\n%s", output)
	})
}

// TestE2EGracefulShutdown sends SIGTERM to serve while an upload is in
// flight: the upload must still be accepted before serve exits.
func TestE2EGracefulShutdown(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{deferWorker: true})
		content, _ := generateLeads(t, 200, importtest.GenerateOptions{Seed: 16})
		half := len(content) / 2

		bodyReader, bodyWriter := io.Pipe()
		form := multipart.NewWriter(bodyWriter)

		request, err := http.NewRequest(http.MethodPost, s.apiURL+"/imports", bodyReader)
		require.NoError(t, err)
		request.Header.Set("Content-Type", form.FormDataContentType())
		request.Header.Set("X-Client-Id", clientAlpha.id)
		request.Header.Set("X-Client-Secret", clientAlpha.secret)

		type outcome struct {
			response apiResponse
			err      error
		}
		done := make(chan outcome, 1)
		go func() {
			response, err := httpClient.Do(request)
			if err != nil {
				done <- outcome{err: err}

				return
			}
			defer response.Body.Close()

			body, err := io.ReadAll(response.Body)
			done <- outcome{response: apiResponse{status: response.StatusCode, header: response.Header, body: body}, err: err}
		}()

		part, err := form.CreateFormFile("file", "slow.json")
		require.NoError(t, err)
		_, err = part.Write(content[:half])
		require.NoError(t, err)

		// The batch folder appears once serve reads the file part, so the
		// request is in its handler.
		waitUntil(t, "serve to create the batch folder", func() bool {
			entries, err := os.ReadDir(s.storagePath)
			if err != nil {
				return false
			}

			for _, entry := range entries {
				if entry.IsDir() {
					return true
				}
			}

			return false
		})

		require.NoError(t, s.serve.cmd.Process.Signal(syscall.SIGTERM))

		// A refused connection shows that serve closed its listener, so the
		// rest of the upload arrives during the shutdown.
		address := strings.TrimPrefix(s.apiURL, "http://")
		waitUntil(t, "serve to close its listener", func() bool {
			conn, err := net.DialTimeout("tcp", address, time.Second)
			if err != nil {
				return true
			}

			_ = conn.Close()

			return false
		})
		require.False(t, s.serve.hasExited(), "serve exited with the upload still in flight")

		_, err = part.Write(content[half:])
		require.NoError(t, err)
		require.NoError(t, form.Close())
		require.NoError(t, bodyWriter.Close())

		var result outcome
		select {
		case result = <-done:
		case <-time.After(httpTimeout):
			t.Fatalf("the in-flight upload got no response within %s", httpTimeout)
		}

		require.NoError(t, result.err)
		require.Equal(t, http.StatusAccepted, result.response.status, "body %s", result.response.body)

		var accepted uploadAccepted
		require.NoError(t, json.Unmarshal(result.response.body, &accepted))

		require.True(t, s.serve.waitExit(stopTimeout), "serve did not exit within %s of SIGTERM", stopTimeout)
		require.Equal(t, 0, s.serve.exitCode())

		row := s.batchRow(t, accepted.BatchID)
		stored, err := os.ReadFile(row.uploadPath)
		require.NoError(t, err)
		require.Equal(t, content, stored, "the stored file must be the whole upload")
	})
}

// waitUntil polls condition until it holds, failing the test after
// readyTimeout.
func waitUntil(t *testing.T, what string, condition func() bool) {
	t.Helper()

	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()

	for !condition() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", readyTimeout, what)
		case <-ticker.C:
		}
	}
}

// migrationLine matches one row of `migrate status`: version, name, and the
// applied time or "pending".
var migrationLine = regexp.MustCompile(`^(\d{4})\s+(.+?)\s+(pending|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z)$`)

// migrationStatus parses `migrate status` into version → applied.
func migrationStatus(t *testing.T, output string) ([]string, map[string]bool) {
	t.Helper()

	var versions []string
	applied := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(output), "\n") {
		match := migrationLine.FindStringSubmatch(strings.TrimSpace(line))
		if match == nil {
			continue
		}

		versions = append(versions, match[1])
		applied[match[1]] = match[3] != "pending"
	}

	require.NotEmpty(t, versions, "migrate status listed no migration:\n%s", output)

	return versions, applied
}

// TestE2EMigrateCommands runs migrate up, status and down as separate
// processes against a fresh database.
func TestE2EMigrateCommands(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		root := t.TempDir()
		configDir := filepath.Join(root, "config")
		require.NoError(t, os.MkdirAll(configDir, 0o750))

		env := []string{"ConnectionStrings__DataFlow=" + db.connectionString, "Database__Provider=" + db.provider}
		migrate := func(t *testing.T, args ...string) commandResult {
			t.Helper()

			result := runDataflow(t, root, env, commandTimeout, append([]string{"--config-dir", configDir, "migrate"}, args...)...)
			require.Equal(t, 0, result.exitCode, "migrate %s failed:\n%s", strings.Join(args, " "), result.stderr)

			return result
		}

		first := migrate(t, "up")
		require.Contains(t, first.stdout, "applied 0001")

		second := migrate(t, "up")
		require.Contains(t, second.stdout, "database is up to date")
		require.NotContains(t, second.stdout, "applied")

		versions, applied := migrationStatus(t, migrate(t, "status").stdout)
		for _, version := range versions {
			require.True(t, applied[version], "migration %s is pending after up", version)
			require.Contains(t, first.stdout, "applied "+version)
		}

		latest := versions[len(versions)-1]
		down := migrate(t, "down")
		require.Contains(t, down.stdout, "rolled back "+latest)

		_, applied = migrationStatus(t, migrate(t, "status").stdout)
		require.False(t, applied[latest], "migration %s is still applied after down", latest)
		for _, version := range versions[:len(versions)-1] {
			require.True(t, applied[version], "down must only roll back %s, but %s is pending", latest, version)
		}

		again := migrate(t, "up")
		require.Contains(t, again.stdout, "applied "+latest)

		_, applied = migrationStatus(t, migrate(t, "status").stdout)
		for _, version := range versions {
			require.True(t, applied[version], "migration %s is pending after the second up", version)
		}
	})
}

// TestE2EConfigHidesSecrets checks that printing the configuration masks the
// client secrets and the database password.
func TestE2EConfigHidesSecrets(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	root := t.TempDir()
	configDir := filepath.Join(root, "config")
	require.NoError(t, os.MkdirAll(configDir, 0o750))

	const secret = "e2e-Distinctive-Secret-Qw7Zx9"
	const password = "e2e-Distinctive-Pa55-Rt4Lm2"
	env := []string{
		"ConnectionStrings__DataFlow=postgres://dataflow:" + password + "@127.0.0.1:5432/dataflow?sslmode=disable",
		"ClientSeed__Clients__0__Name=Config test",
		"ClientSeed__Clients__0__ClientIdentifier=e2e-config",
		"ClientSeed__Clients__0__Secret=" + secret,
		"ImportStorage__BasePath=" + filepath.Join(root, "uploads"),
	}

	for _, args := range [][]string{{"config"}, {"serve", "--print-config"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			result := runDataflow(t, root, env, commandTimeout, append([]string{"--config-dir", configDir}, args...)...)
			require.Equal(t, 0, result.exitCode, "stderr:\n%s", result.stderr)

			output := result.stdout + result.stderr
			require.NotContains(t, output, secret)
			require.NotContains(t, output, password)
			require.Contains(t, result.stdout, "e2e-config", "the output must still show the client")
			require.Contains(t, result.stdout, "127.0.0.1:5432", "the output must still show the database host")
		})
	}
}
