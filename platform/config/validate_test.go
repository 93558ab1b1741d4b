package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSecret = "baseline-secret-value-1"

// validSettings returns settings that pass Validate for every role, with the
// upload folder inside a temporary directory.
func validSettings(t *testing.T) *Settings {
	t.Helper()
	s := Defaults()
	s.ImportStorage.BasePath = filepath.Join(t.TempDir(), "uploads")
	s.OmniFlow.BaseUrl = "https://crm.example.com"
	s.ClientSeed.Clients = []SeedClient{
		{Name: "Acme", ClientIdentifier: "acme-crm", Secret: testSecret},
		{Name: "Globex", ClientIdentifier: "globex.v2_x", Secret: testSecret + "-2"},
	}
	return s
}

// settingErrors returns the SettingErrors of a Validate result.
func settingErrors(t *testing.T, err error) []*SettingError {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "Validate returns errors.Join: %v", err)

	var out []*SettingError
	for _, e := range joined.Unwrap() {
		var se *SettingError
		require.True(t, errors.As(e, &se), "not a SettingError: %v", e)
		out = append(out, se)
	}
	return out
}

func TestSettingsValidate(t *testing.T) {
	t.Run("valid settings pass for every role", func(t *testing.T) {
		for _, role := range []Role{RoleServe, RoleWork, RoleTool, RoleDemo} {
			require.NoError(t, validSettings(t).Validate(role), role.String())
		}
	})

	t.Run("defaults pass for tools", func(t *testing.T) {
		require.NoError(t, Defaults().Validate(RoleTool))
	})

	t.Run("unknown role", func(t *testing.T) {
		require.ErrorContains(t, validSettings(t).Validate(Role(0)), "unknown role(0)")
	})

	longName := strings.Repeat("n", 121)
	longID := strings.Repeat("i", 65)

	cases := []struct {
		name   string
		role   Role
		mutate func(s *Settings)
		key    string
		value  string
		fix    string
	}{
		{"https Urls", RoleTool, func(s *Settings) { s.Urls = "https://0.0.0.0:5001" }, "Urls", "https://0.0.0.0:5001", "ASPNETCORE_URLS"},
		{"chunk size zero", RoleTool, func(s *Settings) { s.ImportBatch.ChunkSize = 0 }, "ImportBatch:ChunkSize", "0", "ImportBatch__ChunkSize"},
		{"chunk size too large", RoleTool, func(s *Settings) { s.ImportBatch.ChunkSize = 5001 }, "ImportBatch:ChunkSize", "5001", "from 1 to 5000"},
		{"poll interval zero", RoleTool, func(s *Settings) { s.ImportBatch.PollIntervalSeconds = 0 }, "ImportBatch:PollIntervalSeconds", "0", "seconds such as 30"},
		{"poll interval too long", RoleTool, func(s *Settings) { s.ImportBatch.PollIntervalSeconds = 3600.5 }, "ImportBatch:PollIntervalSeconds", "3600.5", "seconds such as 30"},
		{"lock timeout minutes zero", RoleTool, func(s *Settings) { s.ImportBatch.LockTimeoutMinutes = 0 }, "ImportBatch:LockTimeoutMinutes", "0", "at least 1 (minutes)"},
		{"lock timeout below a second", RoleTool, func(s *Settings) { s.ImportBatch.LockTimeout = 500 * time.Millisecond }, "ImportBatch:LockTimeout", "500ms", "at least 1s"},
		{"negative lock timeout", RoleTool, func(s *Settings) { s.ImportBatch.LockTimeout = -time.Second }, "ImportBatch:LockTimeout", "-1s", "remove it to use ImportBatch:LockTimeoutMinutes"},
		{"heartbeat not below lock timeout", RoleTool, func(s *Settings) { s.ImportBatch.HeartbeatInterval = 30 * time.Minute }, "ImportBatch:HeartbeatInterval", "30m0s", "below 30m0s"},
		{"negative heartbeat", RoleTool, func(s *Settings) { s.ImportBatch.HeartbeatInterval = -time.Second }, "ImportBatch:HeartbeatInterval", "-1s", "positive duration"},
		{"negative unavailable delay", RoleTool, func(s *Settings) { s.ImportBatch.UnavailableDelay = -time.Minute }, "ImportBatch:UnavailableDelay", "-1m0s", "positive duration"},
		{"negative retry delay", RoleTool, func(s *Settings) { s.OmniFlow.RetryBaseDelay = -time.Second }, "OmniFlow:RetryBaseDelay", "-1s", "OmniFlow__RetryBaseDelay"},
		{"too many retries", RoleTool, func(s *Settings) { s.ImportBatch.MaxRetries = 21 }, "ImportBatch:MaxRetries", "21", "from 0 to 20"},
		{"negative retries", RoleTool, func(s *Settings) { s.ImportBatch.MaxRetries = -1 }, "ImportBatch:MaxRetries", "-1", "from 0 to 20"},
		{"no concurrent batches", RoleTool, func(s *Settings) { s.ImportBatch.MaxConcurrentBatches = 0 }, "ImportBatch:MaxConcurrentBatches", "0", "from 1 to 64"},
		{"too many concurrent batches", RoleTool, func(s *Settings) { s.ImportBatch.MaxConcurrentBatches = 65 }, "ImportBatch:MaxConcurrentBatches", "65", "from 1 to 64"},
		{"no batch attempts", RoleTool, func(s *Settings) { s.ImportBatch.MaxBatchAttempts = 0 }, "ImportBatch:MaxBatchAttempts", "0", "at least 1"},
		{"unknown provider", RoleTool, func(s *Settings) { s.Database.Provider = "oracle" }, "Database:Provider", "oracle", "sqlserver, postgres or sqlite"},
		{"unknown log level", RoleTool, func(s *Settings) { s.Logging.LogLevel.Default = "Verbose" }, "Logging:LogLevel:Default", "Verbose", "Information"},
		{"unknown log format", RoleTool, func(s *Settings) { s.Logging.Format = "xml" }, "Logging:Format", "xml", "json or console"},
		{"retention without days", RoleTool, func(s *Settings) { s.DataRetention.EnableCleanup, s.DataRetention.BatchRetentionDays = true, 0 }, "DataRetention:BatchRetentionDays", "0", "DataRetention:EnableCleanup to false"},
		{"retention interval", RoleTool, func(s *Settings) { s.DataRetention.EnableCleanup, s.DataRetention.CheckIntervalHours = true, 0 }, "DataRetention:CheckIntervalHours", "0", "such as 6"},
		{"retention interval below 36 s", RoleTool, func(s *Settings) { s.DataRetention.EnableCleanup, s.DataRetention.CheckIntervalHours = true, 0.005 }, "DataRetention:CheckIntervalHours", "0.005", "from 0.01 to 8760"},
		{"webhook schedule", RoleTool, func(s *Settings) { s.Webhooks.RetrySchedule = "5s,soon" }, "Webhooks:RetrySchedule", "5s,soon", "comma-separated durations"},
		{"short admin key", RoleTool, func(s *Settings) { s.Admin.ApiKey = "admin" }, "Admin:ApiKey", "***", "openssl rand"},
		{"webhook timeout", RoleTool, func(s *Settings) { s.Webhooks.TimeoutSeconds = 0 }, "Webhooks:TimeoutSeconds", "0", "such as 15"},
		{"client without name", RoleTool, func(s *Settings) { s.ClientSeed.Clients[1].Name = " " }, "ClientSeed:Clients:1:Name", " ", "ClientSeed__Clients__1__Name"},
		{"client name too long", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].Name = longName }, "ClientSeed:Clients:0:Name", longName, "shorter display name"},
		{"client without identifier", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].ClientIdentifier = "" }, "ClientSeed:Clients:0:ClientIdentifier", "", "such as acme-crm"},
		{"client identifier too long", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].ClientIdentifier = longID }, "ClientSeed:Clients:0:ClientIdentifier", longID, "at most 64"},
		{"client identifier with space", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].ClientIdentifier = "acme crm" }, "ClientSeed:Clients:0:ClientIdentifier", "acme crm", "letters, digits"},
		{"client identifier not ASCII", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].ClientIdentifier = "acmé" }, "ClientSeed:Clients:0:ClientIdentifier", "acmé", "letters, digits"},
		{"duplicate client identifier", RoleTool, func(s *Settings) { s.ClientSeed.Clients[1].ClientIdentifier = "ACME-crm" }, "ClientSeed:Clients:1:ClientIdentifier", "ACME-crm", "unique ClientIdentifier"},
		{"client without secret", RoleTool, func(s *Settings) { s.ClientSeed.Clients[0].Secret = "" }, "ClientSeed:Clients:0:Secret", "", "at least 16 characters"},
		{"client secret too short", RoleTool, func(s *Settings) { s.ClientSeed.Clients[1].Secret = "short-secret" }, "ClientSeed:Clients:1:Secret", "***", "at least 16 characters"},
		{"worker without OmniFlow", RoleWork, func(s *Settings) { s.OmniFlow.BaseUrl = "" }, "OmniFlow:BaseUrl", "", "OmniFlow__BaseUrl"},
		{"OmniFlow without scheme", RoleWork, func(s *Settings) { s.OmniFlow.BaseUrl = "crm.example.com" }, "OmniFlow:BaseUrl", "crm.example.com", "https://crm.example.com"},
		{"OmniFlow with ftp scheme", RoleDemo, func(s *Settings) { s.OmniFlow.BaseUrl = "ftp://crm.example.com" }, "OmniFlow:BaseUrl", "ftp://crm.example.com", "https://crm.example.com"},
		{"OmniFlow without host", RoleWork, func(s *Settings) { s.OmniFlow.BaseUrl = "http:///path" }, "OmniFlow:BaseUrl", "http:///path", "https://crm.example.com"},
		{"OmniFlow password masked", RoleWork, func(s *Settings) { s.OmniFlow.BaseUrl = "ftp://u:" + testSecret + "@crm" }, "OmniFlow:BaseUrl", "ftp://u:***@crm", "https://crm.example.com"},
		{"OmniFlow timeout zero", RoleWork, func(s *Settings) { s.OmniFlow.TimeoutSeconds = 0 }, "OmniFlow:TimeoutSeconds", "0", "seconds such as 30"},
		{"upload limit zero", RoleServe, func(s *Settings) { s.ImportStorage.MaxFileSizeMb = 0 }, "ImportStorage:MaxFileSizeMb", "0", "size in MiB"},
		{"upload folder empty", RoleServe, func(s *Settings) { s.ImportStorage.BasePath = "" }, "ImportStorage:BasePath", "", "writable folder"},
		{"OmniFlow is own wildcard listener", RoleServe, func(s *Settings) { s.OmniFlow.BaseUrl = "http://localhost:5000" }, "OmniFlow:BaseUrl", "http://localhost:5000", "another port in Urls"},
		{"OmniFlow is own loopback listener", RoleWork, func(s *Settings) {
			s.Urls = "http://localhost:8080"
			s.OmniFlow.BaseUrl = "http://127.0.0.1:8080/"
		}, "OmniFlow:BaseUrl", "http://127.0.0.1:8080/", "another port in Urls"},
		{"OmniFlow is own named listener", RoleWork, func(s *Settings) {
			s.Urls = "http://dataflow.internal:80"
			s.OmniFlow.BaseUrl = "http://DataFlow.internal"
		}, "OmniFlow:BaseUrl", "http://DataFlow.internal", "another port in Urls"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSettings(t)
			tc.mutate(s)

			err := s.Validate(tc.role)

			problems := settingErrors(t, err)
			require.Len(t, problems, 1, "errors: %v", err)
			p := problems[0]
			require.Equal(t, tc.key, p.Key)
			require.Equal(t, tc.value, p.Value)
			require.Contains(t, p.Fix, tc.fix)
			require.Contains(t, err.Error(), tc.key)
			require.Contains(t, err.Error(), p.Fix)
			require.NotEmpty(t, p.Problem)
			require.NotContains(t, err.Error(), testSecret)
			require.NotContains(t, err.Error(), "short-secret")
		})
	}

	t.Run("all problems at once", func(t *testing.T) {
		s := validSettings(t)
		s.ImportBatch.ChunkSize = 0
		s.ImportBatch.MaxRetries = 99
		s.Database.Provider = "oracle"
		s.ClientSeed.Clients[0].Secret = "tiny"

		problems := settingErrors(t, s.Validate(RoleTool))

		var keys []string
		for _, p := range problems {
			keys = append(keys, p.Key)
		}
		require.ElementsMatch(t, []string{"ImportBatch:ChunkSize", "ImportBatch:MaxRetries", "Database:Provider", "ClientSeed:Clients:0:Secret"}, keys)
	})

	t.Run("provider aliases accepted", func(t *testing.T) {
		for _, provider := range []string{"", "SqlServer", "mssql", "Postgres", "postgresql", "PGSQL", "sqlite", "SQLite3"} {
			s := validSettings(t)
			s.Database.Provider = provider
			require.NoError(t, s.Validate(RoleTool), provider)
		}
	})

	t.Run("log levels accepted in any case", func(t *testing.T) {
		for _, level := range []string{"trace", "Debug", "INFORMATION", "Warning", "error", "Critical", "none", ""} {
			s := validSettings(t)
			s.Logging.LogLevel.Default = level
			require.NoError(t, s.Validate(RoleTool), level)
		}
	})

	t.Run("demo may leave OmniFlow empty", func(t *testing.T) {
		s := validSettings(t)
		s.OmniFlow.BaseUrl = ""

		require.NoError(t, s.Validate(RoleDemo))
	})

	t.Run("own address allowed for demo and tools", func(t *testing.T) {
		s := validSettings(t)
		s.OmniFlow.BaseUrl = "http://127.0.0.1:5000"

		require.NoError(t, s.Validate(RoleDemo))
		require.NoError(t, s.Validate(RoleTool))
	})

	t.Run("remote host on same port allowed", func(t *testing.T) {
		s := validSettings(t)
		s.OmniFlow.BaseUrl = "http://omniflow:5000"

		require.NoError(t, s.Validate(RoleWork))
	})

	t.Run("upload folder created and probe removed", func(t *testing.T) {
		s := validSettings(t)

		require.NoError(t, s.Validate(RoleServe))

		entries, err := os.ReadDir(s.ImportStorage.BasePath)
		require.NoError(t, err)
		require.Empty(t, entries)
	})

	t.Run("upload folder not creatable", func(t *testing.T) {
		s := validSettings(t)
		parent := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(parent, []byte("x"), 0o600))
		s.ImportStorage.BasePath = filepath.Join(parent, "uploads")

		problems := settingErrors(t, s.Validate(RoleWork))

		require.Len(t, problems, 1)
		require.Equal(t, "ImportStorage:BasePath", problems[0].Key)
		require.Contains(t, problems[0].Problem, s.ImportStorage.BasePath)
		require.Contains(t, problems[0].Problem, "not a directory")
		require.Contains(t, problems[0].Fix, "write access")
	})

	t.Run("upload folder not checked for tools", func(t *testing.T) {
		s := validSettings(t)
		s.ImportStorage.BasePath = ""

		require.NoError(t, s.Validate(RoleTool))
	})
}
