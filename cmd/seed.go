package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
)

func newSeedCommand(flags *globalFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create or update the clients listed in ClientSeed:Clients",
		Long: "Creates missing clients, rotates a secret only when it changed and never re-activates a " +
			"suspended client. Secrets are never printed.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if from != "appsettings" {
				return fmt.Errorf("invalid --from %q: the only source is appsettings", from)
			}

			a, err := openApp(cmd, flags, config.RoleTool, appOptions{})
			if err != nil {
				return err
			}
			defer a.close()

			if err := a.kernel.CheckSchema(cmd.Context()); err != nil {
				return err
			}

			seeds := a.kernel.Settings.ClientSeed.Clients
			if len(seeds) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "ClientSeed:Clients is empty; nothing to seed")

				return nil
			}

			if err := a.kernel.Seed(cmd.Context()); err != nil {
				return err
			}

			fmt.Fprintf(cmd.OutOrStdout(), "checked %d client(s) from configuration; the log lists what changed\n", len(seeds))

			return nil
		}),
	}
	cmd.Flags().StringVar(&from, "from", "appsettings", "where the clients come from (only appsettings)")

	return cmd
}

func newConfigCommand(flags *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration with secrets masked",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			printFlags := *flags
			printFlags.printConfig = true
			_, err := loadSettings(cmd, &printFlags, config.RoleTool)

			return err
		}),
	}
}
