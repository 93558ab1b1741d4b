package tracing

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// errMissingEquals is the error the exporter logs for a header entry
// without "=".
var errMissingEquals = errors.New("missing '=")

func fixedNow() func() time.Time {
	return func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
}

func TestSDKLogSinkDropsValues(t *testing.T) {
	var buf bytes.Buffer
	logger := newSDKLogger(zerolog.New(&buf), fixedNow())

	logger.Error(errMissingEquals, "parse headers", "input", "Authorization: Bearer "+secretToken)
	logger.V(1).Info("limit reached", "value", secretToken)
	logger.WithValues("key", secretToken).WithName("named").V(1).Info("with values")

	require.NotContains(t, buf.String(), secretToken)

	entries := requireJSONLines(t, buf.String())
	require.Len(t, entries, 3)
	require.Equal(t, map[string]any{
		"level": "warn", "sdk_message": "parse headers", "suppressed": float64(0),
		"error": errMissingEquals.Error(), "message": "tracing: OpenTelemetry SDK log",
	}, entries[0])
	require.Equal(t, "warn", entries[1]["level"])
	require.Equal(t, "limit reached", entries[1]["sdk_message"])
	require.Equal(t, "with values", entries[2]["sdk_message"])
}

func TestSDKLogSinkLevels(t *testing.T) {
	var buf bytes.Buffer
	logger := newSDKLogger(zerolog.New(&buf).Level(zerolog.DebugLevel), fixedNow())

	logger.V(4).Info("tracer created")
	logger.V(8).Info("exporting spans")

	entries := requireJSONLines(t, buf.String())
	require.Len(t, entries, 2)
	require.Equal(t, "debug", entries[0]["level"])
	require.Equal(t, "debug", entries[1]["level"])

	quiet := newSDKLogger(zerolog.New(&buf).Level(zerolog.InfoLevel), fixedNow())
	require.False(t, quiet.V(4).Enabled(), "SDK info messages are debug entries")
	require.True(t, quiet.V(1).Enabled(), "SDK warnings are warn entries")
}

func TestSDKLogSinkLimitsRepeats(t *testing.T) {
	var buf bytes.Buffer
	now := fixedNow()()
	logger := newSDKLogger(zerolog.New(&buf), func() time.Time { return now })

	for range 3 {
		logger.V(1).Info("limit reached: dropping trace Span attributes")
	}

	logger.V(1).Info("another message")
	require.Len(t, requireJSONLines(t, buf.String()), 2, "each message is limited on its own")

	now = now.Add(logInterval)
	logger.V(1).Info("limit reached: dropping trace Span attributes")

	entries := requireJSONLines(t, buf.String())
	require.Len(t, entries, 3)
	require.Equal(t, float64(2), entries[2]["suppressed"])
}
