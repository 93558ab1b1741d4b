// Package httpserver builds the echo server that modules add routes to, with
// JSON errors in English and Brazilian Portuguese and graceful shutdown.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/metrics"
)

// Server is the HTTP API of `serve` (and the worker's metrics listener).
type Server struct {
	Echo *echo.Echo
	log  zerolog.Logger
}

// New returns a server with recovery, request ids, access logs and JSON errors.
func New(log zerolog.Logger) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// The remote address is the peer of the connection. Trusting
	// X-Forwarded-For by default would let a caller pick the address that
	// failed-login throttling counts.
	// TODO: add a setting for trusted proxies when DataFlow runs behind one.
	e.IPExtractor = echo.ExtractIPDirect()

	s := &Server{Echo: e, log: log}
	e.HTTPErrorHandler = s.handleErrorWithPathIDs
	e.Use(middleware.RequestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.Error().Err(err).Bytes("stack", stack).Str("path", c.Path()).Fields(pathIDFields(c)).
				Msg("http: handler panicked")

			return err
		},
	}))
	e.Use(s.accessLog)

	return s
}

func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}

		req := c.Request()
		// c.Path is the route pattern (/imports/:batchId), so batch ids
		// never become label values; unmatched paths share one label.
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}

		elapsed := time.Since(start).Seconds()
		method := methodLabel(req.Method)
		metrics.HTTPRequests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
		metrics.HTTPDuration.WithLabelValues(method, route).Observe(elapsed)

		s.log.Debug().Str("method", req.Method).Str("path", c.Path()).Fields(pathIDFields(c)).
			Int("status", c.Response().Status).Int64("duration_ms", time.Since(start).Milliseconds()).
			Str("request_id", c.Response().Header().Get(echo.HeaderXRequestID)).Msg("http: request")

		return nil
	}
}

// handleErrorWithPathIDs runs handleError with a logger that adds the
// route's path parameters, so its "http: request failed" entry names the
// batch or webhook involved.
func (s *Server) handleErrorWithPathIDs(err error, c echo.Context) {
	fields := pathIDFields(c)
	if len(fields) == 0 {
		s.handleError(err, c)

		return
	}

	scoped := *s
	scoped.log = s.log.With().Fields(fields).Logger()
	scoped.handleError(err, c)
}

// methodLabel returns the method label of the HTTP metrics: the method if
// it is one of the standard methods, else "other". Any client, even
// without credentials, chooses the method, so passing it through would let
// them create metric series without limit.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	default:
		return "other"
	}
}

// maxPathIDLength is the maximum number of characters of a path parameter
// value in a log entry. DataFlow's ids are UUIDs (36 characters), and the
// client chooses the value, so a longer one is cut.
const maxPathIDLength = 64

// pathIDFields returns the path parameters of the matched route as
// zerolog fields: each name in snake_case (batchId becomes batch_id) with
// its value cut to maxPathIDLength characters. Route parameters of DataFlow
// are ids, never personal data. Wildcard parameters ("*") are left out.
func pathIDFields(c echo.Context) []any {
	names := c.ParamNames()
	if len(names) == 0 {
		return nil
	}

	fields := make([]any, 0, 2*len(names))
	for _, name := range names {
		if name == "" || name == "*" {
			continue
		}

		fields = append(fields, snakeCase(name), truncateRunes(c.Param(name), maxPathIDLength))
	}

	return fields
}

// snakeCase converts a camelCase name to snake_case. An upper-case run
// counts as one word, so batchID and batchId both become batch_id.
func snakeCase(name string) string {
	runes := []rune(name)

	var b strings.Builder
	for i, r := range runes {
		if unicode.IsUpper(r) {
			previousIsLower := i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]))
			endsUpperRun := i > 0 && unicode.IsUpper(runes[i-1]) && i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if previousIsLower || endsUpperRun {
				b.WriteByte('_')
			}

			r = unicode.ToLower(r)
		}

		b.WriteRune(r)
	}

	return b.String()
}

// truncateRunes returns the first limit characters of s.
func truncateRunes(s string, limit int) string {
	count := 0
	for i := range s {
		if count == limit {
			return s[:i]
		}

		count++
	}

	return s
}

// Serve listens on every address and serves until ctx ends, then stops
// accepting connections and waits up to shutdownTimeout for in-flight
// requests. started, if not nil, receives the bound addresses.
func (s *Server) Serve(ctx context.Context, addrs []string, shutdownTimeout time.Duration, started func([]string)) error {
	listeners := make([]net.Listener, 0, len(addrs))
	bound := make([]string, 0, len(addrs))
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, open := range listeners {
				_ = open.Close()
			}

			return fmt.Errorf("listening on %s: %w (change Urls or ASPNETCORE_URLS)", addr, err)
		}

		listeners = append(listeners, l)
		bound = append(bound, l.Addr().String())
	}

	srv := &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	errs := make(chan error, len(listeners))
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}

	if started != nil {
		started(bound)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()

	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the timeout are cut off: closing
		// their connections makes their handlers fail and clean up.
		s.log.Warn().Err(err).Dur("timeout", shutdownTimeout).Msg("http: requests still running at shutdown were cut off")
		_ = srv.Close()
	}

	wg.Wait()

	if serveErr != nil {
		return fmt.Errorf("serving http: %w", serveErr)
	}

	return nil
}
