package cmd

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/tracing"
)

func newServeCommand(flags *globalFlags, openAPI []byte) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API (listens where Urls or ASPNETCORE_URLS says)",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, flags, config.RoleServe, appOptions{retryDatabase: true, storage: true})
			if err != nil {
				return err
			}
			defer a.close()

			settings, log, ctx := a.kernel.Settings, a.kernel.Log, cmd.Context()
			stopTracing, err := tracing.Setup(ctx, "dataflow-serve", log)
			if err != nil {
				return err
			}
			defer flushSpans(ctx, stopTracing, log)

			addrs, err := settings.ListenAddresses()
			if err != nil {
				return err
			}

			if err := a.prepareSchema(ctx); err != nil {
				return err
			}

			if err := a.kernel.Seed(ctx); err != nil {
				return err
			}
			a.precreateClientSeries(ctx)

			// An upload takes minutes at most, so an hour-old temporary file
			// belongs to a process that stopped mid-upload.
			if n, err := a.kernel.Storage.RemoveStaleTemp(time.Hour, time.Now()); err != nil {
				log.Warn().Err(err).Msg("storage: removing abandoned uploads failed")
			} else if n > 0 {
				log.Info().Int("files", n).Msg("storage: removed abandoned uploads")
			}

			srv := a.httpServer(openAPI)

			return srv.Serve(ctx, addrs, settings.ImportBatch.ShutdownTimeout, func(bound []string) {
				log.Info().Strs("addresses", bound).Msg("api: listening")
			})
		}),
	}
}
