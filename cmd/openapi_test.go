package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/config"
)

// TestOpenAPIDocument checks that the published document describes exactly
// the routes `serve` registers, with the same methods.
func TestOpenAPIDocument(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "api", "openapi.json"))
	require.NoError(t, err)

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	documented := map[string]bool{}
	for path, methods := range doc.Paths {
		for method := range methods {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	settings := config.Defaults()
	settings.Database.Provider = "sqlite"
	settings.ConnectionStrings.DataFlow = filepath.Join(t.TempDir(), "api.db")
	settings.ImportStorage.BasePath = filepath.Join(t.TempDir(), "uploads")

	a, err := buildApp(context.Background(), settings, zerolog.Nop(), appOptions{storage: true})
	require.NoError(t, err)
	t.Cleanup(a.close)

	served := map[string]bool{}
	for _, r := range a.httpServer(raw).Echo.Routes() {
		if strings.HasPrefix(r.Method, "echo_") {
			// Groups add catch-all entries of their own for 404 responses.
			continue
		}

		path := r.Path
		for _, part := range strings.Split(path, "/") {
			if strings.HasPrefix(part, ":") {
				path = strings.Replace(path, part, "{"+part[1:]+"}", 1)
			}
		}

		served[r.Method+" "+path] = true
	}

	require.Equal(t, sortedKeys(documented), sortedKeys(served))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}

	sort.Strings(out)

	return out
}
