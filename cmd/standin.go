package cmd

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/logging"
)

func newStandInCommand() *cobra.Command {
	var (
		listen     string
		cfg        omniflow.StandInConfig
		retryAfter time.Duration
		logLevel   string
	)

	cmd := &cobra.Command{
		Use:   "omniflow-standin",
		Short: "Run a stand-in OmniFlow API for demos and tests",
		Long: "Serves POST /api/leads/import as OmniFlow does, with switches for latency, errors, 429s and " +
			"per-record rejections, and counts what it received per batch and idempotency key " +
			"(GET /__standin/stats).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logging.New(config.Logging{LogLevel: config.LogLevel{Default: logLevel}}, os.Stderr)
			if err != nil {
				return err
			}

			cfg.RetryAfter = retryAfter

			return omniflow.RunStandIn(cmd.Context(), listen, cfg, log, func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "omniflow stand-in listening on http://%s\n", addr)
			})
		},
	}

	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:7070", "address to listen on")
	f.StringVar(&cfg.ImportPath, "import-path", "/api/leads/import", "path of the import endpoint")
	f.DurationVar(&cfg.Latency, "latency", 0, "delay added to every request, e.g. 50ms")
	f.DurationVar(&cfg.LatencyJitter, "latency-jitter", 0, "random extra delay up to this much")
	f.Float64Var(&cfg.ErrorRate, "error-rate", 0, "fraction (0..1) of requests that get the --error-status response")
	f.IntVar(&cfg.ErrorStatus, "error-status", 503, "HTTP status of injected errors")
	f.Float64Var(&cfg.RateLimitRate, "rate-limit-rate", 0, "fraction (0..1) of requests answered 429")
	f.DurationVar(&retryAfter, "retry-after", time.Second, "Retry-After sent with 429 answers (whole seconds)")
	f.IntVar(&cfg.FailFirst, "fail-first", 0, "answer the first N requests with --error-status (an outage that ends)")
	f.DurationVar(&cfg.UnavailableFor, "unavailable-for", 0, "answer --error-status to every request for this long after start")
	f.StringSliceVar(&cfg.RequiredFields, "require-field", nil, "reject records lacking a non-empty value for this field (repeatable), e.g. phoneNumber")
	f.Int64Var(&cfg.Seed, "seed", 1, "random seed of the injected faults")
	f.BoolVar(&cfg.KeepRecords, "keep-records", true,
		"keep every imported record for GET /__standin/batches/{id}/records (memory grows with the records received)")
	f.StringVar(&logLevel, "log-level", "Information", "log level (Debug, Information, Warning, Error)")

	return cmd
}
