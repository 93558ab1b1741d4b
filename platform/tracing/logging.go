package tracing

import (
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/sdk/resource"
)

// logInterval is the minimum time between two log entries about the same
// OpenTelemetry error or SDK message, so an unreachable collector or a
// per-span warning does not flood the log.
const logInterval = time.Minute

// maxLimitedKeys bounds the keys a repeatLimiter tracks. The SDK's messages
// are constants, so the bound is only reached if that changes. The limiter
// then clears every key and starts over.
const maxLimitedKeys = 256

// repeatLimiter lets the first event of each key through, then at most one
// per logInterval, and counts the events it holds back in between.
type repeatLimiter struct {
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*limitedKey
}

type limitedKey struct {
	last       time.Time
	suppressed int
}

func newRepeatLimiter(now func() time.Time) *repeatLimiter {
	return &repeatLimiter{now: now, keys: map[string]*limitedKey{}}
}

// allow reports whether an event of key may be logged now and, if so, how
// many events of key it held back since the last one logged.
func (r *repeatLimiter) allow(key string) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()

	now := r.now()
	state, ok := r.keys[key]
	if !ok {
		if len(r.keys) >= maxLimitedKeys {
			clear(r.keys)
		}

		r.keys[key] = &limitedKey{last: now}

		return true, 0
	}

	if now.Sub(state.last) < logInterval {
		state.suppressed++

		return false, 0
	}

	suppressed := state.suppressed
	state.last, state.suppressed = now, 0

	return true, suppressed
}

// errorLogger is the OpenTelemetry error handler (otel.SetErrorHandler). It
// logs the errors the SDK reports, such as failed exports, at most one per
// logInterval, with the number left out in between.
//
// It skips the errors about OTEL_RESOURCE_ATTRIBUTES, because Setup logs
// those once itself and the SDK reports them again each time it reads the
// variable.
type errorLogger struct {
	log     zerolog.Logger
	limiter *repeatLimiter
}

func newErrorLogger(log zerolog.Logger, now func() time.Time) *errorLogger {
	return &errorLogger{log: log, limiter: newRepeatLimiter(now)}
}

// Handle logs err unless it is about resource attributes or an error was
// logged within logInterval.
func (e *errorLogger) Handle(err error) {
	var escapeErr url.EscapeError
	if errors.Is(err, resource.ErrPartialResource) || errors.As(err, &escapeErr) {
		return
	}

	// Every error shares one key, as export errors tend to come in runs
	// whose text differs only in details.
	ok, suppressed := e.limiter.allow("")
	if !ok {
		return
	}

	e.log.Warn().Err(err).Int("suppressed", suppressed).Msg("tracing: OpenTelemetry SDK error")
}

// sdkLogSink is the logr sink behind the OpenTelemetry SDK's internal logger
// (otel.SetLogger). It writes the SDK's message and error text, never the
// key/value pairs, because the SDK puts raw input such as a header value
// with a token there.
//
// SDK errors and warnings (logr V-level 0 and 1) become warn entries. Its
// info and debug messages (V-levels 4 and 8) become debug entries. Each
// message is logged at most once per logInterval.
type sdkLogSink struct {
	log     zerolog.Logger
	limiter *repeatLimiter
}

func newSDKLogger(log zerolog.Logger, now func() time.Time) logr.Logger {
	return logr.New(&sdkLogSink{log: log, limiter: newRepeatLimiter(now)})
}

// sdkLogLevel maps a logr V-level to the zerolog level of the entry.
func sdkLogLevel(level int) zerolog.Level {
	if level <= 1 {
		return zerolog.WarnLevel
	}

	return zerolog.DebugLevel
}

func (s *sdkLogSink) Init(logr.RuntimeInfo) {}

// Enabled reports whether the logger writes entries of the V-level, so the
// SDK skips building messages the logger would discard.
func (s *sdkLogSink) Enabled(level int) bool {
	l := sdkLogLevel(level)

	return l >= s.log.GetLevel() && l >= zerolog.GlobalLevel()
}

// Info logs msg and drops keysAndValues.
func (s *sdkLogSink) Info(level int, msg string, _ ...any) {
	s.write(sdkLogLevel(level), nil, msg)
}

// Error logs msg with the error text at warn level and drops keysAndValues.
// The SDK logs an error where it ignores a setting and goes on.
func (s *sdkLogSink) Error(err error, msg string, _ ...any) {
	s.write(zerolog.WarnLevel, err, msg)
}

func (s *sdkLogSink) write(level zerolog.Level, err error, msg string) {
	ok, suppressed := s.limiter.allow(msg)
	if !ok {
		return
	}

	event := s.log.WithLevel(level).Str("sdk_message", msg).Int("suppressed", suppressed)
	if err != nil {
		event = event.Err(err)
	}

	event.Msg("tracing: OpenTelemetry SDK log")
}

// WithValues returns the sink unchanged, because values are never logged.
func (s *sdkLogSink) WithValues(...any) logr.LogSink { return s }

// WithName returns the sink unchanged. The OpenTelemetry SDK does not name
// its loggers.
func (s *sdkLogSink) WithName(string) logr.LogSink { return s }
