package cmd

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
)

// purgeOptions are the flags of `dataflow purge`.
type purgeOptions struct {
	batchIDs      []string
	olderThanDays int
	maxBatches    int
	dryRun        bool
	json          bool
}

// purgeTimeFormat is the layout of end times in the text output.
const purgeTimeFormat = "2006-01-02 15:04:05Z"

// newPurgeCommand returns `dataflow purge`, which deletes finished batches
// with their items and upload folders, as POST /admin/purge does.
func newPurgeCommand(flags *globalFlags) *cobra.Command {
	opts := &purgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge (--batch-id <id>... | --older-than-days <days> [--max-batches <n>]) [--dry-run]",
		Short: "Delete finished batches with their items and upload folders",
		Long: "Deletes finished batches (Completed, CompletedWithErrors, Failed, Cancelled) from the configured database " +
			"and their folders from ImportStorage:BasePath: the folder first, then the items in pieces, then the batch row. " +
			"A batch that has not finished is never deleted. An interrupted purge leaves batches that the next purge, " +
			"or the retention job, finishes. It does the same as POST /admin/purge and needs no Admin:ApiKey.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			req, err := opts.request(cmd)
			if err != nil {
				return err
			}

			a, err := openApp(cmd, flags, config.RoleTool, appOptions{storage: true})
			if err != nil {
				return err
			}
			defer a.close()

			if err := a.kernel.CheckSchema(cmd.Context()); err != nil {
				return err
			}

			purger := imports.NewPurger(a.kernel.DB, a.kernel.Storage, a.kernel.Log, a.kernel.Now)
			out := cmd.OutOrStdout()
			if opts.dryRun {
				plan, err := purger.Plan(cmd.Context(), req)
				if err != nil {
					return err
				}

				if opts.json {
					return writeClientJSON(out, plan)
				}

				return printPurgePlan(out, plan)
			}

			result, err := purger.Purge(cmd.Context(), req)
			if err != nil {
				return fmt.Errorf("%w (deleted %s before the error; run the command again to go on)", err,
					countNoun(int64(result.DeletedBatches), "batch", "batches"))
			}

			if opts.json {
				return writeClientJSON(out, result)
			}

			fmt.Fprintf(out, "deleted %s\n", purgeCounts(result.DeletedBatches, result.DeletedItems, result.DeletedFolders))
			printPurgeSkips(out, result.Skipped)
			printKeptFiles(out, result.KeptFiles, "kept")

			return nil
		}),
	}
	cmd.Flags().StringArrayVar(&opts.batchIDs, "batch-id", nil, "id of a batch to delete (repeatable, up to 1000)")
	cmd.Flags().IntVar(&opts.olderThanDays, "older-than-days", 0,
		"delete the finished batches that ended more than this many days ago, oldest first, 0 to 36500")
	cmd.Flags().IntVar(&opts.maxBatches, "max-batches", imports.DefaultPurgeBatches,
		"with --older-than-days, the maximum number of batches to delete, 1 to 10000")
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "list the batches that would be deleted and change nothing")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON for scripts instead of text")

	return cmd
}

// request turns the flags into a purge request, naming the flag to fix.
func (o *purgeOptions) request(cmd *cobra.Command) (imports.PurgeRequest, error) {
	byAge := cmd.Flags().Changed("older-than-days")
	switch {
	case len(o.batchIDs) > 0 && byAge:
		return imports.PurgeRequest{}, errors.New("--batch-id and --older-than-days cannot be combined; give one of them")
	case len(o.batchIDs) == 0 && !byAge:
		return imports.PurgeRequest{}, errors.New("nothing selected: give --batch-id <id> (repeatable) or --older-than-days <days>")
	case cmd.Flags().Changed("max-batches") && !byAge:
		return imports.PurgeRequest{}, errors.New("--max-batches applies only with --older-than-days; remove it, since --batch-id already lists the batches")
	}

	if byAge {
		if o.olderThanDays < 0 || o.olderThanDays > imports.MaxPurgeDays {
			return imports.PurgeRequest{}, fmt.Errorf("invalid --older-than-days %d: use a whole number from 0 to %d", o.olderThanDays, imports.MaxPurgeDays)
		}

		if o.maxBatches < 1 || o.maxBatches > imports.MaxPurgeBatches {
			return imports.PurgeRequest{}, fmt.Errorf("invalid --max-batches %d: use a whole number from 1 to %d", o.maxBatches, imports.MaxPurgeBatches)
		}

		days := o.olderThanDays

		return imports.PurgeRequest{OlderThanDays: &days, MaxBatches: o.maxBatches}, nil
	}

	if len(o.batchIDs) > imports.MaxPurgeBatchIDs {
		return imports.PurgeRequest{}, fmt.Errorf("too many --batch-id flags (%d): give at most %d per run", len(o.batchIDs), imports.MaxPurgeBatchIDs)
	}

	req := imports.PurgeRequest{}
	for _, raw := range o.batchIDs {
		id, err := database.ParseUUID(strings.TrimSpace(raw))
		if err != nil {
			return imports.PurgeRequest{}, fmt.Errorf("invalid --batch-id %q: use a batch id such as 3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c", raw)
		}

		req.BatchIDs = append(req.BatchIDs, id)
	}

	return req, nil
}

func printPurgePlan(out io.Writer, plan imports.PurgePlan) error {
	var items int64
	folders := 0
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH ID\tCLIENT\tSTATUS\tENDED AT\tITEMS\tFOLDER")
	for _, b := range plan.Batches {
		folder := "missing"
		if b.FolderExists {
			folder = "present"
			folders++
		}

		// The identifier is what `dataflow client` commands take; a client
		// without a Clients row is shown by its id.
		client := cmp.Or(b.ClientIdentifier, b.ClientID)
		items += b.Items
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", b.BatchID, client, b.Status, b.EndedAt.UTC().Format(purgeTimeFormat), b.Items, folder)
	}

	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "dry run: would delete %s\n", purgeCounts(len(plan.Batches), items, folders))
	printPurgeSkips(out, plan.Skipped)
	printKeptFiles(out, plan.KeptFiles, "would keep")

	return nil
}

// purgeCounts returns "1 batch, 2 items and 0 folders".
func purgeCounts(batches int, items int64, folders int) string {
	return countNoun(int64(batches), "batch", "batches") + ", " + countNoun(items, "item", "items") + " and " +
		countNoun(int64(folders), "folder", "folders")
}

// countNoun returns n with the singular or plural noun.
func countNoun(n int64, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}

	return strconv.FormatInt(n, 10) + " " + plural
}

// printKeptFiles lists the upload files left on disk because they are
// outside their batch folder; verb is "kept" or "would keep".
func printKeptFiles(out io.Writer, files []imports.KeptFile, verb string) {
	for _, f := range files {
		fmt.Fprintf(out, "%s %s of batch %s: the file is outside the batch folder; delete it by hand once it is not needed\n",
			verb, f.Path, f.BatchID)
	}
}

// purgeSkipText explains each skip reason in the text output.
var purgeSkipText = map[string]string{
	imports.SkipNotFound:         "no batch has this id",
	imports.SkipNotFinished:      "the batch has not finished; cancel it or wait until it ends, then purge it again",
	imports.SkipFolderNotRemoved: "the upload folder could not be removed (see the log); purge it again once it can be",
}

func printPurgeSkips(out io.Writer, skipped []imports.PurgeSkip) {
	for _, s := range skipped {
		status := ""
		if s.Status != "" {
			status = " (" + s.Status + ")"
		}

		fmt.Fprintf(out, "skipped %s%s: %s\n", s.BatchID, status, purgeSkipText[s.Reason])
	}
}
