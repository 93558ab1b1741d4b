package httpserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/clock"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// keyServer serves GET /secret behind KeyAuth with the given key.
func keyServer(key string, clk *clock.Manual) *httpserver.Server {
	srv := httpserver.New(zerolog.Nop())
	auth := httpserver.KeyAuth(httpserver.KeyAuthConfig{
		Header: "X-Test-Key", Key: key, Setting: "Test:ApiKey", MaxFailures: 3, Log: zerolog.Nop(), Now: clk.Now,
	})
	srv.Echo.GET("/secret", func(c echo.Context) error { return c.String(http.StatusOK, "in") }, auth)

	return srv
}

// callSecret sends GET /secret from remote with the key, when not empty.
func callSecret(t *testing.T, srv *httpserver.Server, key, remote, language string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()

	req := httptest.NewRequest(http.MethodGet, "/secret", nil)
	req.RemoteAddr = remote + ":40000"
	if key != "" {
		req.Header.Set("X-Test-Key", key)
	}

	if language != "" {
		req.Header.Set("Accept-Language", language)
	}

	rec := httptest.NewRecorder()
	srv.Echo.ServeHTTP(rec, req)

	var body map[string]any
	if rec.Code != http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body %s", rec.Body)
	}

	return rec, body
}

func TestKeyAuth(t *testing.T) {
	const key = "test-key-0123456789"

	t.Run("an empty key turns the route off", func(t *testing.T) {
		srv := keyServer("", clock.NewManual(time.Now()))
		for _, sent := range []string{"", "anything"} {
			rec, body := callSecret(t, srv, sent, "192.0.2.1", "")
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.Equal(t, "endpoint_disabled", body["code"])
			assert.Contains(t, body["message"], "Test:ApiKey is empty")
			assert.Contains(t, body["message"], "Test__ApiKey")
		}

		rec, body := callSecret(t, srv, "", "192.0.2.1", "pt-BR")
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Contains(t, body["message"], "Test:ApiKey está vazio")
	})

	t.Run("admits only the exact key", func(t *testing.T) {
		srv := keyServer(key, clock.NewManual(time.Now()))
		rec, _ := callSecret(t, srv, key, "192.0.2.1", "")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "in", rec.Body.String())

		for i, sent := range []string{"", key[:len(key)-1], key + " ", "TEST-KEY-0123456789"} {
			// One address each, so the failure limit of 3 is not reached.
			rec, body := callSecret(t, srv, sent, fmt.Sprintf("198.51.100.%d", i+1), "")
			assert.Equal(t, http.StatusUnauthorized, rec.Code, "key %q", sent)
			assert.Equal(t, "invalid_key", body["code"], "key %q", sent)
			assert.Contains(t, body["message"], "X-Test-Key")
		}
	})

	t.Run("throttles an address with too many wrong keys", func(t *testing.T) {
		clk := clock.NewManual(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
		srv := keyServer(key, clk)
		for range 3 {
			rec, _ := callSecret(t, srv, "wrong", "192.0.2.3", "")
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}

		clk.Advance(20 * time.Second)
		rec, body := callSecret(t, srv, key, "192.0.2.3", "")
		assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the right key waits too")
		assert.Equal(t, "too_many_failed_attempts", body["code"])
		assert.Equal(t, "40", rec.Header().Get("Retry-After"))

		rec, _ = callSecret(t, srv, key, "192.0.2.4", "")
		assert.Equal(t, http.StatusOK, rec.Code, "another address is not throttled")

		clk.Advance(40 * time.Second)
		rec, _ = callSecret(t, srv, key, "192.0.2.3", "")
		assert.Equal(t, http.StatusOK, rec.Code, "the window has ended")
	})
}
