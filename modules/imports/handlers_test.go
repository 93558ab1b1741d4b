package imports_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/kernel"
	"github.com/dataflow/dataflow/platform/storage"
)

const apiSecret = "handler-test-secret-Qw3$"

func setupAPI(t *testing.T) *httptest.Server {
	t.Helper()

	srv, _ := setupAPIWith(t, func(*config.Settings) {})

	return srv
}

func setupAPIWith(t *testing.T, adjust func(*config.Settings)) (*httptest.Server, *storage.Store) {
	t.Helper()

	conn := dbtest.OpenSQLite(t)
	dbtest.Migrate(t, conn, db.Migrations())

	settings := config.Defaults()
	settings.ImportStorage.MaxFileSizeMb = 1
	settings.ClientSeed.Clients = []config.SeedClient{{Name: "API", ClientIdentifier: "api", Secret: apiSecret}}
	adjust(settings)

	files, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	k := &kernel.Kernel{Settings: settings, Log: zerolog.New(zerolog.NewTestWriter(t)), DB: conn, Storage: files, Now: time.Now}
	clientsModule := clients.New()
	require.NoError(t, k.Register(clientsModule, imports.New(clientsModule.Middleware(), nil, nil)))
	require.NoError(t, k.Seed(context.Background()))

	srv := httptest.NewServer(k.HTTPServer().Echo)
	t.Cleanup(srv.Close)

	return srv, files
}

func upload(t *testing.T, url string, fields map[string]string, content []byte) (*http.Response, map[string]any) {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(t, form.WriteField(k, v))
	}

	part, err := form.CreateFormFile("file", "leads.json")
	require.NoError(t, err)
	_, _ = part.Write(content)
	require.NoError(t, form.Close())

	req, err := http.NewRequest(http.MethodPost, url+"/imports", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("X-Client-Id", "api")
	req.Header.Set("X-Client-Secret", apiSecret)

	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)

	return resp, out
}

func TestImportsAPI(t *testing.T) {
	srv := setupAPI(t)

	t.Run("accepts a json array", func(t *testing.T) {
		resp, body := upload(t, srv.URL, map[string]string{"originDefault": "site"}, []byte(`[{"a":1}]`))
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		require.Equal(t, "Pending", body["status"])
		require.Equal(t, body["location"], resp.Header.Get("Location"))
	})

	t.Run("utf-16 with a bom is accepted", func(t *testing.T) {
		resp, body := upload(t, srv.URL, nil, []byte("\xff\xfe[\x00]\x00"))
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		require.Equal(t, "Pending", body["status"])
	})

	t.Run("utf-16 without a bom is named at upload", func(t *testing.T) {
		resp, body := upload(t, srv.URL, nil, []byte("[\x00{\x00}\x00]\x00"))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "invalid_encoding", body["code"])
	})

	t.Run("nul byte in a field is a 400", func(t *testing.T) {
		resp, body := upload(t, srv.URL, map[string]string{"requestedBy": "a\x00b"}, []byte(`[{"a":1}]`))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "invalid_field", body["code"])
		require.Equal(t, "requestedBy", body["field"])
	})

	t.Run("invalid utf-8 in a field is a 400", func(t *testing.T) {
		resp, body := upload(t, srv.URL, map[string]string{"originDefault": "\xff\xfe"}, []byte(`[{"a":1}]`))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "invalid_field", body["code"])
	})

	t.Run("file over the limit is a 413", func(t *testing.T) {
		resp, body := upload(t, srv.URL, nil, bytes.Repeat([]byte(" "), 2<<20))
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		require.Equal(t, "file_too_large", body["code"])
		require.EqualValues(t, 1, body["maxFileSizeMb"])
	})

	t.Run("declared length over the limit is refused unread", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))

		// Headers only: the server must respond without waiting for the body.
		_, err = fmt.Fprintf(conn, "POST /imports HTTP/1.1\r\nHost: test\r\nX-Client-Id: api\r\nX-Client-Secret: %s\r\n"+
			"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000000000\r\n\r\n", apiSecret)
		require.NoError(t, err)

		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	})

	t.Run("wrong method is a 405", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{{http.MethodPut, "/imports"}, {http.MethodDelete, "/imports/x"}, {http.MethodGet, "/imports/x/cancel"}} {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			require.NoError(t, err)
			resp, body := do(t, req)
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, tc.method+" "+tc.path)
			require.Equal(t, "method_not_allowed", body["code"])
		}
	})
}

func TestUploadIdleTimeout(t *testing.T) {
	srv, files := setupAPIWith(t, func(s *config.Settings) { s.ImportStorage.UploadIdleTimeout = 300 * time.Millisecond })

	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))

	// The start of a file part, then silence.
	part := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.json\"\r\n\r\n[{\"a\":"
	_, err = fmt.Fprintf(conn, "POST /imports HTTP/1.1\r\nHost: test\r\nX-Client-Id: api\r\nX-Client-Secret: %s\r\n"+
		"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n%s", apiSecret, part)
	require.NoError(t, err)

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the server must answer a stalled upload")
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	entries, err := os.ReadDir(files.Base())
	require.NoError(t, err)
	require.Empty(t, entries, "the partial upload must be removed")
}
