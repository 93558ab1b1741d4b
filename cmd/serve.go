package cmd

import (
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
)

func newServeCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API (listens where Urls or ASPNETCORE_URLS says)",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			settings, err := loadSettings(cmd, flags, config.RoleServe)
			if err != nil {
				return err
			}

			log, err := newLogger(settings)
			if err != nil {
				return err
			}

			addrs, err := settings.ListenAddresses()
			if err != nil {
				return err
			}

			ctx := cmd.Context()
			a, err := buildApp(ctx, settings, log, appOptions{retryDatabase: true, storage: true})
			if err != nil {
				return err
			}
			defer a.close()

			if err := a.prepareSchema(ctx); err != nil {
				return err
			}

			if err := a.kernel.Seed(ctx); err != nil {
				return err
			}

			srv := a.kernel.HTTPServer()

			return srv.Serve(ctx, addrs, settings.ImportBatch.ShutdownTimeout, func(bound []string) {
				log.Info().Strs("addresses", bound).Msg("api: listening")
			})
		}),
	}
}
