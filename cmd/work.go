package cmd

import (
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/jobs"
)

func newWorkCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "work",
		Short: "Run the background worker that delivers batches to OmniFlow",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			settings, err := loadSettings(cmd, flags, config.RoleWork)
			if err != nil {
				return err
			}

			log, err := newLogger(settings)
			if err != nil {
				return err
			}

			ctx := cmd.Context()
			a, err := buildApp(ctx, settings, log, appOptions{retryDatabase: true, storage: true, worker: true})
			if err != nil {
				return err
			}
			defer a.close()

			if err := a.prepareSchema(ctx); err != nil {
				return err
			}

			runner := &jobs.Runner{Log: log}
			runner.Run(ctx, a.kernel.Jobs()...)

			return nil
		}),
	}
}
