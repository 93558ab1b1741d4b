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
			a, err := openApp(cmd, flags, config.RoleWork, appOptions{retryDatabase: true, storage: true, worker: true})
			if err != nil {
				return err
			}
			defer a.close()

			if err := a.prepareSchema(cmd.Context()); err != nil {
				return err
			}

			runner := &jobs.Runner{Log: a.kernel.Log}
			runner.Run(cmd.Context(), a.kernel.Jobs()...)

			return nil
		}),
	}
}
