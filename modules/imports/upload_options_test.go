package imports_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// uploadPart posts content in a file part with the given Content-Disposition
// file name (none when empty) and the extra fields.
func uploadPart(t *testing.T, url, partFileName string, fields map[string]string, content []byte) (*http.Response, map[string]any) {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(t, form.WriteField(k, v))
	}

	disposition := `form-data; name="file"`
	if partFileName != "" {
		disposition += `; filename="` + partFileName + `"`
	}

	part, err := form.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disposition}})
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

func TestUploadFormats(t *testing.T) {
	srv := setupAPI(t)

	t.Run("csv part without a file name", func(t *testing.T) {
		resp, body := uploadPart(t, srv.URL, "", nil, []byte("phone;name\n1;Ana\n"))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
	})

	t.Run("long part file name is cut, not rejected", func(t *testing.T) {
		resp, body := uploadPart(t, srv.URL, strings.Repeat("a", 300)+".csv", nil, []byte("phone\n1\n"))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", body)
	})

	t.Run("old excel file", func(t *testing.T) {
		resp, body := uploadPart(t, srv.URL, "leads.xls", nil, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "unsupported_file_type", body["code"])
		require.Contains(t, body["message"], ".xlsx")
	})

	t.Run("json name with csv content", func(t *testing.T) {
		resp, body := uploadPart(t, srv.URL, "leads.json", nil, []byte("phone;name\n1;Ana\n"))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Equal(t, "invalid_file", body["code"])
	})
}

func TestUploadOptions(t *testing.T) {
	srv := setupAPI(t)
	csv := []byte("phone;name\n1;Ana\n")

	for _, tc := range []struct {
		name   string
		fields map[string]string
		status int
		code   string
	}{
		{"all options", map[string]string{"delimiter": "semicolon", "encoding": "windows-1252", "requiredFields": "phone, name", "dedupKey": "phone"}, http.StatusAccepted, ""},
		{"empty options turn checks off", map[string]string{"requiredFields": "", "dedupKey": ""}, http.StatusAccepted, ""},
		{"tab delimiter by name", map[string]string{"delimiter": "TAB"}, http.StatusAccepted, ""},
		{"unknown delimiter", map[string]string{"delimiter": "#"}, http.StatusBadRequest, "invalid_delimiter"},
		{"unknown encoding", map[string]string{"encoding": "klingon"}, http.StatusBadRequest, "invalid_encoding"},
		{"replacement encoding", map[string]string{"encoding": "replacement"}, http.StatusBadRequest, "invalid_encoding"},
		{"two dedup keys", map[string]string{"dedupKey": "phone,email"}, http.StatusBadRequest, "invalid_field_name"},
		{"empty part in a name", map[string]string{"requiredFields": "a..b"}, http.StatusBadRequest, "invalid_field_name"},
		{"lone dot", map[string]string{"dedupKey": "."}, http.StatusBadRequest, "invalid_field_name"},
		{"sheet name too long", map[string]string{"sheet": strings.Repeat("s", 32)}, http.StatusBadRequest, "field_too_long"},
		{"nul in an option", map[string]string{"dedupKey": "a\x00b"}, http.StatusBadRequest, "invalid_field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{"allowDuplicate": "true"}
			for k, v := range tc.fields {
				fields[k] = v
			}

			resp, body := uploadPart(t, srv.URL, "leads.csv", fields, csv)
			require.Equal(t, tc.status, resp.StatusCode, "%v", body)
			if tc.code != "" {
				require.Equal(t, tc.code, body["code"])
			}
		})
	}
}
