package httpserver

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMethodLabel(t *testing.T) {
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		require.Equal(t, method, methodLabel(method))
	}

	for _, method := range []string{"XA1", "get", "PROPFIND", "", "GET "} {
		require.Equal(t, "other", methodLabel(method), "method %q", method)
	}
}

func TestSnakeCase(t *testing.T) {
	for name, want := range map[string]string{
		"batchId":     "batch_id",
		"webhookId":   "webhook_id",
		"deliveryId":  "delivery_id",
		"batchID":     "batch_id",
		"id":          "id",
		"HTTPRequest": "http_request",
		"chunk2Id":    "chunk2_id",
		"client_id":   "client_id",
	} {
		require.Equal(t, want, snakeCase(name), "name %q", name)
	}
}

func TestTruncateRunes(t *testing.T) {
	require.Equal(t, "abc", truncateRunes("abc", 64))
	require.Equal(t, "ab", truncateRunes("abc", 2))
	require.Equal(t, "éé", truncateRunes("ééé", 2), "multi-byte characters are kept whole")
	require.Empty(t, truncateRunes("abc", 0))
}
