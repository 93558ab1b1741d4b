package cmd_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
)

// hookReceiver is a client's webhook endpoint on 127.0.0.1. It checks both
// signature schemes with its own HMAC code and responds with the status the test chooses.
type hookReceiver struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	secret string
	calls  []hookCall
	answer func(n int) int
}

type hookCall struct {
	header   http.Header
	body     []byte
	verified bool
}

func newHookReceiver(t *testing.T, answer func(n int) int) *hookReceiver {
	r := &hookReceiver{t: t, answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		call := hookCall{header: req.Header.Clone(), body: body, verified: r.verify(req.Header, body)}
		r.calls = append(r.calls, call)
		n := len(r.calls)
		r.mu.Unlock()

		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)

	return r
}

// verify checks webhook-signature (Standard Webhooks) and
// X-DataFlow-Signature (hex HMAC of timestamp.body) against the secret.
func (r *hookReceiver) verify(h http.Header, body []byte) bool {
	if r.secret == "" {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if err != nil {
		return false
	}

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	standard := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	mac = hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("X-DataFlow-Timestamp") + "."))
	mac.Write(body)
	legacy := hex.EncodeToString(mac.Sum(nil))

	return h.Get("webhook-signature") == standard && h.Get("X-DataFlow-Signature") == legacy &&
		h.Get("webhook-timestamp") == h.Get("X-DataFlow-Timestamp")
}

func (r *hookReceiver) setSecret(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = secret
}

func (r *hookReceiver) all() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]hookCall(nil), r.calls...)
}

func (r *hookReceiver) waitFor(t *testing.T, n int, timeout time.Duration) []hookCall {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if calls := r.all(); len(calls) >= n {
			return calls
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the receiver got %d webhook calls, want %d", len(r.all()), n)

	return nil
}

// subscribe creates a subscription through the API and returns its id.
func (s *stack) subscribe(t *testing.T, client credentials, body string) map[string]any {
	t.Helper()

	req, err := http.NewRequest(http.MethodPost, s.apiURL+"/webhooks", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp := s.send(t, req, &client)
	require.Equal(t, http.StatusCreated, resp.status, string(resp.body))

	var sub map[string]any
	require.NoError(t, json.Unmarshal(resp.body, &sub))

	return sub
}

func (s *stack) getJSON(t *testing.T, client credentials, path string) (int, map[string]any) {
	t.Helper()

	req, err := http.NewRequest(http.MethodGet, s.apiURL+path, nil)
	require.NoError(t, err)
	resp := s.send(t, req, &client)

	var out map[string]any
	_ = json.Unmarshal(resp.body, &out)

	return resp.status, out
}

var webhookEnv = []string{
	"Webhooks__AllowInsecureTargets=true",
	"Webhooks__RetrySchedule=300ms,300ms,300ms",
	"Webhooks__PollInterval=100ms",
	"Webhooks__TimeoutSeconds=2",
}

// TestE2EWebhooks subscribes through the API, runs a batch and follows the
// event through two failed attempts to its delivery.
func TestE2EWebhooks(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		rcv := newHookReceiver(t, func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		s := newStack(t, db, stackOptions{env: webhookEnv})

		sub := s.subscribe(t, clientAlpha, `{"url": "`+rcv.URL+`/hooks"}`)
		secret, _ := sub["secret"].(string)
		require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret is shown at creation")
		rcv.setSecret(secret)
		subID := sub["id"].(string)

		status, listed := s.getJSON(t, clientAlpha, "/webhooks")
		require.Equal(t, http.StatusOK, status)
		require.NotContains(t, mustJSON(t, listed), secret, "the secret is never listed")
		status, _ = s.getJSON(t, clientBeta, "/webhooks/"+subID)
		require.Equal(t, http.StatusNotFound, status, "another client cannot see the subscription")

		content, leads := generateLeads(t, 120, importtest.GenerateOptions{Seed: 5})
		accepted := s.upload(t, clientAlpha, "leads.json", content)
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
		require.Equal(t, "Completed", final.Status)

		calls := rcv.waitFor(t, 3, 30*time.Second)
		for _, c := range calls {
			require.True(t, c.verified, "both signatures verify")
			require.Equal(t, calls[0].header.Get("webhook-id"), c.header.Get("webhook-id"), "retries keep the webhook-id")
			require.Equal(t, "batch.completed", c.header.Get("X-DataFlow-Event"))
		}

		var event struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal(calls[2].body, &event))
		require.Equal(t, "batch.completed", event.Type)
		require.Equal(t, accepted.BatchID, event.Data["batchId"])
		require.InDelta(t, 120, event.Data["importedRecords"], 0)
		require.NotNil(t, event.Data["durationSeconds"])
		traceID, _ := event.Data["traceId"].(string)
		require.Len(t, traceID, 32)
		require.Contains(t, calls[2].header.Get("traceparent"), traceID)
		for _, lead := range leads[:5] {
			for _, v := range lead {
				if text, ok := v.(string); ok && len(text) > 6 {
					require.NotContains(t, string(calls[2].body), text, "no lead data in the event")
				}
			}
		}

		// The delivery log shows the three attempts.
		require.Eventually(t, func() bool {
			_, log := s.getJSON(t, clientAlpha, "/webhooks/"+subID+"/deliveries")
			items, _ := log["items"].([]any)
			if len(items) != 1 {
				return false
			}
			d := items[0].(map[string]any)
			return d["status"] == "Delivered" && d["attempts"] == float64(3)
		}, 10*time.Second, 100*time.Millisecond)

		// Redeliver sends the same event again.
		_, log := s.getJSON(t, clientAlpha, "/webhooks/"+subID+"/deliveries")
		deliveryID := log["items"].([]any)[0].(map[string]any)["id"].(string)
		req, err := http.NewRequest(http.MethodPost, s.apiURL+"/webhooks/"+subID+"/deliveries/"+deliveryID+"/redeliver", nil)
		require.NoError(t, err)
		resp := s.send(t, req, &clientAlpha)
		require.Equal(t, http.StatusAccepted, resp.status, string(resp.body))
		calls = rcv.waitFor(t, 4, 15*time.Second)
		require.Equal(t, calls[0].header.Get("webhook-id"), calls[3].header.Get("webhook-id"))

		worker := scrape(t, "http://"+workerMetricsAddress(t, s)+"/metrics")
		require.Contains(t, worker, `dataflow_webhook_deliveries_total{client="e2e-alpha",event="batch.completed",result="retry"} 2`)
		require.Contains(t, worker, `dataflow_webhook_deliveries_total{client="e2e-alpha",event="batch.completed",result="delivered"} 2`)
		require.Contains(t, worker, `dataflow_webhook_failures_total{client="e2e-alpha",reason="503"} 2`)

		// Deleting the subscription removes it and its log.
		req, err = http.NewRequest(http.MethodDelete, s.apiURL+"/webhooks/"+subID, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, s.send(t, req, &clientAlpha).status)
		status, _ = s.getJSON(t, clientAlpha, "/webhooks/"+subID+"/deliveries")
		require.Equal(t, http.StatusNotFound, status)
	})
}

// TestE2EWebhookOutboxSurvivesKill kills the worker after the batch's
// final status is committed and before the event is sent: a new worker
// sends it.
func TestE2EWebhookOutboxSurvivesKill(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		rcv := newHookReceiver(t, nil)
		// The first worker looks for due deliveries only when it starts,
		// so the event waits in the outbox when it is killed.
		s := newStack(t, db, stackOptions{env: append(append([]string(nil), webhookEnv...), "Webhooks__PollInterval=1h")})
		sub := s.subscribe(t, clientAlpha, `{"url": "`+rcv.URL+`/hooks", "events": ["batch.completed", "batch.failed"]}`)
		rcv.setSecret(sub["secret"].(string))

		content, _ := generateLeads(t, 50, importtest.GenerateOptions{Seed: 9})
		accepted := s.upload(t, clientAlpha, "leads.json", content)
		final, _ := s.waitForBatch(t, clientAlpha, accepted.BatchID)
		require.Equal(t, "Completed", final.Status)

		require.NoError(t, s.worker.cmd.Process.Kill())
		require.True(t, s.worker.waitExit(10*time.Second))
		require.Empty(t, rcv.all(), "nothing was sent before the kill")
		require.EqualValues(t, 1, s.count(t, `SELECT COUNT(*) FROM "WebhookDeliveries" WHERE "Status" = 'Pending'`))

		env := append(append([]string(nil), s.env...), "Webhooks__PollInterval=100ms")
		next := startProcess(t, "work-2", s.workDir, env, "--config-dir", s.configDir, "work")
		next.waitForOutput(t, "worker started", readyTimeout)

		calls := rcv.waitFor(t, 1, 20*time.Second)
		require.True(t, calls[0].verified)
		time.Sleep(500 * time.Millisecond)
		require.Len(t, rcv.all(), 1, "sent once")
		require.EqualValues(t, 1, s.count(t, `SELECT COUNT(*) FROM "WebhookDeliveries" WHERE "Status" = 'Delivered'`))
	})
}

// TestE2EWebhookTargets checks the URLs the API refuses without
// Webhooks:AllowInsecureTargets, in both languages.
func TestE2EWebhookTargets(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	s := newStack(t, newSQLiteDatabase(t), stackOptions{deferWorker: true})
	for _, target := range []string{
		"http://crm.example.com/hook", "https://127.0.0.1/hook", "https://10.0.0.8/hook",
		"https://169.254.169.254/latest/meta-data", "https://localhost:8443/hook", "https://[::1]/hook",
	} {
		req, err := http.NewRequest(http.MethodPost, s.apiURL+"/webhooks", bytes.NewBufferString(`{"url": "`+target+`"}`))
		require.NoError(t, err)
		req.Header.Set("Accept-Language", "pt-BR")
		resp := s.send(t, req, &clientAlpha)
		require.Equal(t, http.StatusBadRequest, resp.status, target)
		e := resp.apiError(t)
		require.Equal(t, "invalid_webhook_url", e.Code, target)
		require.Contains(t, e.Message, "não pode receber webhooks")
	}

	req, err := http.NewRequest(http.MethodPost, s.apiURL+"/webhooks", bytes.NewBufferString(`{"url": "https://crm.example.com/hook", "events": ["batch.exploded"]}`))
	require.NoError(t, err)
	resp := s.send(t, req, &clientAlpha)
	require.Equal(t, http.StatusBadRequest, resp.status)
	require.Equal(t, "invalid_event_type", resp.apiError(t).Code)

	s.subscribe(t, clientAlpha, `{"url": "https://crm.example.com/hook"}`)
	req, err = http.NewRequest(http.MethodPost, s.apiURL+"/webhooks", bytes.NewBufferString(`{"url": "https://crm.example.com/hook"}`))
	require.NoError(t, err)
	resp = s.send(t, req, &clientAlpha)
	require.Equal(t, http.StatusConflict, resp.status)
}

// count runs a COUNT query on the stack's database.
func (s *stack) count(t *testing.T, query string) int64 {
	t.Helper()

	var n int64
	require.NoError(t, s.sqlDB.QueryRow(query).Scan(&n))

	return n
}

// workerMetricsAddress returns the address the worker's metrics listener
// logged.
func workerMetricsAddress(t *testing.T, s *stack) string {
	t.Helper()

	m := regexp.MustCompile(`"address":"([^"]+)"[^\n]*"message":"worker: serving metrics"`).FindStringSubmatch(s.worker.output.String())
	require.NotNil(t, m, "the worker did not log its metrics address")

	return m[1]
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()

	b, err := json.Marshal(v)
	require.NoError(t, err)

	return string(b)
}

// TestWebhookCommands drives `dataflow webhook add|list|remove`.
func TestWebhookCommands(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	s := newStack(t, newSQLiteDatabase(t), stackOptions{deferWorker: true})
	run := func(args ...string) commandResult {
		return runDataflow(t, s.workDir, s.env, commandTimeout, append([]string{"--config-dir", s.configDir, "webhook"}, args...)...)
	}

	added := run("add", "--client", "e2e-alpha", "--url", "https://crm.example.com/hooks", "--event", "batch.failed", "--json")
	require.Equal(t, 0, added.exitCode, added.stderr)
	var sub map[string]any
	require.NoError(t, json.Unmarshal([]byte(added.stdout), &sub))
	secret := sub["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"))
	require.NotContains(t, added.stderr, secret, "the secret is not logged")

	listed := run("list", "--client", "e2e-alpha")
	require.Equal(t, 0, listed.exitCode, listed.stderr)
	require.Contains(t, listed.stdout, "https://crm.example.com/hooks")
	require.Contains(t, listed.stdout, "batch.failed")
	require.NotContains(t, listed.stdout, secret)

	status, api := s.getJSON(t, clientAlpha, "/webhooks")
	require.Equal(t, http.StatusOK, status)
	require.Len(t, api["items"], 1, "the client sees the operator's subscription")

	for _, bad := range [][]string{
		{"add", "--client", "nobody", "--url", "https://crm.example.com/x"},
		{"add", "--client", "e2e-alpha", "--url", "http://crm.example.com/x"},
		{"add", "--client", "e2e-alpha", "--url", "https://crm.example.com/y", "--event", "batch.exploded"},
		{"remove", "--client", "e2e-alpha", "--id", "not-a-uuid"},
	} {
		result := run(bad...)
		require.NotEqual(t, 0, result.exitCode, "%v", bad)
		require.NotEmpty(t, result.stderr)
	}

	removed := run("remove", "--client", "e2e-alpha", "--id", sub["id"].(string))
	require.Equal(t, 0, removed.exitCode, removed.stderr)
	again := run("remove", "--client", "e2e-alpha", "--id", sub["id"].(string))
	require.NotEqual(t, 0, again.exitCode)
	require.Contains(t, again.stderr, "has no webhook subscription")
}
