package httpserver_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/httpserver"
)

func TestErrors(t *testing.T) {
	srv := httpserver.New(zerolog.Nop())
	teapot := httpserver.NewError(http.StatusConflict, "batch_conflict", "The batch conflicts.", "O lote está em conflito.")
	srv.Echo.GET("/api-error", func(echo.Context) error { return teapot.With("batchId", "b1") })
	srv.Echo.GET("/internal", func(echo.Context) error { return errors.New("database password=hunter2 failed") })
	srv.Echo.GET("/panic", func(echo.Context) error { panic("boom") })

	for _, tc := range []struct {
		name, path, language string
		status               int
		code, message        string
	}{
		{"english by default", "/api-error", "", http.StatusConflict, "batch_conflict", "The batch conflicts."},
		{"portuguese when preferred", "/api-error", "pt-BR,pt;q=0.9,en;q=0.5", http.StatusConflict, "batch_conflict", "O lote está em conflito."},
		{"english when preferred over portuguese", "/api-error", "en-US,pt;q=0.1", http.StatusConflict, "batch_conflict", "The batch conflicts."},
		{"internal errors hide their cause", "/internal", "", http.StatusInternalServerError, "internal_error", httpserver.ErrInternal.MessageEN},
		{"panics become 500", "/panic", "", http.StatusInternalServerError, "internal_error", httpserver.ErrInternal.MessageEN},
		{"unknown route", "/nope", "pt-BR", http.StatusNotFound, "not_found", httpserver.ErrNotFound.MessagePT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.language != "" {
				req.Header.Set("Accept-Language", tc.language)
			}

			rec := httptest.NewRecorder()
			srv.Echo.ServeHTTP(rec, req)

			require.Equal(t, tc.status, rec.Code)
			require.NotContains(t, rec.Body.String(), "hunter2")

			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, tc.code, body["code"])
			require.Equal(t, tc.message, body["message"])
		})
	}

	t.Run("details are part of the body", func(t *testing.T) {
		rec := httptest.NewRecorder()
		srv.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api-error", nil))
		require.Contains(t, rec.Body.String(), `"batchId":"b1"`)
	})
}
