package cmd

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
)

func newMigrateCommand(flags *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
	}

	cmd.AddCommand(
		migrateSubcommand(flags, "up", "Apply every pending migration", func(cmd *cobra.Command, m *database.Migrator) error {
			applied, err := m.Up(cmd.Context())
			for _, v := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", v)
			}

			if err == nil && len(applied) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "database is up to date")
			}

			return err
		}),
		migrateSubcommand(flags, "down", "Roll back the latest applied migration", func(cmd *cobra.Command, m *database.Migrator) error {
			version, err := m.Down(cmd.Context())
			if errors.Is(err, database.ErrNothingToRollBack) {
				fmt.Fprintln(cmd.OutOrStdout(), "no applied migration to roll back")

				return nil
			}

			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "rolled back %s\n", version)
			}

			return err
		}),
		migrateSubcommand(flags, "status", "List migrations and when each was applied", func(cmd *cobra.Command, m *database.Migrator) error {
			status, err := m.Status(cmd.Context())
			if err != nil {
				return err
			}

			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED AT")
			for _, s := range status {
				applied := "pending"
				if s.AppliedAt != nil {
					applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
				}

				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Version, s.Name, applied)
			}

			return tw.Flush()
		}),
	)

	return cmd
}

func migrateSubcommand(flags *globalFlags, use, short string, fn func(*cobra.Command, *database.Migrator) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd, flags, config.RoleTool, appOptions{})
			if err != nil {
				return err
			}
			defer a.close()

			m, err := a.kernel.Migrator()
			if err != nil {
				return err
			}

			return fn(cmd, m)
		}),
	}
}
