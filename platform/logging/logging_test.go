package logging

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/config"
)

func TestLevel(t *testing.T) {
	cases := map[string]zerolog.Level{
		"Trace":       zerolog.TraceLevel,
		"debug":       zerolog.DebugLevel,
		"Information": zerolog.InfoLevel,
		"":            zerolog.InfoLevel,
		"WARNING":     zerolog.WarnLevel,
		"Error":       zerolog.ErrorLevel,
		"Critical":    zerolog.FatalLevel,
		" None ":      zerolog.Disabled,
	}
	for name, want := range cases {
		got, err := Level(name)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}

	for _, name := range []string{"info", "Warn", "Fatal", "Verbose"} {
		_, err := Level(name)
		require.ErrorContains(t, err, "Logging:LogLevel:Default", name)
	}
}

func logConfig(level, format string) config.Logging {
	return config.Logging{LogLevel: config.LogLevel{Default: level}, Format: format}
}

func TestNew(t *testing.T) {
	t.Run("json with UTC millisecond time", func(t *testing.T) {
		var buf bytes.Buffer
		logger, err := New(logConfig("Information", "json"), &buf)
		require.NoError(t, err)

		before := time.Now().UTC().Truncate(time.Millisecond)
		logger.Info().Str("batch", "b1").Msg("started")
		after := time.Now().UTC()

		var event map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &event))
		require.Equal(t, "info", event["level"])
		require.Equal(t, "started", event["message"])
		require.Equal(t, "b1", event["batch"])

		stamp, ok := event["time"].(string)
		require.True(t, ok, "time field: %v", event["time"])
		require.Regexp(t, regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`), stamp)
		parsed, err := time.Parse(time.RFC3339, stamp)
		require.NoError(t, err)
		require.False(t, parsed.Before(before))
		require.False(t, parsed.After(after))
	})

	t.Run("level filters events", func(t *testing.T) {
		var buf bytes.Buffer
		logger, err := New(logConfig("Warning", ""), &buf)
		require.NoError(t, err)

		logger.Info().Msg("hidden")
		logger.Warn().Msg("shown")

		require.NotContains(t, buf.String(), "hidden")
		require.Contains(t, buf.String(), "shown")
	})

	t.Run("critical logs without exiting", func(t *testing.T) {
		var buf bytes.Buffer
		logger, err := New(logConfig("Critical", "json"), &buf)
		require.NoError(t, err)

		logger.Error().Msg("hidden")
		Critical(&logger).Msg("database unreachable")

		require.NotContains(t, buf.String(), "hidden")
		require.Contains(t, buf.String(), `"level":"fatal"`)
		require.Contains(t, buf.String(), "database unreachable")
	})

	t.Run("none disables output", func(t *testing.T) {
		var buf bytes.Buffer
		logger, err := New(logConfig("None", "json"), &buf)
		require.NoError(t, err)

		logger.Error().Msg("hidden")
		Critical(&logger).Msg("hidden too")

		require.Empty(t, buf.String())
	})

	t.Run("console without colour", func(t *testing.T) {
		var buf bytes.Buffer
		logger, err := New(logConfig("Debug", "Console"), &buf)
		require.NoError(t, err)

		logger.Debug().Str("batch", "b1").Msg("claimed")

		line := buf.String()
		require.NotContains(t, line, "\x1b[", "no ANSI colour when the writer is not a terminal")
		require.Contains(t, line, "claimed")
		require.Contains(t, line, "batch=b1")
		require.Regexp(t, regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z `), line)
		require.Contains(t, line, "DBG")
	})

	t.Run("unknown format", func(t *testing.T) {
		_, err := New(logConfig("Information", "xml"), &bytes.Buffer{})

		require.ErrorContains(t, err, `unknown Logging:Format "xml"`)
	})

	t.Run("unknown level", func(t *testing.T) {
		_, err := New(logConfig("Verbose", "json"), &bytes.Buffer{})

		require.ErrorContains(t, err, `"Verbose"`)
	})
}
