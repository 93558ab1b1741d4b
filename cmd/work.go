package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/jobs"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/tracing"
)

func newWorkCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "work",
		Short: "Run the background worker that delivers batches to OmniFlow",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, flags, config.RoleWork, appOptions{retryDatabase: true, storage: true, worker: true})
			if err != nil {
				return err
			}
			defer a.close()

			stopTracing, err := tracing.Setup(cmd.Context(), "dataflow-work", a.kernel.Log)
			if err != nil {
				return err
			}
			defer flushSpans(cmd.Context(), stopTracing, a.kernel.Log)

			if err := a.prepareSchema(cmd.Context()); err != nil {
				return err
			}
			a.precreateClientSeries(cmd.Context())

			stopMetrics, err := serveWorkerMetrics(cmd.Context(), a.kernel.Settings.Metrics.Address, a.kernel.Log)
			if err != nil {
				return err
			}
			defer stopMetrics()

			runner := &jobs.Runner{Log: a.kernel.Log}
			runner.Run(cmd.Context(), a.kernel.Jobs()...)

			return nil
		}),
	}
}

// serveWorkerMetrics serves /metrics and /health of the worker on addr,
// which `work` has no API port for. An empty addr serves nothing. The
// returned function stops the listener.
func serveWorkerMetrics(ctx context.Context, addr string, log zerolog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics on %s: %w (set Metrics:Address to a free address, or to an empty value to turn the listener off)", addr, err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("worker: metrics listener stopped")
		}
	}()

	log.Info().Str("address", l.Addr().String()).Msg("worker: serving metrics")

	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()

		_ = srv.Shutdown(shutdown)
	}, nil
}

// flushSpans sends the spans still queued when the process stops, within
// tracing.ShutdownTimeout. ctx is usually cancelled by then, so only its
// values are kept.
func flushSpans(ctx context.Context, stop func(context.Context) error, log zerolog.Logger) {
	if err := stop(context.WithoutCancel(ctx)); err != nil {
		log.Warn().Err(err).Msg("tracing: flushing spans at stop failed; the spans still queued are lost")
	}
}
