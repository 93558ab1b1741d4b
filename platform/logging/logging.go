// Package logging builds the zerolog logger of a dataflow process from the
// .NET-style Logging settings.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/config"
)

// TimeFormat is the layout of the `time` field: RFC 3339 in UTC with
// milliseconds, such as 2024-05-01T09:30:00.123Z.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Level maps a .NET log level name, in any case, to a zerolog level:
// Trace, Debug, Information, Warning and Error map to the zerolog level of
// the same meaning, Critical to zerolog.FatalLevel and None to
// zerolog.Disabled. An empty name means Information, the .NET default.
//
// zerolog's Fatal() exits the process, so code must log critical events with
// Critical(logger), which writes level "fatal" and returns normally.
func Level(name string) (zerolog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "trace":
		return zerolog.TraceLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	case "information", "":
		return zerolog.InfoLevel, nil
	case "warning":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	case "critical":
		return zerolog.FatalLevel, nil
	case "none":
		return zerolog.Disabled, nil
	default:
		return zerolog.NoLevel, fmt.Errorf("parsing log level %q: unknown level; set Logging:LogLevel:Default to Trace, Debug, Information, Warning, Error, Critical or None", name)
	}
}

// Critical starts an event at the .NET Critical level (zerolog.FatalLevel)
// without exiting the process, unlike logger.Fatal().
func Critical(logger *zerolog.Logger) *zerolog.Event {
	return logger.WithLevel(zerolog.FatalLevel)
}

// New returns a logger that writes to w at the level of
// cfg.LogLevel.Default. cfg.Format selects one JSON object per line ("json"
// or empty) or zerolog's human-readable ConsoleWriter ("console"), which uses
// colour only when w is a terminal. Every event gets a `time` field in
// TimeFormat; New sets it through a hook and changes no zerolog globals, so
// callers must not add Timestamp() as well.
func New(cfg config.Logging, w io.Writer) (zerolog.Logger, error) {
	level, err := Level(cfg.LogLevel.Default)
	if err != nil {
		return zerolog.Nop(), err
	}

	var out io.Writer
	switch strings.ToLower(strings.TrimSpace(cfg.Format)) {
	case "json", "":
		out = w
	case "console":
		out = zerolog.ConsoleWriter{
			Out:     w,
			NoColor: !isTerminal(w),
			// The hook already wrote the time in TimeFormat, so the console
			// shows it as is instead of parsing it with zerolog's global format.
			FormatTimestamp: func(v any) string { return fmt.Sprint(v) },
		}
	default:
		return zerolog.Nop(), fmt.Errorf("creating logger: unknown Logging:Format %q; set it to json or console", cfg.Format)
	}

	return zerolog.New(out).Level(level).Hook(timestampHook{}), nil
}

// timestampHook adds the `time` field when an event is written.
type timestampHook struct{}

// Run adds the current UTC time in TimeFormat.
func (timestampHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("time", time.Now().UTC().Format(TimeFormat))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
