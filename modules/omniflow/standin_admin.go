package omniflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/rs/zerolog"
)

// standInShutdownTimeout bounds the graceful shutdown of RunStandIn.
const standInShutdownTimeout = 10 * time.Second

// StandInSwitches changes a running StandIn through Configure or
// PUT /__standin/config. A nil field keeps its current value. GET
// /__standin/config returns every field set.
type StandInSwitches struct {
	// ErrorRate is the fraction (0..1) of requests that get ErrorStatus.
	ErrorRate *float64 `json:"errorRate,omitempty"`
	// ErrorStatus is the status of injected failures (400..599).
	ErrorStatus *int `json:"errorStatus,omitempty"`
	// RateLimitRate is the fraction (0..1) of requests that get 429.
	RateLimitRate *float64 `json:"rateLimitRate,omitempty"`
	// RetryAfterSeconds is the Retry-After sent with 429. Zero is allowed.
	RetryAfterSeconds *int64 `json:"retryAfterSeconds,omitempty"`
	// FailFirst makes the next N import requests get ErrorStatus.
	FailFirst *int `json:"failFirst,omitempty"`
	// LatencyMs is the latency added to each import request, in
	// milliseconds.
	LatencyMs *int64 `json:"latencyMs,omitempty"`
	// LatencyJitterMs is the maximum random extra latency, in milliseconds.
	LatencyJitterMs *int64 `json:"latencyJitterMs,omitempty"`
	// UnavailableForMs makes import requests get ErrorStatus for this
	// many milliseconds from the change on.
	UnavailableForMs *int64 `json:"unavailableForMs,omitempty"`
	// RequiredFields replaces the list of fields each record must have.
	RequiredFields *[]string `json:"requiredFields,omitempty"`
	// KeepRecords turns keeping imported records on or off. Records kept so
	// far stay until a reset.
	KeepRecords *bool `json:"keepRecords,omitempty"`
}

// Configure applies the non-nil switches. It changes nothing and returns an
// error naming the field when any value is out of range.
func (s *StandIn) Configure(update StandInSwitches) error {
	if err := validateSwitches(update); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	if update.ErrorRate != nil {
		s.cfg.ErrorRate = *update.ErrorRate
	}
	if update.ErrorStatus != nil {
		s.cfg.ErrorStatus = *update.ErrorStatus
	}
	if update.RateLimitRate != nil {
		s.cfg.RateLimitRate = *update.RateLimitRate
	}
	if update.RetryAfterSeconds != nil {
		s.cfg.RetryAfter = time.Duration(*update.RetryAfterSeconds) * time.Second
	}
	if update.FailFirst != nil {
		s.cfg.FailFirst = *update.FailFirst
		s.failFirstFrom = s.served
	}
	if update.LatencyMs != nil {
		s.cfg.Latency = time.Duration(*update.LatencyMs) * time.Millisecond
	}
	if update.LatencyJitterMs != nil {
		s.cfg.LatencyJitter = time.Duration(*update.LatencyJitterMs) * time.Millisecond
	}
	if update.UnavailableForMs != nil {
		s.cfg.UnavailableFor = time.Duration(*update.UnavailableForMs) * time.Millisecond
		s.unavailableSince = time.Now()
	}
	if update.RequiredFields != nil {
		s.cfg.RequiredFields = slices.Clone(*update.RequiredFields)
	}
	if update.KeepRecords != nil {
		s.cfg.KeepRecords = *update.KeepRecords
	}

	return nil
}

func validateSwitches(update StandInSwitches) error {
	// A day bounds the durations so that milliseconds cannot overflow
	// time.Duration, and no simulated outage needs longer.
	const maxMilliseconds = int64(24 * time.Hour / time.Millisecond)

	checks := []struct {
		invalid bool
		message string
	}{
		{update.ErrorRate != nil && (*update.ErrorRate < 0 || *update.ErrorRate > 1), "errorRate must be between 0 and 1"},
		{update.ErrorStatus != nil && (*update.ErrorStatus < 400 || *update.ErrorStatus > 599), "errorStatus must be between 400 and 599"},
		{update.RateLimitRate != nil && (*update.RateLimitRate < 0 || *update.RateLimitRate > 1), "rateLimitRate must be between 0 and 1"},
		{update.RetryAfterSeconds != nil && (*update.RetryAfterSeconds < 0 || *update.RetryAfterSeconds > maxMilliseconds/1000), "retryAfterSeconds must be between 0 and 86400"},
		{update.FailFirst != nil && *update.FailFirst < 0, "failFirst must not be negative"},
		{update.LatencyMs != nil && (*update.LatencyMs < 0 || *update.LatencyMs > maxMilliseconds), "latencyMs must be between 0 and 86400000"},
		{update.LatencyJitterMs != nil && (*update.LatencyJitterMs < 0 || *update.LatencyJitterMs > maxMilliseconds), "latencyJitterMs must be between 0 and 86400000"},
		{update.UnavailableForMs != nil && (*update.UnavailableForMs < 0 || *update.UnavailableForMs > maxMilliseconds), "unavailableForMs must be between 0 and 86400000"},
	}
	for _, check := range checks {
		if check.invalid {
			return fmt.Errorf("configuring the OmniFlow stand-in: %s", check.message)
		}
	}

	return nil
}

// Switches returns the current runtime switches, every field set.
func (s *StandIn) Switches() StandInSwitches {
	s.mu.Lock()
	defer s.mu.Unlock()

	retryAfterSeconds := int64((s.cfg.RetryAfter + time.Second - 1) / time.Second)
	latencyMs := s.cfg.Latency.Milliseconds()
	latencyJitterMs := s.cfg.LatencyJitter.Milliseconds()
	unavailableForMs := s.cfg.UnavailableFor.Milliseconds()
	requiredFields := slices.Clone(s.cfg.RequiredFields)
	if requiredFields == nil {
		requiredFields = []string{}
	}
	cfg := s.cfg

	return StandInSwitches{
		ErrorRate:         &cfg.ErrorRate,
		ErrorStatus:       &cfg.ErrorStatus,
		RateLimitRate:     &cfg.RateLimitRate,
		RetryAfterSeconds: &retryAfterSeconds,
		FailFirst:         &cfg.FailFirst,
		LatencyMs:         &latencyMs,
		LatencyJitterMs:   &latencyJitterMs,
		UnavailableForMs:  &unavailableForMs,
		RequiredFields:    &requiredFields,
		KeepRecords:       &cfg.KeepRecords,
	}
}

func (s *StandIn) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *StandIn) serveRecords(w http.ResponseWriter, r *http.Request) {
	batchID := r.PathValue("batchId")
	records, found := s.batchRecords(batchID)
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("batch %q not found", batchID)})
		return
	}

	writeJSON(w, http.StatusOK, records)
}

func (s *StandIn) serveReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	s.log.Info().Msg("omniflow: stand-in counters and records reset")
	writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
}

func (s *StandIn) serveConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Switches())
}

func (s *StandIn) serveConfigUpdate(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("reading body: %v", err)})
		return
	}

	var update StandInSwitches
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&update); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("decoding config: %v", err)})
		return
	}
	if err := s.Configure(update); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}

	switches := s.Switches()
	s.log.Info().Float64("error_rate", *switches.ErrorRate).Int("error_status", *switches.ErrorStatus).
		Float64("rate_limit_rate", *switches.RateLimitRate).Int("fail_first", *switches.FailFirst).
		Int64("latency_ms", *switches.LatencyMs).Int64("unavailable_for_ms", *switches.UnavailableForMs).
		Msg("omniflow: stand-in switches changed")
	writeJSON(w, http.StatusOK, switches)
}

// RunStandIn serves a new StandIn on addr until ctx is done, then shuts down
// gracefully within 10s. addr may use port 0. When ready is not nil, it
// receives the bound address before the first request is served. It returns
// nil after a shutdown caused by ctx.
func RunStandIn(ctx context.Context, addr string, cfg StandInConfig, log zerolog.Logger, ready func(addr string)) error {
	return serveStandIn(ctx, addr, NewStandIn(cfg, log), log, ready)
}

func serveStandIn(ctx context.Context, addr string, standIn *StandIn, log zerolog.Logger, ready func(addr string)) error {
	var listenConfig net.ListenConfig
	listener, err := listenConfig.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s for the OmniFlow stand-in: %w (choose a free address, or port 0 for any)", addr, err)
	}
	boundAddr := listener.Addr().String()

	// Cancelling the requests' base context ends simulated latency at once,
	// so shutdown does not wait for it, and those requests get 503.
	requestCtx, cancelRequests := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRequests(errStandInShutdown)
	server := &http.Server{
		Handler:           standIn.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return requestCtx },
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	log.Info().Str("addr", boundAddr).Str("import_path", standIn.importPath).Msg("omniflow: stand-in listening")
	if ready != nil {
		ready(boundAddr)
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serving the OmniFlow stand-in on %s: %w", boundAddr, err)
	case <-ctx.Done():
	}

	cancelRequests(errStandInShutdown)
	shutdownCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), standInShutdownTimeout)
	defer cancelShutdown()
	if err := server.Shutdown(shutdownCtx); err != nil {
		_ = server.Close()
		return fmt.Errorf("shutting down the OmniFlow stand-in on %s: %w", boundAddr, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the OmniFlow stand-in on %s: %w", boundAddr, err)
	}

	log.Info().Str("addr", boundAddr).Msg("omniflow: stand-in stopped")
	return nil
}
