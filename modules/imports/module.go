// Package imports owns batches and their items: the upload and status
// endpoints, and the worker that parses files, stages records and delivers
// them to OmniFlow chunk by chunk.
package imports

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/records"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/kernel"
	"github.com/dataflow/dataflow/platform/metrics"
)

// Module registers the imports schema, routes and jobs.
type Module struct {
	auth   echo.MiddlewareFunc
	slots  Slots
	sender Sender
	worker *Worker
	store  *store
	hooks  []FinishHook
}

// New returns the module. auth authenticates API calls; slots and sender are
// used by the worker and may be nil for processes that only serve the API.
func New(auth echo.MiddlewareFunc, slots Slots, sender Sender) *Module {
	return &Module{auth: auth, slots: slots, sender: sender}
}

// Name returns "imports".
func (*Module) Name() string { return "imports" }

// Register adds migrations, routes and, when a sender is set, the worker,
// the watchdog and, with DataRetention:EnableCleanup, the retention job.
func (m *Module) Register(k *kernel.Kernel) error {
	k.AddMigrations(Migrations()...)

	m.store = &store{db: k.DB, now: k.Now, hooks: &m.hooks}
	reading := ReadingConfig{
		RequiredFields: k.Settings.ImportBatch.RequiredFields,
		DedupKey:       k.Settings.ImportBatch.DedupKey,
		MaxRecords:     k.Settings.ImportBatch.MaxRecords,
		Limits: records.Limits{
			MaxRecordBytes: k.Settings.ImportBatch.MaxRecordBytes,
			MaxFields:      k.Settings.ImportBatch.MaxFieldsPerRecord,
			MaxDepth:       k.Settings.ImportBatch.MaxNestingDepth,
		},
	}
	h := &handlers{store: m.store, storage: k.Storage, log: k.Log, now: k.Now, maxFileSizeMb: k.Settings.ImportStorage.MaxFileSizeMb,
		uploadIdleTimeout: k.Settings.ImportStorage.UploadIdleTimeout, reading: reading,
		duplicateWindow:    time.Duration(k.Settings.ImportBatch.DuplicateWindowHours * float64(time.Hour)),
		rateLimitPerMinute: k.Settings.RateLimit.RequestsPerMinute, scheduling: k.Settings.Scheduling,
		counter: clients.NewCounter(k.DB, k.Now)}
	metrics.SetBatchStatsSource(m.store.batchStats)
	purge := &purgeHandler{purger: NewPurger(k.DB, k.Storage, k.Log, k.Now), log: k.Log}
	adminKey := httpserver.KeyAuth(httpserver.KeyAuthConfig{Header: "X-Admin-Key", Key: k.Settings.Admin.ApiKey, Setting: "Admin:ApiKey", Log: k.Log})
	k.AddRoutes(func(e *echo.Echo) {
		// Middleware per route, not per group, because a group's catch-all
		// would return 404 where a wrong method deserves 405.
		e.POST("/imports", h.upload, m.auth)
		e.GET("/imports", h.listBatches, m.auth)
		e.GET("/imports/:batchId", h.getBatch, m.auth)
		e.POST("/imports/:batchId/cancel", h.cancelBatch, m.auth)
		e.POST("/imports/:batchId/retry", h.retryBatch, m.auth)
		e.GET("/imports/:batchId/items", h.listItems, m.auth)
		e.GET("/imports/:batchId/errors.csv", h.errorsCSV, m.auth)
		e.POST("/admin/purge", purge.purge, adminKey)
	})

	if m.sender == nil || m.slots == nil {
		return nil
	}

	s := k.Settings
	m.worker = &Worker{
		cfg: WorkerConfig{
			ID:                DefaultWorkerID(),
			ChunkSize:         s.ImportBatch.ChunkSize,
			PollInterval:      s.PollInterval(),
			LockTimeout:       s.LockTimeoutDuration(),
			HeartbeatInterval: s.HeartbeatEvery(),
			Slots:             s.ImportBatch.MaxConcurrentBatches,
			MaxAttempts:       s.ImportBatch.MaxBatchAttempts,
			UnavailableDelay:  s.ImportBatch.UnavailableDelay,
			ShutdownTimeout:   s.ImportBatch.ShutdownTimeout,
			Reading:           reading,
			MaxPerClient:      s.ImportBatch.MaxConcurrentBatchesPerClient,
			Redaction: RedactionConfig{
				OnSuccess:   s.SensitiveData.RedactPayloadOnSuccess,
				OnFailure:   s.SensitiveData.RedactPayloadOnFailure,
				IncludeHash: s.SensitiveData.IncludePayloadHash,
			},
		},
		store: m.store, slots: m.slots, sender: m.sender, storage: k.Storage, log: k.Log, now: k.Now,
	}
	k.AddJobs(m.worker, &Watchdog{
		slots: m.slots, store: m.store, timeout: s.LockTimeoutDuration(), interval: s.WatchdogEvery(), log: k.Log,
	})
	if s.DataRetention.EnableCleanup {
		k.AddJobs(NewRetention(RetentionConfig{DefaultDays: s.DataRetention.BatchRetentionDays, Interval: s.RetentionCheckEvery(),
			MaxBatchesPerRun: s.DataRetention.MaxBatchesPerRun}, NewPurger(k.DB, k.Storage, k.Log, k.Now)))
	}

	return nil
}

// Worker returns the worker, nil when the module has no sender.
func (m *Module) Worker() *Worker { return m.worker }
