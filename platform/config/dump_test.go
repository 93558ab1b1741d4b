package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDump(t *testing.T) {
	s := Defaults()
	s.ConnectionStrings.DataFlow = "Server=db,1433;Database=DataFlow;User Id=app;Password=" + testSecret + ";"
	s.Admin.ApiKey = testSecret + "-admin"
	s.OmniFlow.BaseUrl = "https://svc:" + testSecret + "@crm.example.com"
	s.ClientSeed.Clients = []SeedClient{
		{Name: "Acme", ClientIdentifier: "acme", Secret: testSecret + "-client"},
		{Name: "Empty", ClientIdentifier: "empty", Secret: ""},
	}
	s.ImportBatch.LockTimeout = 90 * time.Second

	var buf bytes.Buffer
	require.NoError(t, Dump(s, &buf))
	out := buf.String()

	t.Run("secrets masked", func(t *testing.T) {
		require.NotContains(t, out, testSecret)
		require.Contains(t, out, `"ApiKey": "***"`)
		require.Contains(t, out, `"Secret": "***"`)
		require.Contains(t, out, `"Secret": ""`)
	})

	t.Run("connection string keeps its shape", func(t *testing.T) {
		require.Contains(t, out, `"DataFlow": "Server=db,1433;Database=DataFlow;User Id=app;Password=***;"`)
		require.Contains(t, out, `"BaseUrl": "https://svc:***@crm.example.com"`)
	})

	t.Run("names and values", func(t *testing.T) {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))

		batch := doc["ImportBatch"].(map[string]any)
		require.Equal(t, 100.0, batch["ChunkSize"])
		require.Equal(t, "1m30s", batch["LockTimeout"])
		require.Equal(t, "1m0s", batch["UnavailableDelay"])
		require.Equal(t, "0s", batch["HeartbeatInterval"])
		require.Equal(t, "Information", doc["Logging"].(map[string]any)["LogLevel"].(map[string]any)["Default"])
		require.Equal(t, true, doc["SensitiveData"].(map[string]any)["RedactPayloadOnSuccess"])
		require.Len(t, doc["ClientSeed"].(map[string]any)["Clients"], 2)
	})

	t.Run("field order of Settings", func(t *testing.T) {
		order := []string{`"Environment"`, `"Urls"`, `"ApplyMigrationsOnStartup"`, `"ConnectionStrings"`, `"Database"`, `"ImportBatch"`, `"Metrics"`}
		last := -1
		for _, name := range order {
			index := strings.Index(out, name)
			require.Greater(t, index, last, name)
			last = index
		}
		require.True(t, strings.HasPrefix(out, "{\n  \"Environment\": \"Production\""))
	})

	t.Run("empty slice as array", func(t *testing.T) {
		var empty bytes.Buffer
		require.NoError(t, Dump(Defaults(), &empty))
		require.Contains(t, empty.String(), `"Clients": []`)
	})
}

func TestMaskConnectionString(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"sqlite path", "./data/dataflow.db", "./data/dataflow.db"},
		{"ADO without password", "Server=db;Database=x;Integrated Security=true", "Server=db;Database=x;Integrated Security=true"},
		{"ADO password", "Server=db,1433;Database=DataFlow;User Id=sa;Password=S3cret!;TrustServerCertificate=True", "Server=db,1433;Database=DataFlow;User Id=sa;Password=***;TrustServerCertificate=True"},
		{"ADO pwd any case", "server=db;UID=sa;PWD=abc", "server=db;UID=sa;PWD=***"},
		{"ADO password first", "password=abc;server=db", "password=***;server=db"},
		{"ADO spaces around", "Server=db; Password = a b c ;Database=x", "Server=db; Password = *** ;Database=x"},
		{"ADO single quoted", "Server=db;Password='a;b''c';Database=x", "Server=db;Password=***;Database=x"},
		{"ADO double quoted", `Server=db;Password="a;""b";Database=x`, "Server=db;Password=***;Database=x"},
		{"ODBC braces", "Driver={ODBC Driver 18};Server=db;PWD={a;}}b};Database=x", "Driver={ODBC Driver 18};Server=db;PWD=***;Database=x"},
		{"ADO unterminated quote", "Server=db;Password='abc;Database=x", "Server=db;Password=***"},
		{"ADO single pair with space", "Password=two words", "Password=***"},
		{"ADO empty password", "Server=db;Password=;Database=x", "Server=db;Password=;Database=x"},
		{"postgres URL", "postgres://user:pass@host/db", "postgres://user:***@host/db"},
		{"postgres URL with port and query", "postgresql://app:p%40ss@db:5432/dataflow?sslmode=disable", "postgresql://app:***@db:5432/dataflow?sslmode=disable"},
		{"URL user without password", "postgres://user@host/db", "postgres://user@host/db"},
		{"URL without user", "postgres://host:5432/db", "postgres://host:5432/db"},
		{"URL password in query", "postgres://host/db?user=a&password=secret&sslmode=require", "postgres://host/db?user=a&password=***&sslmode=require"},
		{"URL unencoded at sign", "sqlserver://sa:p@ss@db:1433?database=x", "sqlserver://sa:***@db:1433?database=x"},
		{"URL unencoded slash", "postgres://user:pa/ss@host/db", "postgres://user:***@host/db"},
		{"URL IPv6 host", "postgres://[::1]:5432/db", "postgres://[::1]:5432/db"},
		{"sqlite URI auth", "file:dataflow.db?_auth&_auth_user=admin&_auth_pass=secret", "file:dataflow.db?_auth&_auth_user=admin&_auth_pass=***"},
		{"libpq keywords", "host=db port=5432 user=app password=secret dbname=dataflow", "host=db port=5432 user=app password=*** dbname=dataflow"},
		{"libpq quoted", `host=db password='sec ret\'s' dbname=x`, "host=db password=*** dbname=x"},
		{"libpq spaces around equals", "host=db password = secret dbname=x", "host=db password = *** dbname=x"},
		{"libpq escaped space", `password=a\ b dbname=x`, "password=*** dbname=x"},
		{"libpq quoted with semicolon", "host=db password='a;b' dbname=x", "host=db password=*** dbname=x"},
		{"libpq sslpassword", "host=db sslpassword=k", "host=db sslpassword=***"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, MaskConnectionString(tc.in))
		})
	}

	t.Run("length never shows", func(t *testing.T) {
		short := MaskConnectionString("Server=db;Password=a")
		long := MaskConnectionString("Server=db;Password=" + strings.Repeat("a", 40))
		require.Equal(t, short, long)
	})
}

func TestMaskGluedPassword(t *testing.T) {
	for _, in := range []string{"Host=127.0.0.1:Password=Sup3rGlued", "Server=x,1Pwd=Sup3rGlued;Database=d"} {
		got := MaskConnectionString(in)
		require.NotContains(t, got, "Sup3rGlued", in)
		require.Contains(t, got, "***", in)
	}
}
