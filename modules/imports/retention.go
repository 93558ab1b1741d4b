package imports

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/metrics"
)

// RetentionConfig tunes the retention job; zero values take the defaults
// in brackets.
type RetentionConfig struct {
	// DefaultDays is DataRetention:BatchRetentionDays, the retention of
	// clients whose policy and the global policy set no RetentionDays [30].
	DefaultDays int
	// Interval is the pause between two runs (DataRetention:CheckIntervalHours) [6h].
	Interval time.Duration
	// FirstRunDelay is the pause before the first run [1m, or Interval when shorter].
	FirstRunDelay time.Duration
	// MaxBatchesPerRun bounds the batches one run deletes [100].
	MaxBatchesPerRun int
	// OrphanAge is how long a batch folder without a batch row must have
	// been left unchanged before it is removed [1h]. A folder is created
	// before its batch row, and an upload in progress keeps writing to it.
	OrphanAge time.Duration
}

func (c RetentionConfig) withDefaults() RetentionConfig {
	if c.DefaultDays <= 0 {
		c.DefaultDays = 30
	}

	if c.Interval <= 0 {
		c.Interval = 6 * time.Hour
	}

	if c.FirstRunDelay <= 0 {
		c.FirstRunDelay = min(time.Minute, c.Interval)
	}

	if c.MaxBatchesPerRun <= 0 {
		c.MaxBatchesPerRun = 100
	}

	if c.OrphanAge <= 0 {
		c.OrphanAge = time.Hour
	}

	return c
}

// Retention is the job of `work` that deletes finished batches once their
// client's retention period has passed, and removes upload folders that no
// batch needs any more. The period of a client is RetentionDays of its own
// ClientPolicies row, else of the global row (ClientId NULL), else
// DataRetention:BatchRetentionDays. When a scope has several rows, the
// oldest decides, as for the upload policy.
//
// Several `work` processes may run the job at once: every step is
// idempotent, and only the process whose DELETE removes a batch row counts
// the batch.
type Retention struct {
	cfg    RetentionConfig
	purger *Purger
	log    zerolog.Logger
	now    func() time.Time
}

// NewRetention returns the job. purger carries the database, the upload
// folder and the clock.
func NewRetention(cfg RetentionConfig, purger *Purger) *Retention {
	return &Retention{cfg: cfg.withDefaults(), purger: purger, log: purger.log, now: purger.now}
}

// RetentionReport counts what one run did.
type RetentionReport struct {
	DeletedBatches int
	DeletedItems   int64
	// DeletedFolders counts the folders of deleted batches.
	DeletedFolders int
	// OrphanFolders counts folders removed because no batch row has their
	// name.
	OrphanFolders int
	// FinishedFolders counts folders removed because their batch is
	// finished, left by a worker that stopped before it removed them.
	FinishedFolders int
	// Skipped counts batches kept because their folder could not be
	// removed.
	Skipped int
	// KeptFiles counts upload files of deleted batches left on disk
	// because they are outside their batch folder.
	KeptFiles int
	// InvalidPolicies counts ClientPolicies rows with RetentionDays below
	// 1. The batches they apply to are kept, and the run counts as failed
	// so that an alert on dataflow_retention_runs_total{result="error"}
	// fires until the rows are fixed.
	InvalidPolicies int
}

// Name returns "retention".
func (*Retention) Name() string { return "retention" }

// Run runs the cleanup shortly after start, then every Interval, until ctx
// ends. A failed run is logged and counted, and the next one comes at the
// usual time.
func (r *Retention) Run(ctx context.Context) error {
	r.log.Info().Int("default_days", r.cfg.DefaultDays).Str("interval", r.cfg.Interval.String()).
		Int("max_batches_per_run", r.cfg.MaxBatchesPerRun).Msg("retention: started")

	// Jitter spreads the first runs of workers that start together.
	wait := r.cfg.FirstRunDelay + time.Duration(rand.Int64N(int64(r.cfg.FirstRunDelay)/10+1))
	for {
		select {
		case <-ctx.Done():
			r.log.Info().Msg("retention: stopped")

			return nil
		case <-time.After(wait):
		}

		wait = r.cfg.Interval
		report, err := r.RunOnce(ctx)
		if ctx.Err() != nil {
			r.log.Info().Msg("retention: stopped")

			return nil
		}

		r.logRun(report, err)
	}
}

// logRun logs the counts of a run and counts the run in
// dataflow_retention_runs_total: as an error when it failed or found an
// invalid RetentionDays.
func (r *Retention) logRun(report RetentionReport, err error) {
	event := r.log.Debug()
	switch {
	case err != nil:
		metrics.RetentionRuns.WithLabelValues("error").Inc()
		event = r.log.Error().Err(err)
	case report.InvalidPolicies > 0:
		metrics.RetentionRuns.WithLabelValues("error").Inc()
		event = r.log.Error()
	case report != RetentionReport{}:
		metrics.RetentionRuns.WithLabelValues("ok").Inc()
		event = r.log.Info()
	default:
		metrics.RetentionRuns.WithLabelValues("ok").Inc()
	}

	event.Int("deleted_batches", report.DeletedBatches).Int64("deleted_items", report.DeletedItems).
		Int("deleted_folders", report.DeletedFolders).Int("orphan_folders", report.OrphanFolders).
		Int("finished_folders", report.FinishedFolders).Int("skipped", report.Skipped).
		Int("kept_files", report.KeptFiles).Int("invalid_policies", report.InvalidPolicies).
		Str("next_run_in", r.cfg.Interval.String()).Msg("retention: run finished")
}

// RunOnce deletes up to MaxBatchesPerRun expired batches, oldest first,
// then cleans the upload folder. It returns what it did even when it fails
// part way.
func (r *Retention) RunOnce(ctx context.Context) (RetentionReport, error) {
	var report RetentionReport
	expired, invalid, err := r.expiredBatches(ctx)
	report.InvalidPolicies = invalid
	if err != nil {
		return report, err
	}

	result, err := r.purger.deleteBatches(ctx, expired, triggerRetention)
	report.DeletedBatches = result.DeletedBatches
	report.DeletedItems = result.DeletedItems
	report.DeletedFolders = result.DeletedFolders
	report.Skipped = len(result.Skipped)
	report.KeptFiles = len(result.KeptFiles)
	if err != nil {
		return report, err
	}

	report.OrphanFolders, report.FinishedFolders, err = r.cleanFolders(ctx)

	return report, err
}

// expiredBatches returns up to MaxBatchesPerRun finished batches past
// their client's retention, oldest first, and the number of ClientPolicies
// rows with an invalid RetentionDays. Clients without RetentionDays of
// their own share one query with the default period; the others are
// queried by period.
func (r *Retention) expiredBatches(ctx context.Context) ([]finishedBatch, int, error) {
	periods, err := r.periods(ctx)
	if err != nil {
		return nil, 0, err
	}

	invalid := periods.invalidRows

	now := r.now().UTC()
	limit := r.cfg.MaxBatchesPerRun
	var all []finishedBatch
	if periods.defaultDays > 0 {
		found, err := r.purger.store.finishedBefore(ctx, now.AddDate(0, 0, -periods.defaultDays), limit,
			clientScope{withoutOwnRetention: true})
		if err != nil {
			return nil, invalid, err
		}

		all = append(all, found...)
	}

	for days, clientIDs := range periods.byDays {
		for start := 0; start < len(clientIDs); start += idsPerQuery {
			group := clientIDs[start:min(start+idsPerQuery, len(clientIDs))]
			found, err := r.purger.store.finishedBefore(ctx, now.AddDate(0, 0, -days), limit, clientScope{only: group})
			if err != nil {
				return nil, invalid, err
			}

			all = append(all, found...)
		}
	}

	slices.SortFunc(all, endedBefore)

	return all[:min(len(all), limit)], invalid, nil
}

// retentionPeriods are the retention periods in days in effect now.
type retentionPeriods struct {
	// defaultDays applies to clients without RetentionDays of their own:
	// the global row's, else the setting. 0 means the global row is
	// invalid and those clients keep their batches this run.
	defaultDays int
	// byDays lists the clients with RetentionDays of their own by period.
	byDays map[int][]database.UUID
	// invalidRows counts the rows whose RetentionDays is below 1.
	invalidRows int
}

// periods reads ClientPolicies. A RetentionDays below 1 can only come from
// a row written by hand. Deleting on a wrong value cannot be undone, so the
// batches it applies to are kept, and the row is logged with its Id and
// client so that an operator can fix it.
func (r *Retention) periods(ctx context.Context) (retentionPeriods, error) {
	rows, err := r.purger.store.allPolicies(ctx)
	if err != nil {
		return retentionPeriods{}, err
	}

	p := retentionPeriods{defaultDays: r.cfg.DefaultDays, byDays: map[int][]database.UUID{}}
	var global *clients.Policy
	own := map[database.UUID]clients.Policy{}
	var withOwn []database.UUID
	hasOwn := map[database.UUID]bool{}
	for _, row := range rows {
		if row.ClientID == nil {
			if global == nil {
				global = &row
			}

			continue
		}

		id := *row.ClientID
		if _, seen := own[id]; !seen {
			own[id] = row
		}

		// Every client with a row that sets RetentionDays is left out of
		// the default query, so it is queried here, with the value of its
		// oldest row, which may be NULL.
		if row.RetentionDays != nil && !hasOwn[id] {
			hasOwn[id] = true
			withOwn = append(withOwn, id)
		}
	}

	if global != nil && global.RetentionDays != nil {
		p.defaultDays = *global.RetentionDays
		if p.defaultDays < 1 {
			p.invalidRows++
			r.log.Error().Str("policy_id", global.ID.String()).Int("retention_days", p.defaultDays).
				Msg("retention: the global ClientPolicies row has RetentionDays below 1; clients without their own RetentionDays keep their batches until it is fixed")
			p.defaultDays = 0
		}
	}

	var invalid []clients.Policy
	for _, id := range withOwn {
		days := p.defaultDays
		if v := own[id].RetentionDays; v != nil {
			days = *v
			if days < 1 {
				invalid = append(invalid, own[id])

				continue
			}
		}

		if days < 1 {
			continue
		}

		days = min(days, maxRetentionDays)
		p.byDays[days] = append(p.byDays[days], id)
	}

	p.defaultDays = min(p.defaultDays, maxRetentionDays)
	p.invalidRows += len(invalid)
	r.logInvalidPolicies(ctx, invalid)

	return p, nil
}

// logInvalidPolicies logs each client row whose RetentionDays is below 1,
// naming the row and the client's identifier.
func (r *Retention) logInvalidPolicies(ctx context.Context, rows []clients.Policy) {
	if len(rows) == 0 {
		return
	}

	ids := make([]database.UUID, len(rows))
	for i, row := range rows {
		ids[i] = *row.ClientID
	}

	identifiers, err := r.purger.store.clientIdentifiers(ctx, ids)
	if err != nil {
		r.log.Warn().Err(err).Msg("retention: loading the identifiers of clients with an invalid RetentionDays failed")
	}

	for _, row := range rows {
		r.log.Error().Str("policy_id", row.ID.String()).Str("client_id", row.ClientID.String()).
			Str("client_identifier", identifiers[*row.ClientID]).Int("retention_days", *row.RetentionDays).
			Msg("retention: a client's ClientPolicies row has RetentionDays below 1; its batches are kept until it is fixed")
	}
}
