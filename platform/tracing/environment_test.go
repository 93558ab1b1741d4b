package tracing

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

const secretToken = "SUPERSECRETTOKEN"

// requireJSONLines fails unless every line of logs is a JSON object, and
// returns them decoded.
func requireJSONLines(t *testing.T, logs string) []map[string]any {
	t.Helper()

	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}

		entry := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "log line is not JSON: %s", line)
		entries = append(entries, entry)
	}

	return entries
}

// captureStandardLog sends the standard library logger, which the
// OpenTelemetry error handler uses until Setup replaces it, to a buffer for
// the rest of the test.
func captureStandardLog(t *testing.T) *syncBuffer {
	t.Helper()

	buf := &syncBuffer{}
	previous := log.Writer()
	log.SetOutput(buf)
	t.Cleanup(func() { log.SetOutput(previous) })

	return buf
}

func TestSetupRejectsInvalidHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
	}{
		{name: "colon instead of equals", value: "Authorization: Bearer " + secretToken},
		{name: "second entry without equals", value: "x-tenant=acme,Authorization: Bearer " + secretToken},
		{name: "space in key", value: "Authorization Bearer " + secretToken + "=x"},
		{name: "empty key", value: "=Bearer%20" + secretToken},
		{name: "invalid escape", value: "Authorization=Bearer%zz" + secretToken},
		{name: "trailing comma", value: "Authorization=Bearer%20" + secretToken + ","},
	} {
		for _, variable := range []string{envHeaders, envTracesHeaders} {
			t.Run(tc.name+" in "+variable, func(t *testing.T) {
				clearOTELEnvironment(t)
				standardLog := captureStandardLog(t)
				receiver := newOTLPReceiver(t, http.StatusOK)
				t.Setenv(envEndpoint, receiver.url)
				t.Setenv(variable, tc.value)

				logs := &syncBuffer{}
				_, err := Setup(context.Background(), "dataflow-test", zerolog.New(logs))
				require.Error(t, err)
				require.Contains(t, err.Error(), variable)
				require.Contains(t, err.Error(), "key=value")
				require.NotContains(t, err.Error(), secretToken)
				require.NotContains(t, logs.String(), secretToken)
				require.NotContains(t, standardLog.String(), secretToken)
			})
		}
	}
}

func TestSetupRejectsInvalidSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		variable string
		value    string
	}{
		{name: "negative queue size", env: map[string]string{envMaxQueueSize: "-5"}, variable: envMaxQueueSize, value: "-5"},
		{name: "negative batch size", env: map[string]string{envMaxExportBatchSize: "-1"}, variable: envMaxExportBatchSize, value: "-1"},
		{name: "zero queue size", env: map[string]string{envMaxQueueSize: "0"}, variable: envMaxQueueSize, value: "0"},
		{name: "queue size with spaces", env: map[string]string{envMaxQueueSize: " 100"}, variable: envMaxQueueSize, value: " 100"},
		{
			name:     "batch above default queue",
			env:      map[string]string{envMaxExportBatchSize: "4096"},
			variable: envMaxExportBatchSize, value: "4096",
		},
		{
			name:     "batch above queue",
			env:      map[string]string{envMaxQueueSize: "100", envMaxExportBatchSize: "200"},
			variable: envMaxExportBatchSize, value: "200",
		},
		{name: "schedule delay not a number", env: map[string]string{envScheduleDelay: "5s"}, variable: envScheduleDelay, value: "5s"},
		{name: "zero export timeout", env: map[string]string{envExportTimeout: "0"}, variable: envExportTimeout, value: "0"},
		{name: "negative exporter timeout", env: map[string]string{envTimeout: "-1"}, variable: envTimeout, value: "-1"},
		{name: "traces timeout with unit", env: map[string]string{envTracesTimeout: "10s"}, variable: envTracesTimeout, value: "10s"},
		{name: "unknown sampler", env: map[string]string{envSampler: "ratio"}, variable: envSampler, value: "ratio"},
		{
			name:     "ratio above one",
			env:      map[string]string{envSampler: "traceidratio", envSamplerArg: "1.5"},
			variable: envSamplerArg, value: "1.5",
		},
		{
			name:     "ratio not a number",
			env:      map[string]string{envSampler: "parentbased_traceidratio", envSamplerArg: "half"},
			variable: envSamplerArg, value: "half",
		},
		{
			name:     "ratio NaN",
			env:      map[string]string{envSampler: "traceidratio", envSamplerArg: "NaN"},
			variable: envSamplerArg, value: "NaN",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTELEnvironment(t)
			t.Setenv(envEndpoint, "http://127.0.0.1:1")
			for name, value := range tc.env {
				t.Setenv(name, value)
			}

			_, err := Setup(context.Background(), "dataflow-test", zerolog.Nop())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.variable)
			require.Contains(t, err.Error(), `"`+tc.value+`"`)
			require.Regexp(t, `such as|so lower the batch size|one of always_on, `, err.Error(), "the error must say how to fix the value")
		})
	}
}

func TestSetupReportsEveryInvalidSetting(t *testing.T) {
	clearOTELEnvironment(t)
	t.Setenv(envEndpoint, "http://127.0.0.1:1")
	t.Setenv(envMaxQueueSize, "-5")
	t.Setenv(envSampler, "sometimes")

	_, err := Setup(context.Background(), "dataflow-test", zerolog.Nop())
	require.Error(t, err)
	require.Contains(t, err.Error(), envMaxQueueSize)
	require.Contains(t, err.Error(), envSampler)
}

func TestSetupIgnoresSettingsWhenOff(t *testing.T) {
	clearOTELEnvironment(t)
	t.Setenv(envMaxQueueSize, "-5")
	t.Setenv(envHeaders, "Authorization: Bearer "+secretToken)

	shutdown, err := Setup(context.Background(), "dataflow-test", zerolog.Nop())
	require.NoError(t, err, "settings of an export that is off must not stop the process")
	require.NoError(t, shutdown(context.Background()))
}

func TestSetupAcceptsValidSettings(t *testing.T) {
	clearOTELEnvironment(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, receiver.url)
	t.Setenv(envHeaders, " authorization=Bearer%20test-token , x-tenant = acme ")
	t.Setenv(envTimeout, "0")
	t.Setenv(envTracesTimeout, " 10000 ")
	// The SDK lowers its default batch size of 512 to a smaller queue.
	t.Setenv(envMaxQueueSize, "100")
	t.Setenv(envScheduleDelay, "100")
	t.Setenv(envExportTimeout, "5000")
	t.Setenv(envSampler, "ParentBased_TraceIDRatio")
	t.Setenv(envSamplerArg, "1")

	shutdown, logs := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	exports := receiver.exports()
	require.NotEmpty(t, exports, "no export reached the receiver; log:\n%s", logs)
	require.Equal(t, "Bearer test-token", exports[0].header.Get("Authorization"), "values are URL-decoded")
	require.Equal(t, "acme", exports[0].header.Get("X-Tenant"), "keys and values are trimmed")
	require.Contains(t, receiver.spans(), "root")
	require.NotContains(t, logs.String(), `"level":"warn"`)
}

func TestSetupWarnsIgnoredSamplerArg(t *testing.T) {
	clearOTELEnvironment(t)
	t.Setenv(envEndpoint, "http://127.0.0.1:1")
	t.Setenv(envSamplerArg, "0.1")

	shutdown, logs := setup(t, "dataflow-test")
	t.Cleanup(func() { _ = shutdown(context.Background()) })

	entries := requireJSONLines(t, logs.String())
	var warned bool
	for _, entry := range entries {
		message, _ := entry["message"].(string)
		if strings.Contains(message, envSamplerArg+" is ignored") {
			warned = true
			require.Equal(t, "warn", entry["level"])
			require.Equal(t, "parentbased_always_on (the default)", entry["sampler"])
		}
	}

	require.True(t, warned, "log:\n%s", logs)
}

func TestSetupLogsResourceAttributeProblemsOnce(t *testing.T) {
	clearOTELEnvironment(t)
	standardLog := captureStandardLog(t)
	receiver := newOTLPReceiver(t, http.StatusOK)
	t.Setenv(envEndpoint, receiver.url)
	t.Setenv(envResourceAttributes, "deployment.environment.name=prod,broken,=orphan,team=a%zz")

	shutdown, logs := setup(t, "dataflow-test")
	emitSpans()
	require.NoError(t, shutdown(context.Background()))

	entries := requireJSONLines(t, logs.String())
	var reports []map[string]any
	for _, entry := range entries {
		message, _ := entry["message"].(string)
		require.NotEqual(t, "tracing: OpenTelemetry SDK error", message, "the SDK's own report must be skipped")
		if strings.Contains(message, envResourceAttributes) {
			reports = append(reports, entry)
		}
	}

	require.Len(t, reports, 1, "log:\n%s", logs)
	require.Equal(t, "warn", reports[0]["level"])
	require.Equal(t, []any{
		`entry 2 has no "=" and was left out`,
		"entry 3 has an empty key and was left out",
		`the value of "team" has an invalid URL escape and was kept undecoded`,
	}, reports[0]["problems"])
	require.NotContains(t, logs.String(), "orphan", "values are not logged")
	require.Empty(t, standardLog.String(), "nothing may bypass the JSON log")

	spans := receiver.spans()
	require.Contains(t, spans, "root")
	require.Equal(t, "prod", spans["root"].resource["deployment.environment.name"], "valid entries are kept")
}

func TestSetupRoutesSDKLogToLogger(t *testing.T) {
	clearOTELEnvironment(t)
	t.Setenv(envEndpoint, "http://127.0.0.1:1")
	// The exporter logs an error about a certificate file it cannot read
	// and goes on without it.
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", filepath.Join(t.TempDir(), "missing.pem"))

	shutdown, logs := setup(t, "dataflow-test")
	t.Cleanup(func() { _ = shutdown(context.Background()) })

	var found bool
	for _, entry := range requireJSONLines(t, logs.String()) {
		if entry["sdk_message"] == "read tls ca cert file" {
			found = true
			require.Equal(t, "warn", entry["level"])
			require.Equal(t, "tracing: OpenTelemetry SDK log", entry["message"])
			require.Contains(t, entry["error"], "missing.pem")
			require.NotContains(t, entry, "file", "key/value pairs are dropped")
		}
	}

	require.True(t, found, "log:\n%s", logs)
}
