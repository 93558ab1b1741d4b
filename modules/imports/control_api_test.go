package imports_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()

	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-Client-Id", "api")
	req.Header.Set("X-Client-Secret", apiSecret)

	return do(t, req)
}

func post(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()

	req, err := http.NewRequest(http.MethodPost, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-Client-Id", "api")
	req.Header.Set("X-Client-Secret", apiSecret)

	return do(t, req)
}

func TestDuplicateUpload(t *testing.T) {
	srv := setupAPI(t)
	content := []byte(`[{"phoneNumber":"1"}]`)

	resp, first := upload(t, srv.URL, nil, content)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	resp, body := upload(t, srv.URL, nil, content)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, "duplicate_upload", body["code"])
	require.Equal(t, first["batchId"], body["batchId"])
	require.Equal(t, "Pending", body["status"])

	metricsResp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	exposition, err := io.ReadAll(metricsResp.Body)
	require.NoError(t, err)
	_ = metricsResp.Body.Close()
	require.Contains(t, string(exposition), `dataflow_dedup_hit_total{client="api"}`)

	resp, body = upload(t, srv.URL, map[string]string{"allowDuplicate": "true"}, content)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
	require.NotEqual(t, first["batchId"], body["batchId"])

	resp, _ = upload(t, srv.URL, nil, []byte(`[{"phoneNumber":"2"}]`))
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "another file is not a duplicate")

	// A cancelled batch no longer blocks its file.
	resp, _ = post(t, fmt.Sprintf("%s/imports/%s/cancel", srv.URL, first["batchId"]))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCancelEndpoint(t *testing.T) {
	srv := setupAPI(t)

	resp, accepted := upload(t, srv.URL, nil, []byte(`[{"phoneNumber":"3"}]`))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	url := fmt.Sprintf("%s/imports/%s/cancel", srv.URL, accepted["batchId"])

	resp, body := post(t, url)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Cancelled", body["status"])
	require.Equal(t, true, body["cancelRequested"])

	resp, body = post(t, url)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, "batch_not_cancellable", body["code"])
	require.Equal(t, "Cancelled", body["status"])

	resp, _ = post(t, srv.URL+"/imports/00000000-0000-0000-0000-000000000000/cancel")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestListBatches(t *testing.T) {
	srv := setupAPI(t)

	var ids []string
	for i := range 5 {
		resp, body := upload(t, srv.URL, nil, []byte(fmt.Sprintf(`[{"phoneNumber":"%d"}]`, i)))
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		ids = append(ids, body["batchId"].(string))
	}

	resp, _ := post(t, fmt.Sprintf("%s/imports/%s/cancel", srv.URL, ids[1]))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		require.Less(t, page, 5, "pagination does not end")
		url := srv.URL + "/imports?limit=2"
		if cursor != "" {
			url += "&cursor=" + cursor
		}

		resp, body := get(t, url)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
		var listed struct {
			Items []struct {
				BatchID string `json:"batchId"`
			} `json:"items"`
			NextCursor *string `json:"nextCursor"`
		}
		raw, _ := json.Marshal(body)
		require.NoError(t, json.Unmarshal(raw, &listed))
		for _, it := range listed.Items {
			seen = append(seen, it.BatchID)
		}

		if listed.NextCursor == nil {
			break
		}

		cursor = *listed.NextCursor
	}

	require.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, seen, "newest first, each once")

	resp, body := get(t, srv.URL+"/imports?status=Cancelled")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, body["items"], 1)

	for _, query := range []string{"status=Done", "limit=0", "limit=501", "cursor=xyz", "createdFrom=yesterday"} {
		resp, _ := get(t, srv.URL+"/imports?"+query)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, query)
	}

	resp, body = get(t, srv.URL+"/imports?createdFrom=2999-01-01T00:00:00Z")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body["items"])
}

func TestDryRun(t *testing.T) {
	srv := setupAPI(t)
	content := []byte("[{\"phone\":\"1\"},{\"name\":\"no phone\"},{\"phone\":\"1\"},{\"phone\":\"2\"}]")

	resp, body := upload(t, srv.URL, map[string]string{"dryRun": "true", "requiredFields": "phone", "dedupKey": "phone"}, content)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
	require.Equal(t, true, body["dryRun"])
	require.Equal(t, false, body["valid"])
	require.EqualValues(t, 4, body["totalRecords"])
	require.EqualValues(t, 2, body["validRecords"])
	require.EqualValues(t, 1, body["errorRecords"])
	require.EqualValues(t, 1, body["skippedRecords"])
	require.Len(t, body["issues"], 2)
	require.Nil(t, body["fileError"])

	resp, body = get(t, srv.URL+"/imports")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, body["items"], "a dry run keeps no batch")

	resp, _ = upload(t, srv.URL, nil, content)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "a dry run does not count as an earlier upload")

	resp, body = postQuery(t, srv.URL+"/imports?validate=only", []byte(`[{"phone":"1"}, {"phone":`))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", body)
	require.Equal(t, false, body["valid"])
	require.Contains(t, body["fileError"], "truncated")
}

// postQuery uploads content as the file part to the full url given.
func postQuery(t *testing.T, url string, content []byte) (*http.Response, map[string]any) {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", "leads.json")
	require.NoError(t, err)
	_, _ = part.Write(content)
	require.NoError(t, form.Close())

	req, err := http.NewRequest(http.MethodPost, url, &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("X-Client-Id", "api")
	req.Header.Set("X-Client-Secret", apiSecret)

	return do(t, req)
}
