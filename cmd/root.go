// Package cmd wires DataFlow's modules into the kernel for each subcommand.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/platform/buildinfo"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/logging"
)

// globalFlags are the flags every subcommand accepts.
type globalFlags struct {
	configDir   string
	set         []string
	printConfig bool
}

// Assets are the files embedded in the binary.
type Assets struct {
	// SampleLeads is the JSON file the demo uploads.
	SampleLeads []byte
	// OpenAPI is the API description served at /openapi.json.
	OpenAPI []byte
}

// Execute runs the command line.
func Execute(assets Assets) int {
	flags := &globalFlags{}
	root := &cobra.Command{
		Use:           "dataflow",
		Short:         "DataFlow imports lead files into OmniFlow",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&flags.configDir, "config-dir", "",
		"folder with appsettings.json and appsettings.{Environment}.json (default: $DATAFLOW_CONFIG_DIR, else ./config, else .)")
	root.PersistentFlags().StringArrayVar(&flags.set, "set", nil,
		"override one setting, e.g. --set ImportBatch:ChunkSize=500 (repeatable; wins over files and environment)")
	root.PersistentFlags().BoolVar(&flags.printConfig, "print-config", false,
		"print the effective configuration with secrets masked, then exit")

	root.AddCommand(
		newServeCommand(flags, assets.OpenAPI),
		newWorkCommand(flags),
		newMigrateCommand(flags),
		newSeedCommand(flags),
		newConfigCommand(flags),
		newStandInCommand(),
		newDemoCommand(flags, assets),
		newClientCommand(flags),
		newWebhookCommand(flags),
		newPurgeCommand(flags),
	)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := root.ExecuteContext(ctx); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// SIGTERM or Ctrl-C before the command was up (for example while
			// waiting for the database) is a clean stop, not a failure.
			fmt.Fprintln(os.Stderr, "stopped before start-up finished")

			return 0
		}

		fmt.Fprintln(os.Stderr, "error:", err)

		return 1
	}

	return 0
}

// loadSettings reads and validates the configuration for a role. With
// --print-config it prints the configuration and returns errPrinted.
func loadSettings(cmd *cobra.Command, flags *globalFlags, role config.Role) (*config.Settings, error) {
	overrides := make(map[string]string, len(flags.set))
	for _, kv := range flags.set {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("invalid --set %q: use --set Section:Key=value", kv)
		}

		overrides[strings.TrimSpace(key)] = value
	}

	settings, err := config.Load(config.LoadOptions{ConfigDir: flags.configDir, Overrides: overrides})
	if err != nil {
		return nil, err
	}

	if flags.printConfig {
		if err := config.Dump(settings, cmd.OutOrStdout()); err != nil {
			return nil, err
		}

		return nil, errPrinted
	}

	if err := settings.Validate(role); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}

	return settings, nil
}

// errPrinted ends a command after --print-config without an error message.
var errPrinted = errors.New("configuration printed")

func newLogger(settings *config.Settings) (zerolog.Logger, error) {
	return logging.New(settings.Logging, os.Stderr)
}

// runE adapts a command body so that --print-config exits cleanly.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		if errors.Is(err, errPrinted) {
			return nil
		}

		return err
	}
}

// version returns what the binary was built from (see buildinfo.Version).
func version() string { return buildinfo.Version() }
