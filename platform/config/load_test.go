package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
}

func loadDir(t *testing.T, dir string, environ []string, overrides map[string]string) *Settings {
	t.Helper()
	if environ == nil {
		environ = []string{}
	}
	s, err := Load(LoadOptions{ConfigDir: dir, Environ: environ, Overrides: overrides})
	require.NoError(t, err)
	return s
}

func TestLoad(t *testing.T) {
	t.Run("defaults without files", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), nil, nil)
		require.Equal(t, Defaults(), s)
	})

	t.Run("environment variables override file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": 200, "PollIntervalSeconds": 10}}`)

		s := loadDir(t, dir, []string{"ImportBatch__ChunkSize=500"}, nil)

		require.Equal(t, 500, s.ImportBatch.ChunkSize)
		require.Equal(t, 10.0, s.ImportBatch.PollIntervalSeconds)
		require.Equal(t, 3, s.ImportBatch.MaxRetries, "untouched keys keep their default")
	})

	t.Run("overrides win over environment", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": 200}}`)

		s := loadDir(t, dir, []string{"ImportBatch__ChunkSize=500"}, map[string]string{"ImportBatch:ChunkSize": "42"})

		require.Equal(t, 42, s.ImportBatch.ChunkSize)
	})

	t.Run("environment file overrides base file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"Urls": "http://0.0.0.0:6000", "ImportBatch": {"ChunkSize": 200}}`)
		writeFile(t, dir, "appsettings.Staging.json", `{"ImportBatch": {"ChunkSize": 300}}`)

		s := loadDir(t, dir, []string{"DOTNET_ENVIRONMENT=Staging"}, nil)

		require.Equal(t, "Staging", s.Environment)
		require.Equal(t, 300, s.ImportBatch.ChunkSize)
		require.Equal(t, "http://0.0.0.0:6000", s.Urls)
	})

	t.Run("environment file matched ignoring case", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.Development.json", `{"ImportBatch": {"ChunkSize": 7}}`)

		s := loadDir(t, dir, []string{"ASPNETCORE_ENVIRONMENT=development"}, nil)

		require.Equal(t, "development", s.Environment)
		require.Equal(t, 7, s.ImportBatch.ChunkSize)
	})

	t.Run("production skips other environment files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.Development.json", `{"ImportBatch": {"ChunkSize": 7}}`)

		s := loadDir(t, dir, nil, nil)

		require.Equal(t, "Production", s.Environment)
		require.Equal(t, 100, s.ImportBatch.ChunkSize)
	})

	t.Run("environment name precedence", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"A", "B", "C", "D"} {
			writeFile(t, dir, "appsettings."+name+".json", `{"Database": {"Provider": "sqlite"}}`)
		}
		all := []string{"ASPNETCORE_ENVIRONMENT=C", "DOTNET_ENVIRONMENT=B", "DATAFLOW_ENVIRONMENT=A"}

		require.Equal(t, "A", loadDir(t, dir, all, nil).Environment)
		require.Equal(t, "B", loadDir(t, dir, all[:2], nil).Environment)
		require.Equal(t, "C", loadDir(t, dir, all[:1], nil).Environment)
		require.Equal(t, "D", loadDir(t, dir, all, map[string]string{"environment": "D"}).Environment)
	})

	t.Run("override environment selects file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.Demo.json", `{"ImportBatch": {"MaxRetries": 9}}`)

		s := loadDir(t, dir, []string{"DOTNET_ENVIRONMENT=Staging"}, map[string]string{"Environment": "Demo"})

		require.Equal(t, "Demo", s.Environment)
		require.Equal(t, 9, s.ImportBatch.MaxRetries)
	})

	t.Run("environment variables extend file array", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ClientSeed": {"Clients": [
			{"Name": "Acme", "ClientIdentifier": "acme", "Secret": "file-secret-0000000"},
			{"Name": "Globex", "ClientIdentifier": "globex", "Secret": "file-secret-1111111"}
		]}}`)

		s := loadDir(t, dir, []string{
			"ClientSeed__Clients__0__Secret=env-secret-0000000",
			"ClientSeed__Clients__2__Name=Initech",
			"ClientSeed__Clients__2__ClientIdentifier=initech",
		}, nil)

		require.Equal(t, []SeedClient{
			{Name: "Acme", ClientIdentifier: "acme", Secret: "env-secret-0000000"},
			{Name: "Globex", ClientIdentifier: "globex", Secret: "file-secret-1111111"},
			{Name: "Initech", ClientIdentifier: "initech"},
		}, s.ClientSeed.Clients)
	})

	t.Run("environment file replaces array elements by index", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ClientSeed": {"Clients": [{"Name": "A"}, {"Name": "B"}, {"Name": "C"}]}}`)
		writeFile(t, dir, "appsettings.Production.json", `{"ClientSeed": {"Clients": [{"Name": "X"}]}}`)

		s := loadDir(t, dir, nil, nil)

		require.Equal(t, []SeedClient{{Name: "X"}, {Name: "B"}, {Name: "C"}}, s.ClientSeed.Clients)
	})

	t.Run("array indexes sort numerically and gaps close", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), []string{
			"ClientSeed__Clients__10__Name=ten",
			"ClientSeed__Clients__2__Name=two",
		}, nil)

		require.Equal(t, []SeedClient{{Name: "two"}, {Name: "ten"}}, s.ClientSeed.Clients)
	})

	t.Run("keys are case-insensitive", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"importbatch": {"CHUNKSIZE": 7}, "OMNIFLOW": {"baseURL": "http://crm.test"}}`)

		s := loadDir(t, dir, []string{"IMPORTBATCH__MAXRETRIES=4", "importbatch__maxconcurrentbatches=2"},
			map[string]string{"importBATCH:pollIntervalSECONDS": "5"})

		require.Equal(t, 7, s.ImportBatch.ChunkSize)
		require.Equal(t, "http://crm.test", s.OmniFlow.BaseUrl)
		require.Equal(t, 4, s.ImportBatch.MaxRetries)
		require.Equal(t, 2, s.ImportBatch.MaxConcurrentBatches)
		require.Equal(t, 5.0, s.ImportBatch.PollIntervalSeconds)
	})

	t.Run("keys differing only in case are a duplicate", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": 7, "chunksize": 8}}`)

		_, err := Load(LoadOptions{ConfigDir: dir, Environ: []string{}})

		require.ErrorContains(t, err, "duplicate key ImportBatch:ChunkSize")
		require.ErrorContains(t, err, "appsettings.json")
	})

	t.Run("ASPNETCORE_URLS and APPLY_MIGRATIONS_ON_STARTUP", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), []string{"ASPNETCORE_URLS=http://+:8080", "APPLY_MIGRATIONS_ON_STARTUP=True"}, nil)

		require.Equal(t, "http://+:8080", s.Urls)
		require.True(t, s.ApplyMigrationsOnStartup)
	})

	t.Run("prefixed variables rank below unprefixed", func(t *testing.T) {
		environ := []string{"Urls=http://0.0.0.0:3", "ASPNETCORE_URLS=http://0.0.0.0:2", "DOTNET_URLS=http://0.0.0.0:1"}

		require.Equal(t, "http://0.0.0.0:3", loadDir(t, t.TempDir(), environ, nil).Urls)
		require.Equal(t, "http://0.0.0.0:2", loadDir(t, t.TempDir(), environ[1:], nil).Urls)
		require.Equal(t, "http://0.0.0.0:1", loadDir(t, t.TempDir(), environ[2:], nil).Urls)
	})

	t.Run("prefixed variables rank above files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"Urls": "http://0.0.0.0:7000"}`)

		s := loadDir(t, dir, []string{"ASPNETCORE_URLS=http://0.0.0.0:8000"}, nil)

		require.Equal(t, "http://0.0.0.0:8000", s.Urls)
	})

	t.Run("connection string prefixes", func(t *testing.T) {
		for _, prefix := range []string{"SQLCONNSTR_", "SQLAZURECONNSTR_", "POSTGRESQLCONNSTR_", "CUSTOMCONNSTR_"} {
			s := loadDir(t, t.TempDir(), []string{prefix + "DataFlow=Server=db;Password=x"}, nil)
			require.Equal(t, "Server=db;Password=x", s.ConnectionStrings.DataFlow, prefix)
		}
	})

	t.Run("direct connection string beats prefixed one", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), []string{"ConnectionStrings__DataFlow=direct", "SQLCONNSTR_DataFlow=prefixed"}, nil)

		require.Equal(t, "direct", s.ConnectionStrings.DataFlow)
	})

	t.Run("durations in Go and TimeSpan form", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"LockTimeout": "00:02:30", "ShutdownTimeout": "1.00:00:00"}}`)

		s := loadDir(t, dir, []string{"ImportBatch__UnavailableDelay=90s", "OmniFlow__RetryBaseDelay=00:00:00.250"}, nil)

		require.Equal(t, 150*time.Second, s.ImportBatch.LockTimeout)
		require.Equal(t, 24*time.Hour, s.ImportBatch.ShutdownTimeout)
		require.Equal(t, 90*time.Second, s.ImportBatch.UnavailableDelay)
		require.Equal(t, 250*time.Millisecond, s.OmniFlow.RetryBaseDelay)
	})

	t.Run("booleans from .NET files and environment", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"SensitiveData": {"RedactPayloadOnSuccess": "False", "IncludePayloadHash": false}, "DataRetention": {"EnableCleanup": "TRUE"}}`)

		s := loadDir(t, dir, []string{"SensitiveData__RedactPayloadOnFailure= true "}, nil)

		require.False(t, s.SensitiveData.RedactPayloadOnSuccess)
		require.False(t, s.SensitiveData.IncludePayloadHash)
		require.True(t, s.SensitiveData.RedactPayloadOnFailure)
		require.True(t, s.DataRetention.EnableCleanup)
	})

	t.Run("numbers from strings", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": "250"}}`)

		s := loadDir(t, dir, []string{"ImportStorage__MaxFileSizeMb=2048", "OmniFlow__TimeoutSeconds=2.5"}, nil)

		require.Equal(t, 250, s.ImportBatch.ChunkSize)
		require.Equal(t, int64(2048), s.ImportStorage.MaxFileSizeMb)
		require.Equal(t, 2.5, s.OmniFlow.TimeoutSeconds)
	})

	t.Run("unknown keys and variables are ignored", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{
			"Logging": {"LogLevel": {"Default": "Warning", "Microsoft.AspNetCore": "Warning"}},
			"AllowedHosts": "*",
			"Kestrel": {"Endpoints": [{"Url": "http://x"}]},
			"ImportBatch": {"ChunkSize": {"Nested": 1}}
		}`)

		s := loadDir(t, dir, []string{"PATH=/usr/bin:/bin", "HOME=/root", "Logging=flat", "DOTNET_ROOT=/usr/share/dotnet", "=C:=C:\\"}, nil)

		require.Equal(t, "Warning", s.Logging.LogLevel.Default)
		require.Equal(t, "json", s.Logging.Format)
		require.Equal(t, 100, s.ImportBatch.ChunkSize)
	})

	t.Run("empty number keeps lower value", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": 250}, "OmniFlow": {"BaseUrl": "http://crm.test"}}`)

		s := loadDir(t, dir, []string{"ImportBatch__ChunkSize=", "OmniFlow__BaseUrl="}, nil)

		require.Equal(t, 250, s.ImportBatch.ChunkSize)
		require.Equal(t, "", s.OmniFlow.BaseUrl, "an empty string is a value for string settings")
	})

	t.Run("JSON comments, trailing commas and byte order mark", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", "\xEF\xBB\xBF"+`{
			// line comment with "quotes"
			"Urls": "http://0.0.0.0:5001", /* block
			comment */
			"OmniFlow": {"ImportPath": "/a//b/*c*/",},
		}`)

		s := loadDir(t, dir, nil, nil)

		require.Equal(t, "http://0.0.0.0:5001", s.Urls)
		require.Equal(t, "/a//b/*c*/", s.OmniFlow.ImportPath)
	})

	t.Run("JSON syntax error names line and column", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", "{\n  \"Urls\": \"x\"\n  \"Database\": {}\n}")

		_, err := Load(LoadOptions{ConfigDir: dir, Environ: []string{}})

		require.ErrorContains(t, err, "appsettings.json at line 3, column 3")
	})

	t.Run("top level must be an object", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `[1, 2]`)

		_, err := Load(LoadOptions{ConfigDir: dir, Environ: []string{}})

		require.ErrorContains(t, err, "must be an object")
	})

	t.Run("conversion errors name key, value, type and source", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"MaxRetries": 2.5}, "DataRetention": {"EnableCleanup": "yes"}}`)

		_, err := Load(LoadOptions{ConfigDir: dir, Environ: []string{"IMPORTBATCH__CHUNKSIZE=lots", "ImportBatch__LockTimeout=30"},
			Overrides: map[string]string{"ImportBatch:PollIntervalSeconds": "NaN"}})

		require.Error(t, err)
		msg := err.Error()
		require.Contains(t, msg, `reading ImportBatch:ChunkSize from environment variable IMPORTBATCH__CHUNKSIZE: invalid value "lots": expected a whole number`)
		require.Contains(t, msg, `reading ImportBatch:MaxRetries from file `+filepath.Join(dir, "appsettings.json")+`: invalid value "2.5"`)
		require.Contains(t, msg, `reading DataRetention:EnableCleanup from file`)
		require.Contains(t, msg, `invalid value "yes": expected a boolean (true or false)`)
		require.Contains(t, msg, `reading ImportBatch:LockTimeout from environment variable ImportBatch__LockTimeout: invalid value "30": expected a duration`)
		require.Contains(t, msg, `reading ImportBatch:PollIntervalSeconds from --set ImportBatch:PollIntervalSeconds: invalid value "NaN": expected a number`)
	})

	t.Run("out of range number", func(t *testing.T) {
		_, err := Load(LoadOptions{ConfigDir: t.TempDir(), Environ: []string{"ImportBatch__ChunkSize=99999999999999999999"}})

		require.ErrorContains(t, err, "within the range of int")
	})

	t.Run("unknown override key", func(t *testing.T) {
		_, err := Load(LoadOptions{ConfigDir: t.TempDir(), Environ: []string{}, Overrides: map[string]string{"ImportBatch:ChunkSzie": "5"}})

		require.ErrorContains(t, err, "applying --set ImportBatch:ChunkSzie: unknown setting")
		require.ErrorContains(t, err, "such as ImportBatch:ChunkSize")
	})

	t.Run("override given twice", func(t *testing.T) {
		_, err := Load(LoadOptions{ConfigDir: t.TempDir(), Environ: []string{},
			Overrides: map[string]string{"ImportBatch:ChunkSize": "5", "importbatch:chunksize": "6"}})

		require.ErrorContains(t, err, "already given")
	})

	t.Run("override sets array element", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), nil, map[string]string{"ClientSeed:Clients:0:Secret": "override-secret-00"})

		require.Equal(t, []SeedClient{{Secret: "override-secret-00"}}, s.ClientSeed.Clients)
	})

	t.Run("provider alias becomes canonical", func(t *testing.T) {
		s := loadDir(t, t.TempDir(), []string{"Database__Provider=PostgreSQL"}, nil)

		require.Equal(t, ProviderPostgres, s.Database.Provider)
	})

	t.Run("missing explicit config directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")

		_, err := Load(LoadOptions{ConfigDir: missing, Environ: []string{}})

		require.ErrorContains(t, err, missing)
		require.ErrorContains(t, err, "does not exist")
	})

	t.Run("config directory from DATAFLOW_CONFIG_DIR", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", `{"ImportBatch": {"ChunkSize": 11}}`)

		s, err := Load(LoadOptions{Environ: []string{"DATAFLOW_CONFIG_DIR=" + dir}})
		require.NoError(t, err)
		require.Equal(t, 11, s.ImportBatch.ChunkSize)

		_, err = Load(LoadOptions{Environ: []string{"DATAFLOW_CONFIG_DIR=" + filepath.Join(dir, "nope")}})
		require.ErrorContains(t, err, "DATAFLOW_CONFIG_DIR")
	})

	t.Run("default config directory", func(t *testing.T) {
		work := t.TempDir()
		t.Chdir(work)
		writeFile(t, work, "appsettings.json", `{"ImportBatch": {"ChunkSize": 1}}`)
		require.NoError(t, os.Mkdir(filepath.Join(work, "config"), 0o750))

		s, err := Load(LoadOptions{Environ: []string{}})
		require.NoError(t, err)
		require.Equal(t, 1, s.ImportBatch.ChunkSize, "an empty ./config does not hide ./appsettings.json")

		writeFile(t, filepath.Join(work, "config"), "appsettings.json", `{"ImportBatch": {"ChunkSize": 2}}`)
		s, err = Load(LoadOptions{Environ: []string{}})
		require.NoError(t, err)
		require.Equal(t, 2, s.ImportBatch.ChunkSize)
	})

	t.Run("nil Environ reads process environment", func(t *testing.T) {
		t.Setenv("IMPORTBATCH__CHUNKSIZE", "321")

		s, err := Load(LoadOptions{ConfigDir: t.TempDir()})

		require.NoError(t, err)
		require.Equal(t, 321, s.ImportBatch.ChunkSize)
	})

	t.Run("dump output loads back", func(t *testing.T) {
		want := Defaults()
		want.ClientSeed.Clients = []SeedClient{{Name: "A", ClientIdentifier: "a"}}
		want.ImportBatch.HeartbeatInterval = 1500 * time.Millisecond
		var buf bytes.Buffer
		require.NoError(t, Dump(want, &buf))
		dir := t.TempDir()
		writeFile(t, dir, "appsettings.json", buf.String())

		got := loadDir(t, dir, nil, nil)

		require.Equal(t, want, got)
	})
}
