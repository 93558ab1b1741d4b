package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/webhooks"
	"github.com/dataflow/dataflow/platform/database"
)

// newWebhookCommand returns `dataflow webhook`, the operator commands that
// manage clients' webhook subscriptions.
func newWebhookCommand(flags *globalFlags) *cobra.Command {
	opts := &clientOptions{global: flags}
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Add, list and remove clients' webhook subscriptions",
		Long: "Manages the WebhookSubscriptions table of the configured database. `add` generates the signing " +
			"secret and prints it once; nothing else ever shows it.",
	}
	cmd.PersistentFlags().BoolVar(&opts.json, "json", false, "print JSON for scripts instead of text")
	cmd.AddCommand(newWebhookAddCommand(opts), newWebhookListCommand(opts), newWebhookRemoveCommand(opts))

	return cmd
}

// webhookResult is one subscription in the JSON output.
type webhookResult struct {
	ID               string   `json:"id"`
	ClientIdentifier string   `json:"clientIdentifier"`
	URL              string   `json:"url"`
	Events           []string `json:"events"`
	IsActive         bool     `json:"isActive"`
	DisabledReason   *string  `json:"disabledReason,omitempty"`
	Secret           string   `json:"secret,omitempty"`
}

func newWebhookResult(identifier string, s webhooks.Subscription) webhookResult {
	events := webhooks.EventTypes
	if s.Events != nil && *s.Events != "" {
		events = strings.Split(*s.Events, ",")
	}

	return webhookResult{ID: s.ID.String(), ClientIdentifier: identifier, URL: s.URL, Events: events, IsActive: s.IsActive,
		DisabledReason: s.DisabledReason}
}

func newWebhookAddCommand(opts *clientOptions) *cobra.Command {
	var client, url string
	var events []string
	cmd := &cobra.Command{
		Use:   "add --client <clientIdentifier> --url <https URL> [--event batch.failed ...]",
		Short: "Subscribe a client's endpoint to batch events and print its secret once",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, store, clientID, identifier, err := openWebhookStore(cmd, opts, client)
			if err != nil {
				return err
			}
			defer a.close()

			canonical, err := webhooks.ValidateURL(url, a.kernel.Settings.Webhooks.AllowInsecureTargets)
			if err != nil {
				return fmt.Errorf("invalid --url: %w", err)
			}

			for i, e := range events {
				events[i] = strings.ToLower(strings.TrimSpace(e))
				if !slices.Contains(webhooks.EventTypes, events[i]) {
					return fmt.Errorf("invalid --event %q: use one of %s, or leave --event out for all of them",
						e, strings.Join(webhooks.EventTypes, ", "))
				}
			}

			sub, err := store.CreateSubscription(cmd.Context(), clientID, canonical, events, webhooks.MaxSubscriptionsPerClient)
			if errors.Is(err, webhooks.ErrTooManySubscriptions) {
				return fmt.Errorf("client %s already has %d webhook subscriptions, the limit: remove one first with "+
					"`dataflow webhook remove --client %s --id <id>` (see `dataflow webhook list`)", identifier, webhooks.MaxSubscriptionsPerClient, identifier)
			}
			if errors.Is(err, webhooks.ErrDuplicateURL) {
				return fmt.Errorf("client %s already has a subscription for this URL: remove it first with "+
					"`dataflow webhook remove --client %s --id <id>` (see `dataflow webhook list`)", identifier, identifier)
			}
			if err != nil {
				return err
			}

			a.kernel.Log.Info().Str("client_identifier", identifier).Str("subscription_id", sub.ID.String()).Msg("webhook: subscription added")

			result := newWebhookResult(identifier, sub)
			result.Secret = sub.Secret
			if opts.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(result)
			}

			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Added webhook %s for client %s: %s (%s)\n", sub.ID, identifier, sub.URL, strings.Join(result.Events, ", "))
			fmt.Fprintf(out, "Signing secret (shown only now; give it to the client over a safe channel):\n%s\n", sub.Secret)

			return nil
		}),
	}
	cmd.Flags().StringVar(&client, "client", "", "client identifier (required)")
	cmd.Flags().StringVar(&url, "url", "", "https URL of the client's endpoint (required)")
	cmd.Flags().StringArrayVar(&events, "event", nil, "event type to send, repeatable; default all: "+strings.Join(webhooks.EventTypes, ", "))
	_ = cmd.MarkFlagRequired("client")
	_ = cmd.MarkFlagRequired("url")

	return cmd
}

func newWebhookListCommand(opts *clientOptions) *cobra.Command {
	var client string
	cmd := &cobra.Command{
		Use:   "list --client <clientIdentifier>",
		Short: "List a client's webhook subscriptions (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			a, store, clientID, identifier, err := openWebhookStore(cmd, opts, client)
			if err != nil {
				return err
			}
			defer a.close()

			subs, err := store.Subscriptions(cmd.Context(), clientID)
			if err != nil {
				return err
			}

			results := make([]webhookResult, 0, len(subs))
			for _, s := range subs {
				results = append(results, newWebhookResult(identifier, s))
			}
			if opts.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
			}

			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tURL\tEVENTS\tACTIVE\tDISABLED REASON")
			for _, r := range results {
				reason := ""
				if r.DisabledReason != nil {
					reason = *r.DisabledReason
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\n", r.ID, r.URL, strings.Join(r.Events, ","), r.IsActive, reason)
			}

			return w.Flush()
		}),
	}
	cmd.Flags().StringVar(&client, "client", "", "client identifier (required)")
	_ = cmd.MarkFlagRequired("client")

	return cmd
}

func newWebhookRemoveCommand(opts *clientOptions) *cobra.Command {
	var client, id string
	cmd := &cobra.Command{
		Use:   "remove --client <clientIdentifier> --id <subscription id>",
		Short: "Remove a webhook subscription and its delivery log",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			subID, err := database.ParseUUID(id)
			if err != nil {
				return fmt.Errorf("invalid --id %q: pass a subscription id as `dataflow webhook list` shows it", id)
			}

			a, store, clientID, identifier, err := openWebhookStore(cmd, opts, client)
			if err != nil {
				return err
			}
			defer a.close()

			err = store.DeleteSubscription(cmd.Context(), clientID, subID)
			if errors.Is(err, webhooks.ErrNotFound) {
				return fmt.Errorf("client %s has no webhook subscription %s; see `dataflow webhook list --client %s`", identifier, subID, identifier)
			}
			if err != nil {
				return err
			}

			a.kernel.Log.Info().Str("client_identifier", identifier).Str("subscription_id", subID.String()).Msg("webhook: subscription removed")
			if opts.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": subID.String(), "removed": "true"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed webhook %s of client %s\n", subID, identifier)

			return nil
		}),
	}
	cmd.Flags().StringVar(&client, "client", "", "client identifier (required)")
	cmd.Flags().StringVar(&id, "id", "", "subscription id (required)")
	_ = cmd.MarkFlagRequired("client")
	_ = cmd.MarkFlagRequired("id")

	return cmd
}

// openWebhookStore opens the database and resolves the client identifier.
func openWebhookStore(cmd *cobra.Command, opts *clientOptions, client string) (*app, *webhooks.Store, database.UUID, string, error) {
	identifier, err := clients.ValidateIdentifier(client)
	if err != nil {
		return nil, nil, database.UUID{}, "", fmt.Errorf("%w (flag --client)", err)
	}

	a, clientStore, err := openClientStore(cmd, opts)
	if err != nil {
		return nil, nil, database.UUID{}, "", err
	}

	found, err := clientStore.ByIdentifier(cmd.Context(), identifier)
	if errors.Is(err, clients.ErrNotFound) {
		a.close()

		return nil, nil, database.UUID{}, "", fmt.Errorf("no client %s: see `dataflow client list`", identifier)
	}
	if err != nil {
		a.close()

		return nil, nil, database.UUID{}, "", err
	}

	return a, webhooks.NewStore(a.db, a.kernel.Now), found.ID, identifier, nil
}
