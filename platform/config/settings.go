// Package config loads DataFlow's settings the way the .NET services did:
// built-in defaults, appsettings.json, appsettings.{Environment}.json,
// environment variables in the Section__Key form, then command-line flags.
// Keys are case-insensitive.
package config

import "time"

// Settings is the effective configuration of one dataflow process. Field tags
// give the lower-cased koanf path. `secret:"true"` marks values that are
// masked whenever the configuration is printed or logged. `secret:"dsn"` marks
// connection strings and URLs, of which only the password is masked.
type Settings struct {
	// Environment is the name from DATAFLOW_ENVIRONMENT, DOTNET_ENVIRONMENT or
	// ASPNETCORE_ENVIRONMENT (default Production). It selects
	// appsettings.{Environment}.json.
	Environment string `koanf:"environment"`

	// Urls is the API listen address list, as ASP.NET Core reads it
	// (`Urls` or ASPNETCORE_URLS, separated by `;`). Default http://0.0.0.0:5000.
	Urls string `koanf:"urls"`

	// ApplyMigrationsOnStartup makes `serve` and `work` run pending migrations
	// before they start. APPLY_MIGRATIONS_ON_STARTUP=true sets it too.
	ApplyMigrationsOnStartup bool `koanf:"applymigrationsonstartup"`

	ConnectionStrings ConnectionStrings `koanf:"connectionstrings"`
	Database          Database          `koanf:"database"`
	ImportBatch       ImportBatch       `koanf:"importbatch"`
	ImportStorage     ImportStorage     `koanf:"importstorage"`
	OmniFlow          OmniFlow          `koanf:"omniflow"`
	ClientSeed        ClientSeed        `koanf:"clientseed"`
	RateLimit         RateLimit         `koanf:"ratelimit"`
	Scheduling        Scheduling        `koanf:"scheduling"`
	SensitiveData     SensitiveData     `koanf:"sensitivedata"`
	DataRetention     DataRetention     `koanf:"dataretention"`
	Admin             Admin             `koanf:"admin"`
	Webhooks          Webhooks          `koanf:"webhooks"`
	Logging           Logging           `koanf:"logging"`
	Metrics           Metrics           `koanf:"metrics"`
}

// ConnectionStrings holds the named connection strings of the .NET services.
type ConnectionStrings struct {
	// DataFlow is an ADO (`Data Source=host,1433;Initial Catalog=...`),
	// `sqlserver://`, `postgres://` or SQLite (`file:`, path, `Data Source=path`)
	// connection string. Empty means the embedded SQLite file ./data/dataflow.db.
	DataFlow string `koanf:"dataflow" secret:"dsn"`
}

// Database selects the database engine.
type Database struct {
	// Provider is sqlserver, postgres or sqlite. Empty means: guess from
	// ConnectionStrings:DataFlow, and SQLite when that is empty too.
	Provider string `koanf:"provider"`
	// MaxOpenConns caps the pool (default 10; SQLite uses its own cap).
	MaxOpenConns int `koanf:"maxopenconns"`
}

// ImportBatch tunes batch processing.
type ImportBatch struct {
	// ChunkSize is the number of records per OmniFlow request (default 100, 1..5000).
	ChunkSize int `koanf:"chunksize"`
	// PollIntervalSeconds is how often an idle worker looks for work (default 30).
	PollIntervalSeconds float64 `koanf:"pollintervalseconds"`
	// LockTimeoutMinutes is the age of a heartbeat after which a slot is
	// considered abandoned (default 30). LockTimeout overrides it when set.
	LockTimeoutMinutes float64 `koanf:"locktimeoutminutes"`
	// LockTimeout is LockTimeoutMinutes as a duration ("15s", "2m").
	LockTimeout time.Duration `koanf:"locktimeout"`
	// HeartbeatInterval is how often the slot holder renews its heartbeat
	// (default: a third of the lock timeout).
	HeartbeatInterval time.Duration `koanf:"heartbeatinterval"`
	// WatchdogInterval is how often abandoned slots are looked for (default 5m,
	// never more than the lock timeout).
	WatchdogInterval time.Duration `koanf:"watchdoginterval"`
	// MaxRetries is the number of retries of one OmniFlow request (default 3).
	MaxRetries int `koanf:"maxretries"`
	// MaxConcurrentBatches is the number of processing slots (default 1).
	MaxConcurrentBatches int `koanf:"maxconcurrentbatches"`
	// MaxConcurrentBatchesPerClient is the most batches of one client
	// processed at once (default 0: no limit beyond the slots).
	MaxConcurrentBatchesPerClient int `koanf:"maxconcurrentbatchesperclient"`
	// MaxBatchAttempts is how many claims a batch gets before it fails (default 5).
	MaxBatchAttempts int `koanf:"maxbatchattempts"`
	// UnavailableDelay is the first pause of a batch after OmniFlow stayed
	// unavailable through all retries (default 1m); it doubles per pause up to 30m.
	UnavailableDelay time.Duration `koanf:"unavailabledelay"`
	// ShutdownTimeout bounds a graceful stop of the worker (default 30s).
	ShutdownTimeout time.Duration `koanf:"shutdowntimeout"`
	// RequiredFields are the fields every record must have, non-empty.
	// Dotted names reach into nested objects ("leadContextJson.budget").
	RequiredFields []string `koanf:"requiredfields"`
	// DedupKey is the field whose value identifies a lead within a batch;
	// later records with the same value are Skipped. Empty: no check.
	DedupKey string `koanf:"dedupkey"`
	// MaxRecords is the largest number of records of one batch (default 2,000,000).
	MaxRecords int `koanf:"maxrecords"`
	// MaxRecordBytes is the largest record, in bytes of JSON (default 1 MiB).
	MaxRecordBytes int `koanf:"maxrecordbytes"`
	// MaxFieldsPerRecord is the largest number of fields of one record (default 1000).
	MaxFieldsPerRecord int `koanf:"maxfieldsperrecord"`
	// MaxNestingDepth is the deepest nesting of objects and arrays in a record (default 32).
	MaxNestingDepth int `koanf:"maxnestingdepth"`
	// DuplicateWindowHours is how long after a batch finished an upload of
	// the same file by the same client gets 409 (default 24; 0 turns the
	// check off for finished batches).
	DuplicateWindowHours float64 `koanf:"duplicatewindowhours"`
}

// ImportStorage is the folder of uploaded files waiting for the worker.
type ImportStorage struct {
	// BasePath is the folder that holds one subfolder per batch (default ./data/uploads).
	BasePath string `koanf:"basepath"`
	// MaxFileSizeMb caps one upload (default 100).
	MaxFileSizeMb int64 `koanf:"maxfilesizemb"`
	// UploadIdleTimeout is how long an upload may send nothing before it is
	// cut off (default 1m). It bounds stalled clients, not slow ones: the
	// deadline moves with every read.
	UploadIdleTimeout time.Duration `koanf:"uploadidletimeout"`
}

// OmniFlow is the outbound CRM API.
type OmniFlow struct {
	// BaseUrl is the scheme and host of OmniFlow, e.g. https://crm.example.com.
	// Its password, if it has one, is masked in output.
	BaseUrl string `koanf:"baseurl" secret:"dsn"`
	// ImportPath is appended to BaseUrl (default /api/leads/import).
	ImportPath string `koanf:"importpath"`
	// TimeoutSeconds bounds one request (default 30).
	TimeoutSeconds float64 `koanf:"timeoutseconds"`
	// RetryBaseDelay is the first retry delay; later ones double, with jitter (default 1s).
	RetryBaseDelay time.Duration `koanf:"retrybasedelay"`
}

// ClientSeed lists the clients that `seed --from appsettings` and `serve` upsert.
type ClientSeed struct {
	Clients []SeedClient `koanf:"clients"`
}

// SeedClient is one entry of ClientSeed:Clients.
type SeedClient struct {
	Name             string `koanf:"name"`
	ClientIdentifier string `koanf:"clientidentifier"`
	Secret           string `koanf:"secret" secret:"true"`
}

// RateLimit holds the global upload rate limit.
type RateLimit struct {
	// RequestsPerMinute is the default per-client upload limit (default 30).
	RequestsPerMinute int `koanf:"requestsperminute"`
}

// SensitiveData controls what is kept of lead payloads.
type SensitiveData struct {
	RedactPayloadOnSuccess bool `koanf:"redactpayloadonsuccess"`
	RedactPayloadOnFailure bool `koanf:"redactpayloadonfailure"`
	IncludePayloadHash     bool `koanf:"includepayloadhash"`
}

// DataRetention controls how long finished batches are kept.
type DataRetention struct {
	// EnableCleanup turns on the job of `work` that deletes old finished
	// batches and orphaned upload folders (default false).
	EnableCleanup bool `koanf:"enablecleanup"`
	// BatchRetentionDays is how long a finished batch is kept after it
	// ended, unless the client's policy sets RetentionDays (default 30).
	BatchRetentionDays int `koanf:"batchretentiondays"`
	// CheckIntervalHours is the pause between two cleanup runs (default 6).
	CheckIntervalHours float64 `koanf:"checkintervalhours"`
	// MaxBatchesPerRun bounds the batches one run deletes (default 100).
	MaxBatchesPerRun int `koanf:"maxbatchesperrun"`
}

// Admin holds operator credentials.
type Admin struct {
	// ApiKey guards the /admin endpoints, sent as X-Admin-Key. Empty turns
	// them off.
	ApiKey string `koanf:"apikey" secret:"true"`
}

// Webhooks controls the delivery of batch events to client endpoints.
type Webhooks struct {
	// AllowInsecureTargets lets subscriptions use plain HTTP and private,
	// loopback or link-local addresses (default false; tests turn it on).
	AllowInsecureTargets bool `koanf:"allowinsecuretargets"`
	// DisableAfterDays disables a subscription whose deliveries have failed
	// for this many days without a success (default 3).
	DisableAfterDays float64 `koanf:"disableafterdays"`
	// TimeoutSeconds bounds one delivery request (default 15).
	TimeoutSeconds float64 `koanf:"timeoutseconds"`
	// RetrySchedule lists the pauses before each new attempt, comma-separated
	// (default 5s,5m,30m,2h,5h,10h,14h,20h,24h). A delivery fails for good
	// once the list is used up.
	RetrySchedule string `koanf:"retryschedule"`
	// PollInterval is how often `work` looks for deliveries that are due
	// (default 2s).
	PollInterval time.Duration `koanf:"pollinterval"`
}

// Logging mirrors the .NET Logging section.
type Logging struct {
	LogLevel LogLevel `koanf:"loglevel"`
	// Format is json (default) or console.
	Format string `koanf:"format"`
}

// LogLevel holds .NET level names (Trace, Debug, Information, Warning, Error,
// Critical, None).
type LogLevel struct {
	Default string `koanf:"default"`
}

// Scheduling sets how client policies place batches in time.
type Scheduling struct {
	// TimeZone is the IANA zone of the policies' hours and of the calendar
	// days of MaxBatchPerDay (default UTC), such as America/Sao_Paulo.
	TimeZone string `koanf:"timezone"`
	// RejectOverQuota rejects an upload over MaxBatchPerDay with 429 instead
	// of scheduling it for the next day with room (default false).
	RejectOverQuota bool `koanf:"rejectoverquota"`
}

// Location returns the scheduling time zone, UTC when unset or unknown
// (Validate reports an unknown one).
func (s Scheduling) Location() *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}

	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}

	return loc
}

// Metrics configures the worker's own metrics and health listener.
type Metrics struct {
	// Address is the listen address of the /metrics and /health endpoints of
	// `work` (default :9090). An empty value turns the listener off.
	Address string `koanf:"address"`
}
