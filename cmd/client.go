package cmd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
)

// clientOptions are the flags every `client` subcommand shares.
type clientOptions struct {
	global *globalFlags
	json   bool
}

// clientTimeFormat is the layout of CreatedAt and LastSeenAt in the text output.
const clientTimeFormat = "2006-01-02 15:04:05Z"

// newClientCommand returns `dataflow client`, the operator commands that
// manage API clients and their policies in the configured database.
//
// Secrets come only from standard input or --generate-secret, never from a
// flag or an environment variable, which other users could read from the
// process list or the shell history.
func newClientCommand(flags *globalFlags) *cobra.Command {
	opts := &clientOptions{global: flags}
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Create, rotate, suspend and list API clients and edit their policies",
		Long: "Manages the Clients and ClientPolicies tables of the configured database. Commands that take a " +
			"secret read it as one line from standard input. Secrets are never printed, except the one that " +
			"--generate-secret creates, which is printed once.",
	}
	cmd.PersistentFlags().BoolVar(&opts.json, "json", false, "print JSON for scripts instead of text")

	cmd.AddCommand(
		newClientCreateCommand(opts),
		newClientRotateCommand(opts),
		newClientStatusCommand(opts, "suspend", clients.StatusSuspended,
			"Suspend a client: its requests are rejected until it is activated again"),
		newClientStatusCommand(opts, "activate", clients.StatusActive, "Activate a suspended client"),
		newClientListCommand(opts),
		newClientPolicyCommand(opts),
		newClientHashCommand(opts),
	)

	return cmd
}

// clientResult is the JSON output of create, rotate, suspend and activate.
type clientResult struct {
	ClientIdentifier string     `json:"clientIdentifier"`
	Name             string     `json:"name,omitempty"`
	Status           string     `json:"status,omitempty"`
	PreviousStatus   string     `json:"previousStatus,omitempty"`
	CreatedAt        *time.Time `json:"createdAt,omitempty"`
	// Secret is set only for --generate-secret, the one time it is shown.
	Secret string `json:"secret,omitempty"`
}

func newClientCreateCommand(opts *clientOptions) *cobra.Command {
	var id, name string
	var generate bool
	cmd := &cobra.Command{
		Use:   "create --id <clientIdentifier> --name <name> < secret.txt",
		Short: "Create an active client with the secret read from standard input",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			identifier, err := clients.ValidateIdentifier(id)
			if err != nil {
				return fmt.Errorf("%w (flag --id)", err)
			}

			displayName, err := clients.ValidateName(name)
			if err != nil {
				return fmt.Errorf("%w (flag --name)", err)
			}

			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			secret, err := clientSecret(cmd, generate)
			if err != nil {
				return err
			}

			created, err := store.AddClient(cmd.Context(), identifier, displayName, secret)
			if errors.Is(err, clients.ErrDuplicateIdentifier) {
				return fmt.Errorf("client %s already exists: choose another --id, or change its secret with "+
					"`dataflow client rotate --id %s`", identifier, identifier)
			}

			if err != nil {
				return err
			}

			a.kernel.Log.Info().Str("client_id", created.ID.String()).Str("client_identifier", identifier).
				Msg("client: created")

			result := clientResult{
				ClientIdentifier: created.ClientIdentifier,
				Name:             created.Name,
				Status:           created.Status,
				CreatedAt:        &created.CreatedAt,
			}
			if generate {
				result.Secret = secret
			}

			if opts.json {
				return writeClientJSON(cmd.OutOrStdout(), result)
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created client %s (%s), status %s\n", result.ClientIdentifier, result.Name, result.Status)
			printGeneratedSecret(out, result.Secret)

			return nil
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "client identifier (X-Client-Id): 1 to 64 letters, digits, '.', '_' or '-', stored lower-case")
	cmd.Flags().StringVar(&name, "name", "", "display name, 1 to 120 characters")
	cmd.Flags().BoolVar(&generate, "generate-secret", false,
		"create a random secret (32 bytes, base64url) and print it once instead of reading standard input")

	return cmd
}

func newClientRotateCommand(opts *clientOptions) *cobra.Command {
	var id string
	var generate bool
	cmd := &cobra.Command{
		Use:   "rotate --id <clientIdentifier> < secret.txt",
		Short: "Replace a client's secret with the one read from standard input",
		Long: "Replaces the stored hash and salt. The old secret stops working at the next request, " +
			"including in running serve processes.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			identifier, err := clients.ValidateIdentifier(id)
			if err != nil {
				return fmt.Errorf("%w (flag --id)", err)
			}

			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			secret, err := clientSecret(cmd, generate)
			if err != nil {
				return err
			}

			client, err := store.RotateSecret(cmd.Context(), identifier, secret)
			if err != nil {
				return clientLookupError(err, identifier)
			}

			a.kernel.Log.Info().Str("client_id", client.ID.String()).Str("client_identifier", identifier).
				Msg("client: rotated secret")

			result := clientResult{ClientIdentifier: client.ClientIdentifier, Status: client.Status}
			if generate {
				result.Secret = secret
			}

			if opts.json {
				return writeClientJSON(cmd.OutOrStdout(), result)
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "rotated the secret of client %s\n", result.ClientIdentifier)
			printGeneratedSecret(out, result.Secret)

			return nil
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "client identifier (X-Client-Id)")
	cmd.Flags().BoolVar(&generate, "generate-secret", false,
		"create a random secret (32 bytes, base64url) and print it once instead of reading standard input")

	return cmd
}

func newClientStatusCommand(opts *clientOptions, use, status, short string) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   use + " --id <clientIdentifier>",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			identifier, err := clients.ValidateIdentifier(id)
			if err != nil {
				return fmt.Errorf("%w (flag --id)", err)
			}

			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			previous, err := store.ChangeStatus(cmd.Context(), identifier, status)
			if err != nil {
				return clientLookupError(err, identifier)
			}

			a.kernel.Log.Info().Str("client_identifier", identifier).Str("status", status).
				Str("previous_status", previous).Msg("client: status set")

			if opts.json {
				return writeClientJSON(cmd.OutOrStdout(),
					clientResult{ClientIdentifier: identifier, Status: status, PreviousStatus: previous})
			}

			fmt.Fprintf(cmd.OutOrStdout(), "client %s is %s (was %s)\n", identifier, status, previous)

			return nil
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "client identifier (X-Client-Id)")

	return cmd
}

func newClientListCommand(opts *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List clients with their status and when they were created and last seen",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			summaries, err := store.List(cmd.Context())
			if err != nil {
				return err
			}

			if opts.json {
				return writeClientJSON(cmd.OutOrStdout(), summaries)
			}

			if len(summaries) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no clients yet; add one with `dataflow client create`")

				return nil
			}

			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IDENTIFIER\tNAME\tSTATUS\tCREATED\tLAST SEEN")
			for _, s := range summaries {
				lastSeen := "never"
				if s.LastSeenAt != nil {
					lastSeen = s.LastSeenAt.UTC().Format(clientTimeFormat)
				}

				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ClientIdentifier, s.Name, s.Status,
					s.CreatedAt.UTC().Format(clientTimeFormat), lastSeen)
			}

			return tw.Flush()
		}),
	}
}

// policyScope selects the ClientPolicies row that a policy command edits.
type policyScope struct {
	id     string
	global bool
}

func (p *policyScope) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.id, "id", "", "client identifier (X-Client-Id) whose policy to use")
	cmd.Flags().BoolVar(&p.global, "global", false, "use the global policy (the row with ClientId NULL) instead of a client's")
}

// identifier returns the normalized client identifier, or "" for the global
// row.
func (p *policyScope) identifier() (string, error) {
	switch {
	case p.global && p.id != "":
		return "", errors.New("--id and --global exclude each other: pass --id for a client's policy or --global for the global one")
	case p.global:
		return "", nil
	case p.id == "":
		return "", errors.New("missing --id: name the client with --id, or pass --global for the global policy")
	}

	identifier, err := clients.ValidateIdentifier(p.id)
	if err != nil {
		return "", fmt.Errorf("%w (flag --id)", err)
	}

	return identifier, nil
}

func newClientPolicyCommand(opts *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or change a client's policy or the global policy (table ClientPolicies)",
	}
	cmd.AddCommand(newClientPolicySetCommand(opts), newClientPolicyShowCommand(opts))

	return cmd
}

func newClientPolicySetCommand(opts *clientOptions) *cobra.Command {
	var scope policyScope
	settings := clients.PolicySettings()
	values := make(map[string]*policyFlagValue, len(settings))
	cmd := &cobra.Command{
		Use:   "set (--id <clientIdentifier> | --global) [--<setting> <value>]...",
		Short: "Create or update a policy row; --<setting>=null restores the default",
		Long: "Creates the policy row when it is missing and changes only the settings given. A setting given " +
			"as null, such as --max-file-size-mb=null, stores NULL, so the default applies again.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			identifier, err := scope.identifier()
			if err != nil {
				return err
			}

			var changes []clients.PolicyChange
			var invalid []error
			for _, setting := range settings {
				if !cmd.Flags().Changed(setting.Name) {
					continue
				}

				value, err := setting.Parse(values[setting.Name].text)
				if err != nil {
					invalid = append(invalid, err)

					continue
				}

				changes = append(changes, clients.PolicyChange{Setting: setting, Value: value})
			}

			if len(invalid) > 0 {
				return errors.Join(invalid...)
			}

			if len(changes) == 0 {
				return errors.New("no policy setting given: pass at least one, such as --max-file-size-mb 50 " +
					"(`dataflow client policy set --help` lists them)")
			}

			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			policy, err := store.SetPolicy(cmd.Context(), identifier, changes)
			if err != nil {
				return clientLookupError(err, identifier)
			}

			changed := make([]string, 0, len(changes))
			for _, change := range changes {
				changed = append(changed, change.Setting.Name)
			}

			a.kernel.Log.Info().Str("client_identifier", identifier).Strs("settings", changed).Msg("client: policy set")

			return writePolicy(cmd.OutOrStdout(), opts.json, identifier, policy, true)
		}),
	}
	scope.addFlags(cmd)
	for _, setting := range settings {
		value := &policyFlagValue{typeName: "int"}
		if setting.Kind == clients.PolicyBool {
			value.typeName = "true|false"
		}

		values[setting.Name] = value
		cmd.Flags().Var(value, setting.Name, setting.Usage+"; null restores the default")
	}

	return cmd
}

// policyFlagValue is the text of one policy flag. Parsing waits for
// PolicySetting.Parse, which also accepts null, and the type name only shows
// in the help.
type policyFlagValue struct {
	text     string
	typeName string
}

func (v *policyFlagValue) String() string { return v.text }

func (v *policyFlagValue) Set(text string) error {
	v.text = text

	return nil
}

func (v *policyFlagValue) Type() string { return v.typeName }

func newClientPolicyShowCommand(opts *clientOptions) *cobra.Command {
	var scope policyScope
	cmd := &cobra.Command{
		Use:   "show (--id <clientIdentifier> | --global)",
		Short: "Show a policy row; a NULL column prints as (default)",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			identifier, err := scope.identifier()
			if err != nil {
				return err
			}

			a, store, err := openClientStore(cmd, opts)
			if err != nil {
				return err
			}
			defer a.close()

			policy, found, err := store.PolicyFor(cmd.Context(), identifier)
			if err != nil {
				return clientLookupError(err, identifier)
			}

			return writePolicy(cmd.OutOrStdout(), opts.json, identifier, policy, found)
		}),
	}
	scope.addFlags(cmd)

	return cmd
}

// policyOutput is the JSON output of policy set and policy show. Settings
// maps each setting's JSON name to its value, null for NULL.
type policyOutput struct {
	Scope            string         `json:"scope"`
	ClientIdentifier *string        `json:"clientIdentifier"`
	Stored           bool           `json:"stored"`
	Settings         map[string]any `json:"settings"`
}

// writePolicy prints a policy row. stored is false when the row does not
// exist, so every setting uses the default.
func writePolicy(out io.Writer, asJSON bool, identifier string, policy clients.Policy, stored bool) error {
	label := "global policy"
	if identifier != "" {
		label = "policy of client " + identifier
	}

	if asJSON {
		output := policyOutput{Scope: "global", Stored: stored, Settings: map[string]any{}}
		if identifier != "" {
			output.Scope = "client"
			output.ClientIdentifier = &identifier
		}

		for _, setting := range clients.PolicySettings() {
			output.Settings[setting.JSONName] = setting.Value(&policy)
		}

		return writeClientJSON(out, output)
	}

	if stored {
		fmt.Fprintf(out, "%s (ClientPolicies row %s):\n", label, policy.ID)
	} else {
		fmt.Fprintf(out, "%s: no ClientPolicies row, so every setting uses the default\n", label)
	}

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, setting := range clients.PolicySettings() {
		value := setting.Value(&policy)
		text := "(default)"
		if value != nil {
			text = fmt.Sprint(value)
		}

		fmt.Fprintf(tw, "  %s\t%s\n", setting.Name, text)
	}

	return tw.Flush()
}

// hashOutput is the JSON output of `client hash`.
type hashOutput struct {
	SecretHash string `json:"secretHash"`
	SecretSalt string `json:"secretSalt"`
	Dialect    string `json:"dialect"`
	// SQL is set only when --id is given.
	SQL string `json:"sql,omitempty"`
}

func newClientHashCommand(opts *clientOptions) *cobra.Command {
	var id, dialect string
	cmd := &cobra.Command{
		Use:   "hash [--id <clientIdentifier>] [--dialect sqlserver|postgres|sqlite] < secret.txt",
		Short: "Hash a secret from standard input and print the hash, the salt and an UPDATE statement",
		Long: "Hashes the secret as DataFlow and the .NET service store it (PBKDF2-HMAC-SHA256, 100,000 " +
			"iterations, 32-byte salt, 32-byte key) and prints both columns in base64. With --id it also prints " +
			"an UPDATE statement for the Clients table. It does not open the database.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			provider, err := database.ParseProvider(dialect)
			if err != nil || provider == "" {
				return fmt.Errorf("invalid --dialect %q: use sqlserver, postgres or sqlite", dialect)
			}

			identifier := ""
			if id != "" {
				identifier, err = clients.ValidateIdentifier(id)
				if err != nil {
					return fmt.Errorf("%w (flag --id)", err)
				}
			}

			secret, err := readClientSecret(cmd)
			if err != nil {
				return err
			}

			hash, salt, err := clients.HashSecret(secret)
			if err != nil {
				return err
			}

			output := hashOutput{
				SecretHash: base64.StdEncoding.EncodeToString(hash),
				SecretSalt: base64.StdEncoding.EncodeToString(salt),
				Dialect:    string(provider),
			}
			if identifier != "" {
				output.SQL, err = clients.UpdateSecretSQL(provider, identifier, hash, salt)
				if err != nil {
					return err
				}
			}

			if opts.json {
				return writeClientJSON(cmd.OutOrStdout(), output)
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "SecretHash (base64): %s\n", output.SecretHash)
			fmt.Fprintf(out, "SecretSalt (base64): %s\n", output.SecretSalt)
			if output.SQL == "" {
				fmt.Fprintln(out, "add --id <clientIdentifier> to print an UPDATE statement")

				return nil
			}

			fmt.Fprintf(out, "%s statement:\n%s\n", output.Dialect, output.SQL)

			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "client identifier for the WHERE clause of the UPDATE statement")
	cmd.Flags().StringVar(&dialect, "dialect", "sqlserver", "SQL syntax of the statement: sqlserver, postgres or sqlite")

	return cmd
}

// openClientStore opens the configured database for a client command and
// checks that its schema is current.
func openClientStore(cmd *cobra.Command, opts *clientOptions) (*app, *clients.Store, error) {
	a, err := openApp(cmd, opts.global, config.RoleTool, appOptions{})
	if err != nil {
		return nil, nil, err
	}

	if err := a.kernel.CheckSchema(cmd.Context()); err != nil {
		a.close()

		return nil, nil, err
	}

	return a, clients.NewStore(a.db, a.kernel.Now), nil
}

// clientSecret returns a generated secret, or the one line read from
// standard input, for the commands that offer --generate-secret.
func clientSecret(cmd *cobra.Command, generate bool) (string, error) {
	if generate {
		return clients.GenerateSecret(), nil
	}

	secret, err := readClientSecret(cmd)
	if err != nil {
		return "", fmt.Errorf("%w (or pass --generate-secret)", err)
	}

	return secret, nil
}

// readClientSecret reads and validates the secret on standard input.
func readClientSecret(cmd *cobra.Command) (string, error) {
	secret, err := readSecretLine(cmd.InOrStdin())
	if err != nil {
		return "", err
	}

	if err := clients.ValidateSecret(secret); err != nil {
		return "", err
	}

	return secret, nil
}

// readSecretLine reads a secret as one line: the input up to its end, less
// one trailing "\n" or "\r\n". It rejects a terminal, which would echo the
// secret, and input with more than one line.
func readSecretLine(in io.Reader) (string, error) {
	if file, ok := in.(*os.File); ok && (isatty.IsTerminal(file.Fd()) || isatty.IsCygwinTerminal(file.Fd())) {
		return "", errors.New("reading the client secret: standard input is a terminal, which would show the " +
			"secret as it is typed; pipe it in instead, such as `dataflow client create ... < secret.txt`")
	}

	// Reading a few bytes past the maximum lets ValidateSecret report a long
	// secret instead of a silently cut one.
	data, err := io.ReadAll(io.LimitReader(in, clients.MaxSecretBytes+3))
	if err != nil {
		return "", fmt.Errorf("reading the client secret from standard input: %w", err)
	}

	line := strings.TrimSuffix(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")

	if strings.ContainsAny(line, "\r\n") {
		return "", errors.New("reading the client secret: standard input has more than one line; send only the secret, " +
			"followed by at most one line ending")
	}

	if line == "" {
		return "", errors.New("missing client secret: standard input is empty; pipe the secret in as one line")
	}

	return line, nil
}

// clientLookupError turns ErrNotFound into a message that names the
// identifier and the command that lists the known ones.
func clientLookupError(err error, identifier string) error {
	if errors.Is(err, clients.ErrNotFound) {
		return fmt.Errorf("client %s not found: check --id against `dataflow client list`", identifier)
	}

	return err
}

func printGeneratedSecret(out io.Writer, secret string) {
	if secret == "" {
		return
	}

	fmt.Fprintln(out, "generated secret, shown only this once; store it now:")
	fmt.Fprintln(out, secret)
}

func writeClientJSON(out io.Writer, value any) error {
	encoder := json.NewEncoder(out)
	encoder.SetIndent("", "  ")

	return encoder.Encode(value)
}
