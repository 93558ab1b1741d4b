package cmd_test

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

// TestE2EMetrics runs a batch and reads the metrics of serve and of the
// worker's own listener.
func TestE2EMetrics(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		s := newStack(t, db, stackOptions{})
		content, _ := generateLeads(t, 250, importtest.GenerateOptions{Seed: 77})
		accepted := s.upload(t, clientAlpha, "leads.json", content)
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
		require.Equal(t, "Completed", final.Status)

		address := regexp.MustCompile(`"address":"([^"]+)"[^\n]*"message":"worker: serving metrics"`).FindStringSubmatch(s.worker.output.String())
		require.NotNil(t, address, "the worker did not log its metrics address")

		worker := scrape(t, "http://"+address[1]+"/metrics")
		require.Contains(t, worker, `dataflow_batch_total{client="e2e-alpha",status="Completed"} 1`)
		require.Contains(t, worker, `dataflow_chunk_total{client="e2e-alpha"} 3`)
		require.Contains(t, worker, `dataflow_records_total{client="e2e-alpha",outcome="Imported"} 250`)
		require.Contains(t, worker, `dataflow_omniflow_requests_total{status="200"} 3`)
		require.Contains(t, worker, "dataflow_batch_duration_seconds_count")
		require.Contains(t, worker, "dataflow_batches_processing 0")
		require.NotContains(t, worker, accepted.BatchID, "batch ids must never be label values")
		require.Contains(t, worker, `dataflow_chunk_errors_total{client="e2e-beta"} 0`,
			"series of clients without events exist from the start, so their first error counts in rates")

		health, err := httpClient.Get("http://" + address[1] + "/health")
		require.NoError(t, err)
		_ = health.Body.Close()
		require.Equal(t, http.StatusOK, health.StatusCode)

		api := scrape(t, s.apiURL+"/metrics")
		require.Contains(t, api, `dataflow_http_requests_total{method="POST",route="/imports",status="202"} 1`)
		require.Contains(t, api, `route="/imports/:batchId"`)
		require.Contains(t, api, `dataflow_batches{status="Completed"} 1`)
		require.Contains(t, api, "dataflow_oldest_pending_batch_age_seconds 0")
		require.NotContains(t, api, accepted.BatchID)
		require.Contains(t, api, `dataflow_rate_limit_429_total{client="e2e-beta",reason="rate_limited"} 0`)
	})
}

func scrape(t *testing.T, url string) string {
	t.Helper()

	response, err := httpClient.Get(url)
	require.NoError(t, err)
	defer response.Body.Close()

	require.Equal(t, http.StatusOK, response.StatusCode)
	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	return string(body)
}
