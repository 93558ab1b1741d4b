package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Role selects the checks of Validate, because each command uses a different
// part of the settings.
type Role int

const (
	// RoleServe is the HTTP API (`dataflow serve`).
	RoleServe Role = iota + 1
	// RoleWork is the batch worker (`dataflow work`).
	RoleWork
	// RoleTool is a one-shot command such as migrate, seed or config.
	RoleTool
	// RoleDemo runs the API, the worker and a stand-in OmniFlow in one process.
	RoleDemo
)

// String returns the lower-case role name used in messages.
func (r Role) String() string {
	switch r {
	case RoleServe:
		return "serve"
	case RoleWork:
		return "work"
	case RoleTool:
		return "tool"
	case RoleDemo:
		return "demo"
	default:
		return "role(" + strconv.Itoa(int(r)) + ")"
	}
}

// Database providers as Load stores them in Database.Provider.
const (
	ProviderSQLServer = "sqlserver"
	ProviderPostgres  = "postgres"
	ProviderSQLite    = "sqlite"
)

// CanonicalProvider maps a Database:Provider value, in any case, to
// ProviderSQLServer, ProviderPostgres, ProviderSQLite or "" (guess from the
// connection string). It accepts the aliases mssql, postgresql, pgsql and
// sqlite3, and returns false for other names.
func CanonicalProvider(name string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return "", true
	case "sqlserver", "mssql":
		return ProviderSQLServer, true
	case "postgres", "postgresql", "pgsql":
		return ProviderPostgres, true
	case "sqlite", "sqlite3":
		return ProviderSQLite, true
	default:
		return "", false
	}
}

// logLevelNames are the .NET log levels that Logging:LogLevel:Default accepts.
var logLevelNames = []string{"Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"}

// SettingError is one problem that Validate found.
type SettingError struct {
	// Key is the setting in .NET form, such as ImportBatch:ChunkSize.
	Key string
	// Value is the offending value as text. Secrets appear as "***", or ""
	// when empty, and connection strings with the password masked.
	Value string
	// Problem states what is wrong with the value.
	Problem string
	// Fix states how to correct it.
	Fix string
}

// Error returns "invalid Key "value": problem; fix".
func (e *SettingError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s; %s", e.Key, e.Value, e.Problem, e.Fix)
}

// Validate checks the settings that the given role uses and returns every
// problem at once, joined with errors.Join; each one is a *SettingError. For
// RoleServe, RoleWork and RoleDemo it creates ImportStorage:BasePath and
// writes and deletes a probe file there.
func (s *Settings) Validate(role Role) error {
	if role < RoleServe || role > RoleDemo {
		return fmt.Errorf("validating settings: unknown %s; use RoleServe, RoleWork, RoleTool or RoleDemo", role)
	}

	var errs []error
	errs = append(errs, s.validateListen()...)
	errs = append(errs, s.validateImportBatch()...)
	if _, err := time.LoadLocation(s.Scheduling.TimeZone); err != nil {
		errs = append(errs, &SettingError{
			Key:     "Scheduling:TimeZone",
			Value:   s.Scheduling.TimeZone,
			Problem: "is not a known IANA time zone",
			Fix:     setFix("Scheduling:TimeZone", "a zone name such as America/Sao_Paulo or UTC"),
		})
	}
	if s.RateLimit.RequestsPerMinute < 1 {
		errs = append(errs, &SettingError{
			Key:     "RateLimit:RequestsPerMinute",
			Value:   strconv.Itoa(s.RateLimit.RequestsPerMinute),
			Problem: "must be at least 1",
			Fix:     setFix("RateLimit:RequestsPerMinute", "a number of uploads per minute such as 30"),
		})
	}
	errs = append(errs, s.validateGeneral()...)
	errs = append(errs, s.validateClientSeed()...)

	if role == RoleWork || role == RoleDemo {
		errs = append(errs, s.validateOmniFlow(role)...)
	}
	if role != RoleTool {
		errs = append(errs, s.validateImportStorage(role)...)
	}
	if role == RoleServe || role == RoleWork {
		errs = append(errs, s.validateNotSelf()...)
	}
	return errors.Join(errs...)
}

// setFix returns the usual fix text: which key and environment variable to
// set, and to what.
func setFix(key, want string) string {
	return fmt.Sprintf("set %s (environment variable %s) to %s", key, envVarName(key), want)
}

func intRange(key string, value, low, high int, want string) error {
	if value >= low && value <= high {
		return nil
	}
	return &SettingError{
		Key:     key,
		Value:   strconv.Itoa(value),
		Problem: fmt.Sprintf("must be from %d to %d", low, high),
		Fix:     setFix(key, want),
	}
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (s *Settings) validateListen() []error {
	if _, err := s.ListenAddresses(); err != nil {
		return []error{&SettingError{
			Key:     "Urls",
			Value:   s.Urls,
			Problem: err.Error(),
			Fix:     "set Urls (environment variable ASPNETCORE_URLS or Urls) to http:// URLs separated by ';', such as http://0.0.0.0:5000",
		}}
	}
	return nil
}

func (s *Settings) validateImportBatch() []error {
	b := s.ImportBatch
	var errs []error

	if err := intRange("ImportBatch:ChunkSize", b.ChunkSize, 1, 5000, "a value from 1 to 5000, such as 100"); err != nil {
		errs = append(errs, err)
	}
	if !(b.PollIntervalSeconds > 0 && b.PollIntervalSeconds <= 3600) {
		errs = append(errs, &SettingError{
			Key:     "ImportBatch:PollIntervalSeconds",
			Value:   formatFloat(b.PollIntervalSeconds),
			Problem: "must be greater than 0 and at most 3600 seconds",
			Fix:     setFix("ImportBatch:PollIntervalSeconds", "a number of seconds such as 30"),
		})
	}
	errs = append(errs, s.validateLockTimeout()...)
	if err := intRange("ImportBatch:MaxRetries", b.MaxRetries, 0, 20, "a value from 0 to 20, such as 3"); err != nil {
		errs = append(errs, err)
	}
	if err := intRange("ImportBatch:MaxConcurrentBatches", b.MaxConcurrentBatches, 1, 64, "a value from 1 to 64, such as 1"); err != nil {
		errs = append(errs, err)
	}
	if err := intRange("ImportBatch:MaxConcurrentBatchesPerClient", b.MaxConcurrentBatchesPerClient, 0, 64, "0 for no limit, or a value up to 64"); err != nil {
		errs = append(errs, err)
	}
	if b.MaxBatchAttempts < 1 {
		errs = append(errs, &SettingError{
			Key:     "ImportBatch:MaxBatchAttempts",
			Value:   strconv.Itoa(b.MaxBatchAttempts),
			Problem: "must be at least 1, or no batch could ever be claimed",
			Fix:     setFix("ImportBatch:MaxBatchAttempts", "a value of at least 1, such as 5"),
		})
	}
	for _, limit := range []struct {
		key      string
		value    int
		min, max int
		fix      string
	}{
		{"ImportBatch:MaxRecords", b.MaxRecords, 1, 100_000_000, "a value from 1 to 100000000, such as 2000000"},
		{"ImportBatch:MaxRecordBytes", b.MaxRecordBytes, 256, 64 << 20, "a value from 256 to 67108864 bytes, such as 1048576"},
		{"ImportBatch:MaxFieldsPerRecord", b.MaxFieldsPerRecord, 1, 100_000, "a value from 1 to 100000, such as 1000"},
		{"ImportBatch:MaxNestingDepth", b.MaxNestingDepth, 1, 1000, "a value from 1 to 1000, such as 32"},
	} {
		if err := intRange(limit.key, limit.value, limit.min, limit.max, limit.fix); err != nil {
			errs = append(errs, err)
		}
	}
	if b.DuplicateWindowHours < 0 || b.DuplicateWindowHours > 24*366 {
		errs = append(errs, &SettingError{
			Key:     "ImportBatch:DuplicateWindowHours",
			Value:   formatFloat(b.DuplicateWindowHours),
			Problem: "must be from 0 to 8784 hours",
			Fix:     setFix("ImportBatch:DuplicateWindowHours", "a number of hours such as 24, or 0 to check only unfinished batches"),
		})
	}
	for i, field := range b.RequiredFields {
		if strings.TrimSpace(field) == "" {
			errs = append(errs, &SettingError{
				Key:     fmt.Sprintf("ImportBatch:RequiredFields:%d", i),
				Value:   field,
				Problem: "is empty",
				Fix:     "remove the empty entry or name a field such as phoneNumber",
			})
		}
	}

	durations := []struct {
		key   string
		value time.Duration
	}{
		{"ImportBatch:HeartbeatInterval", b.HeartbeatInterval},
		{"ImportBatch:WatchdogInterval", b.WatchdogInterval},
		{"ImportBatch:UnavailableDelay", b.UnavailableDelay},
		{"ImportBatch:ShutdownTimeout", b.ShutdownTimeout},
		{"OmniFlow:RetryBaseDelay", s.OmniFlow.RetryBaseDelay},
	}
	for _, d := range durations {
		if d.value < 0 {
			errs = append(errs, &SettingError{
				Key:     d.key,
				Value:   d.value.String(),
				Problem: "must not be negative",
				Fix:     setFix(d.key, "a positive duration such as 30s, or remove it to use the default"),
			})
		}
	}
	return errs
}

func (s *Settings) validateLockTimeout() []error {
	b := s.ImportBatch
	if b.LockTimeout < 0 {
		return []error{&SettingError{
			Key:     "ImportBatch:LockTimeout",
			Value:   b.LockTimeout.String(),
			Problem: "must not be negative",
			Fix:     setFix("ImportBatch:LockTimeout", "a duration of at least 1s such as 30m, or remove it to use ImportBatch:LockTimeoutMinutes"),
		}}
	}

	lock := s.LockTimeoutDuration()
	if lock < time.Second {
		err := &SettingError{
			Key:     "ImportBatch:LockTimeoutMinutes",
			Value:   formatFloat(b.LockTimeoutMinutes),
			Problem: "the lock timeout must be at least 1s, or live slots would count as abandoned",
			Fix:     setFix("ImportBatch:LockTimeoutMinutes", "at least 1 (minutes), or set ImportBatch:LockTimeout to a duration of at least 1s"),
		}
		if b.LockTimeout > 0 {
			err.Key, err.Value = "ImportBatch:LockTimeout", b.LockTimeout.String()
			err.Fix = setFix("ImportBatch:LockTimeout", "a duration of at least 1s, such as 30m")
		}
		return []error{err}
	}

	if b.HeartbeatInterval > 0 && s.HeartbeatEvery() >= lock {
		return []error{&SettingError{
			Key:     "ImportBatch:HeartbeatInterval",
			Value:   b.HeartbeatInterval.String(),
			Problem: fmt.Sprintf("must be shorter than the lock timeout %s, or a working slot would count as abandoned between two heartbeats", lock),
			Fix:     setFix("ImportBatch:HeartbeatInterval", fmt.Sprintf("a duration below %s, or remove it to use a third of the lock timeout", lock)),
		}}
	}
	return nil
}

func (s *Settings) validateGeneral() []error {
	var errs []error

	if _, ok := CanonicalProvider(s.Database.Provider); !ok {
		errs = append(errs, &SettingError{
			Key:     "Database:Provider",
			Value:   s.Database.Provider,
			Problem: "unknown database provider",
			Fix:     setFix("Database:Provider", "sqlserver, postgres or sqlite, or leave it empty to choose from ConnectionStrings:DataFlow"),
		})
	}

	if level := strings.TrimSpace(s.Logging.LogLevel.Default); level != "" && !containsFold(logLevelNames, level) {
		errs = append(errs, &SettingError{
			Key:     "Logging:LogLevel:Default",
			Value:   s.Logging.LogLevel.Default,
			Problem: "unknown log level",
			Fix:     setFix("Logging:LogLevel:Default", "one of "+strings.Join(logLevelNames, ", ")),
		})
	}
	if format := strings.TrimSpace(s.Logging.Format); format != "" && !containsFold([]string{"json", "console"}, format) {
		errs = append(errs, &SettingError{
			Key:     "Logging:Format",
			Value:   s.Logging.Format,
			Problem: "unknown log format",
			Fix:     setFix("Logging:Format", "json or console"),
		})
	}

	if s.DataRetention.EnableCleanup {
		if err := intRange("DataRetention:BatchRetentionDays", s.DataRetention.BatchRetentionDays, 1, 36500,
			"a number of days such as 30, or set DataRetention:EnableCleanup to false"); err != nil {
			errs = append(errs, err)
		}
		if err := intRange("DataRetention:MaxBatchesPerRun", s.DataRetention.MaxBatchesPerRun, 1, 100000, "a number such as 100"); err != nil {
			errs = append(errs, err)
		}
		// Below 0.01 hours (36 s), runs would follow each other with no
		// real pause and keep the database and the storage folder busy.
		if h := s.DataRetention.CheckIntervalHours; !(h >= 0.01) || h > 24*365 {
			errs = append(errs, &SettingError{
				Key:     "DataRetention:CheckIntervalHours",
				Value:   strconv.FormatFloat(h, 'g', -1, 64),
				Problem: "must be at least 0.01 hours (36 seconds) and at most a year (8760 hours)",
				Fix:     setFix("DataRetention:CheckIntervalHours", "a number of hours from 0.01 to 8760, such as 6 or 0.5"),
			})
		}
	}

	if key := s.Admin.ApiKey; key != "" && (utf8.RuneCountInString(key) < 16 || strings.TrimSpace(key) != key) {
		errs = append(errs, &SettingError{
			Key:     "Admin:ApiKey",
			Value:   "***",
			Problem: "must be at least 16 characters without surrounding spaces, so that it cannot be guessed",
			Fix:     setFix("Admin:ApiKey", "a long random value, for example from `openssl rand -base64 32`, or leave it empty to turn /admin off"),
		})
	}

	if _, err := s.WebhookRetrySchedule(); err != nil {
		errs = append(errs, &SettingError{
			Key:     "Webhooks:RetrySchedule",
			Value:   s.Webhooks.RetrySchedule,
			Problem: err.Error(),
			Fix:     setFix("Webhooks:RetrySchedule", "comma-separated durations such as 5s,5m,30m,2h"),
		})
	}
	if t := s.Webhooks.TimeoutSeconds; !(t > 0) || t > 300 {
		errs = append(errs, &SettingError{
			Key:     "Webhooks:TimeoutSeconds",
			Value:   strconv.FormatFloat(t, 'g', -1, 64),
			Problem: "must be more than 0 and at most 300 seconds",
			Fix:     setFix("Webhooks:TimeoutSeconds", "a number of seconds such as 15"),
		})
	}
	if d := s.Webhooks.DisableAfterDays; !(d > 0) {
		errs = append(errs, &SettingError{
			Key:     "Webhooks:DisableAfterDays",
			Value:   strconv.FormatFloat(d, 'g', -1, 64),
			Problem: "must be more than 0 days",
			Fix:     setFix("Webhooks:DisableAfterDays", "a number of days such as 3"),
		})
	}
	if s.Webhooks.PollInterval <= 0 {
		errs = append(errs, &SettingError{
			Key:     "Webhooks:PollInterval",
			Value:   s.Webhooks.PollInterval.String(),
			Problem: "must be positive",
			Fix:     setFix("Webhooks:PollInterval", "a duration such as 2s"),
		})
	}
	return errs
}

func containsFold(list []string, value string) bool {
	for _, item := range list {
		if strings.EqualFold(item, value) {
			return true
		}
	}
	return false
}

const (
	maxClientNameLength       = 120
	maxClientIdentifierLength = 64
	minClientSecretLength     = 16
)

func (s *Settings) validateClientSeed() []error {
	var errs []error
	firstIndex := make(map[string]int)

	for i, client := range s.ClientSeed.Clients {
		prefix := fmt.Sprintf("ClientSeed:Clients:%d:", i)

		nameKey := prefix + "Name"
		switch {
		case strings.TrimSpace(client.Name) == "":
			errs = append(errs, &SettingError{Key: nameKey, Value: client.Name, Problem: "missing client name", Fix: setFix(nameKey, "the client's display name")})
		case utf8.RuneCountInString(client.Name) > maxClientNameLength:
			errs = append(errs, &SettingError{Key: nameKey, Value: client.Name, Problem: fmt.Sprintf("longer than %d characters", maxClientNameLength), Fix: setFix(nameKey, "a shorter display name")})
		}

		idKey := prefix + "ClientIdentifier"
		id := client.ClientIdentifier
		idFix := setFix(idKey, fmt.Sprintf("at most %d letters, digits, '-', '_' or '.', such as acme-crm", maxClientIdentifierLength))
		switch {
		case id == "":
			errs = append(errs, &SettingError{Key: idKey, Value: id, Problem: "missing client identifier", Fix: idFix})
		case utf8.RuneCountInString(id) > maxClientIdentifierLength:
			errs = append(errs, &SettingError{Key: idKey, Value: id, Problem: fmt.Sprintf("longer than %d characters", maxClientIdentifierLength), Fix: idFix})
		case !isClientIdentifier(id):
			errs = append(errs, &SettingError{Key: idKey, Value: id, Problem: "contains a character other than an ASCII letter, digit, '-', '_' or '.'", Fix: idFix})
		default:
			folded := strings.ToLower(id)
			if first, ok := firstIndex[folded]; ok {
				errs = append(errs, &SettingError{
					Key:     idKey,
					Value:   id,
					Problem: fmt.Sprintf("duplicates ClientSeed:Clients:%d:ClientIdentifier (identifiers are case-insensitive)", first),
					Fix:     "give each client a unique ClientIdentifier",
				})
			} else {
				firstIndex[folded] = i
			}
		}

		// The message never shows the secret, nor its length.
		secretKey := prefix + "Secret"
		secretFix := setFix(secretKey, fmt.Sprintf("a random string of at least %d characters, such as the output of `openssl rand -base64 24`", minClientSecretLength))
		switch {
		case client.Secret == "":
			errs = append(errs, &SettingError{Key: secretKey, Value: "", Problem: "missing client secret", Fix: secretFix})
		case utf8.RuneCountInString(client.Secret) < minClientSecretLength:
			errs = append(errs, &SettingError{Key: secretKey, Value: maskedValue, Problem: fmt.Sprintf("shorter than %d characters", minClientSecretLength), Fix: secretFix})
		}
	}
	return errs
}

func isClientIdentifier(id string) bool {
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// parseBaseURL returns the OmniFlow base URL when it is an absolute http or
// https URL with a host.
func parseBaseURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" {
		return nil, false
	}
	scheme := strings.ToLower(u.Scheme)
	return u, scheme == "http" || scheme == "https"
}

func (s *Settings) validateOmniFlow(role Role) []error {
	var errs []error
	const key = "OmniFlow:BaseUrl"
	raw := strings.TrimSpace(s.OmniFlow.BaseUrl)

	switch {
	case raw == "" && role == RoleWork:
		errs = append(errs, &SettingError{
			Key:     key,
			Value:   s.OmniFlow.BaseUrl,
			Problem: "missing; the worker sends the leads to OmniFlow at this address",
			Fix:     setFix(key, "the OmniFlow address, such as https://crm.example.com"),
		})
	case raw != "":
		if _, ok := parseBaseURL(raw); !ok {
			errs = append(errs, &SettingError{
				Key:     key,
				Value:   MaskConnectionString(s.OmniFlow.BaseUrl),
				Problem: "must be an absolute http or https URL with a host",
				Fix:     setFix(key, "the OmniFlow address, such as https://crm.example.com"),
			})
		}
	}

	if !(s.OmniFlow.TimeoutSeconds > 0) {
		errs = append(errs, &SettingError{
			Key:     "OmniFlow:TimeoutSeconds",
			Value:   formatFloat(s.OmniFlow.TimeoutSeconds),
			Problem: "must be greater than 0, or OmniFlow requests could hang forever",
			Fix:     setFix("OmniFlow:TimeoutSeconds", "a number of seconds such as 30"),
		})
	}
	return errs
}

func (s *Settings) validateImportStorage(role Role) []error {
	var errs []error
	const key = "ImportStorage:BasePath"

	if role == RoleServe || role == RoleDemo {
		if s.ImportStorage.MaxFileSizeMb < 1 {
			errs = append(errs, &SettingError{
				Key:     "ImportStorage:MaxFileSizeMb",
				Value:   strconv.FormatInt(s.ImportStorage.MaxFileSizeMb, 10),
				Problem: "must be at least 1, or every upload would be rejected",
				Fix:     setFix("ImportStorage:MaxFileSizeMb", "a size in MiB such as 100"),
			})
		}

		if s.ImportStorage.UploadIdleTimeout < time.Second {
			errs = append(errs, &SettingError{
				Key:     "ImportStorage:UploadIdleTimeout",
				Value:   s.ImportStorage.UploadIdleTimeout.String(),
				Problem: "must be at least 1s, or uploads would be cut off between two packets",
				Fix:     setFix("ImportStorage:UploadIdleTimeout", "a duration such as 1m"),
			})
		}
	}

	path := s.ImportStorage.BasePath
	if strings.TrimSpace(path) == "" {
		return append(errs, &SettingError{
			Key:     key,
			Value:   path,
			Problem: "missing; uploaded files wait in this folder for the worker",
			Fix:     setFix(key, "a writable folder such as ./data/uploads"),
		})
	}
	if err := probeWritable(path); err != nil {
		errs = append(errs, &SettingError{
			Key:     key,
			Value:   path,
			Problem: err.Error(),
			Fix:     fmt.Sprintf("point %s (environment variable %s) at a writable folder, or create the folder and give the user that runs dataflow write access to it", key, envVarName(key)),
		})
	}
	return errs
}

// probeWritable creates the folder if needed and writes and deletes a file in
// it, because os.MkdirAll succeeds on an existing folder without write access.
func probeWritable(path string) error {
	where := path
	if abs, err := filepath.Abs(path); err == nil && abs != path {
		where = fmt.Sprintf("%s (%s)", path, abs)
	}

	if err := os.MkdirAll(path, 0o750); err != nil {
		return fmt.Errorf("creating folder %s failed: %w", where, err)
	}

	probe, err := os.CreateTemp(path, ".dataflow-write-probe-*")
	if err != nil {
		return fmt.Errorf("writing a probe file in %s failed: %w", where, err)
	}
	_, writeErr := probe.WriteString("probe")
	closeErr := probe.Close()
	removeErr := os.Remove(probe.Name())

	if err := errors.Join(writeErr, closeErr, removeErr); err != nil {
		return fmt.Errorf("writing and deleting a probe file in %s failed: %w", where, err)
	}
	return nil
}

// validateNotSelf rejects an OmniFlow address that is dataflow's own API. The
// port must match, and the hosts must be equal or both name this machine
// (wildcard or loopback).
//
// NOTE: a wildcard listen address and an OmniFlow host that is this machine's
// own name or LAN address is not detected, because that needs name lookups.
// A remote host on the same port is accepted, since OmniFlow may run on
// another machine or container that uses the same port.
func (s *Settings) validateNotSelf() []error {
	u, ok := parseBaseURL(strings.TrimSpace(s.OmniFlow.BaseUrl))
	if !ok {
		return nil
	}
	addrs, err := s.ListenAddresses()
	if err != nil {
		return nil
	}

	targetHost, targetPort := u.Hostname(), u.Port()
	if targetPort == "" {
		targetPort = "80"
		if strings.EqualFold(u.Scheme, "https") {
			targetPort = "443"
		}
	}

	for _, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || port != targetPort {
			continue
		}
		if strings.EqualFold(host, targetHost) || (isLocalHost(host) && isLocalHost(targetHost)) {
			return []error{&SettingError{
				Key:     "OmniFlow:BaseUrl",
				Value:   MaskConnectionString(s.OmniFlow.BaseUrl),
				Problem: fmt.Sprintf("points at dataflow's own listen address %s (from Urls %q), so the worker would post the leads to dataflow itself instead of OmniFlow", addr, s.Urls),
				Fix:     "set OmniFlow:BaseUrl (environment variable OmniFlow__BaseUrl) to the OmniFlow address, or move dataflow to another port in Urls",
			}}
		}
	}
	return nil
}
