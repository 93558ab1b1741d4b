package config

import "time"

// Defaults returns the built-in settings that Load starts from before it reads
// any file, environment variable or override. Each call returns a new value.
func Defaults() *Settings {
	return &Settings{
		Environment: "Production",
		Urls:        "http://0.0.0.0:5000",
		Database: Database{
			MaxOpenConns: 10,
		},
		ImportBatch: ImportBatch{
			ChunkSize:            100,
			PollIntervalSeconds:  30,
			LockTimeoutMinutes:   30,
			MaxRetries:           3,
			MaxConcurrentBatches: 1,
			MaxBatchAttempts:     5,
			UnavailableDelay:     time.Minute,
			ShutdownTimeout:      30 * time.Second,
			WatchdogInterval:     5 * time.Minute,
			MaxRecords:           2_000_000,
			MaxRecordBytes:       1 << 20,
			MaxFieldsPerRecord:   1000,
			MaxNestingDepth:      32,
			DuplicateWindowHours: 24,
		},
		ImportStorage: ImportStorage{
			BasePath:          "./data/uploads",
			MaxFileSizeMb:     100,
			UploadIdleTimeout: time.Minute,
		},
		OmniFlow: OmniFlow{
			ImportPath:     "/api/leads/import",
			TimeoutSeconds: 30,
			RetryBaseDelay: time.Second,
		},
		RateLimit: RateLimit{
			RequestsPerMinute: 30,
		},
		Scheduling: Scheduling{
			TimeZone: "UTC",
		},
		SensitiveData: SensitiveData{
			RedactPayloadOnSuccess: true,
			RedactPayloadOnFailure: false,
			IncludePayloadHash:     true,
		},
		DataRetention: DataRetention{
			EnableCleanup:      false,
			BatchRetentionDays: 30,
			CheckIntervalHours: 6,
			MaxBatchesPerRun:   100,
		},
		Webhooks: Webhooks{
			DisableAfterDays: 3,
			TimeoutSeconds:   15,
			RetrySchedule:    "5s,5m,30m,2h,5h,10h,14h,20h,24h",
			PollInterval:     2 * time.Second,
		},
		Metrics: Metrics{
			Address: ":9090",
		},
		Logging: Logging{
			LogLevel: LogLevel{Default: "Information"},
			Format:   "json",
		},
	}
}
