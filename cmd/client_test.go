package cmd_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
)

// Secrets that the client commands read from standard input. The checks
// below require that no output ever contains them.
const (
	opsSecret     = "ops-secret-0123456789abcdef"
	rotatedSecret = "rotated-secret-0123456789abcdef"
	crlfSecret    = "crlf-secret-0123456789abcdef"
	hashedSecret  = "hashed-secret-0123456789abcdef"
)

// runDataflowInput is runDataflow with stdin as the standard input.
func runDataflowInput(t *testing.T, dir string, env []string, stdin string, args ...string) commandResult {
	t.Helper()

	return runDataflowWithInput(t, dir, env, commandTimeout, strings.NewReader(stdin), args...)
}

// clientCommands runs `dataflow client ...` against one database and keeps
// every output for the secret check.
type clientCommands struct {
	dir, configDir string
	env            []string
	outputs        []string
}

func (c *clientCommands) run(t *testing.T, stdin string, args ...string) commandResult {
	t.Helper()

	args = append([]string{"--config-dir", c.configDir, "client"}, args...)
	result := runDataflowInput(t, c.dir, c.env, stdin, args...)
	c.outputs = append(c.outputs, result.stdout, result.stderr)

	return result
}

// openClientDatabase opens the test database in this process, to check what
// the commands stored.
func openClientDatabase(t *testing.T, db testDatabase) *database.DB {
	t.Helper()

	target, err := database.ResolveTarget(db.provider, db.connectionString)
	require.NoError(t, err)

	conn, err := database.Open(context.Background(), target, database.Options{MaxOpenConns: 2, Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	return conn
}

func decodeJSON[T any](t *testing.T, text string) T {
	t.Helper()

	var value T
	require.NoError(t, json.Unmarshal([]byte(text), &value), "decoding %s", text)

	return value
}

// policySettingLine matches one line of `client policy show`.
func policySettingLine(name, value string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+` + regexp.QuoteMeta(value) + `$`)
}

func TestClientCommands(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		ctx := context.Background()
		root := t.TempDir()
		c := &clientCommands{
			dir:       root,
			configDir: filepath.Join(root, "config"),
			env: []string{
				"ConnectionStrings__DataFlow=" + db.connectionString,
				"Database__Provider=" + db.provider,
			},
		}
		require.NoError(t, os.MkdirAll(c.configDir, 0o750))

		migrate := runDataflow(t, root, c.env, commandTimeout, "--config-dir", c.configDir, "migrate", "up")
		require.Equal(t, 0, migrate.exitCode, "migrate up failed:\n%s", migrate.stderr)

		conn := openClientDatabase(t, db)
		store := clients.NewStore(conn, nil)

		t.Run("create reads stdin", func(t *testing.T) {
			result := c.run(t, opsSecret+"\n", "create", "--id", "Ops-CRM", "--name", "Ops CRM")
			require.Equal(t, 0, result.exitCode)
			assert.Contains(t, result.stdout, "created client ops-crm (Ops CRM), status Active")

			stored, err := store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.Equal(t, "Ops CRM", stored.Name)
			assert.Equal(t, clients.StatusActive, stored.Status)
			assert.True(t, clients.VerifySecret(opsSecret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("create strips CRLF", func(t *testing.T) {
			result := c.run(t, crlfSecret+"\r\n", "create", "--id", "crlf", "--name", "CRLF client", "--json")
			require.Equal(t, 0, result.exitCode)

			output := decodeJSON[map[string]any](t, result.stdout)
			assert.Equal(t, "crlf", output["clientIdentifier"])
			assert.Equal(t, "Active", output["status"])
			assert.NotContains(t, output, "secret", "a secret read from stdin must not be printed")

			stored, err := store.ByIdentifier(ctx, "crlf")
			require.NoError(t, err)
			assert.True(t, clients.VerifySecret(crlfSecret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("create rejects an empty secret", func(t *testing.T) {
			result := c.run(t, "", "create", "--id", "empty", "--name", "Empty")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "missing client secret: standard input is empty")

			_, err := store.ByIdentifier(ctx, "empty")
			assert.ErrorIs(t, err, clients.ErrNotFound)
		})

		t.Run("create rejects a short secret", func(t *testing.T) {
			result := c.run(t, "short-secret\n", "create", "--id", "short", "--name", "Short")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "shorter than 16 characters")
			assert.NotContains(t, result.stderr, "short-secret")

			_, err := store.ByIdentifier(ctx, "short")
			assert.ErrorIs(t, err, clients.ErrNotFound)
		})

		t.Run("create rejects two lines", func(t *testing.T) {
			result := c.run(t, opsSecret+"\n"+opsSecret+"\n", "create", "--id", "two-lines", "--name", "Two lines")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "more than one line")
		})

		t.Run("create rejects a bad identifier", func(t *testing.T) {
			result := c.run(t, opsSecret+"\n", "create", "--id", "ops crm", "--name", "Ops")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, `invalid client identifier "ops crm"`)
			assert.Contains(t, result.stderr, "--id")
		})

		t.Run("create rejects a duplicate", func(t *testing.T) {
			result := c.run(t, rotatedSecret+"\n", "create", "--id", "OPS-CRM", "--name", "Other")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "client ops-crm already exists")
			assert.Contains(t, result.stderr, "dataflow client rotate --id ops-crm")

			stored, err := store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.Equal(t, "Ops CRM", stored.Name)
			assert.True(t, clients.VerifySecret(opsSecret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("create generates a secret", func(t *testing.T) {
			result := c.run(t, "", "create", "--id", "generated", "--name", "Generated", "--generate-secret", "--json")
			require.Equal(t, 0, result.exitCode)

			output := decodeJSON[map[string]any](t, result.stdout)
			secret, ok := output["secret"].(string)
			require.True(t, ok, "the JSON output must contain the generated secret")
			raw, err := base64.RawURLEncoding.DecodeString(secret)
			require.NoError(t, err)
			assert.Len(t, raw, 32)
			assert.NotContains(t, result.stderr, secret, "the log must not contain the generated secret")

			stored, err := store.ByIdentifier(ctx, "generated")
			require.NoError(t, err)
			assert.True(t, clients.VerifySecret(secret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("rotate replaces the secret", func(t *testing.T) {
			result := c.run(t, rotatedSecret+"\n", "rotate", "--id", "ops-crm")
			require.Equal(t, 0, result.exitCode)
			assert.Contains(t, result.stdout, "rotated the secret of client ops-crm")

			stored, err := store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.True(t, clients.VerifySecret(rotatedSecret, stored.SecretHash, stored.SecretSalt))
			assert.False(t, clients.VerifySecret(opsSecret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("rotate rejects an unknown client", func(t *testing.T) {
			result := c.run(t, rotatedSecret+"\n", "rotate", "--id", "nobody")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "client nobody not found")
		})

		t.Run("suspend and activate", func(t *testing.T) {
			result := c.run(t, "", "suspend", "--id", "ops-crm")
			require.Equal(t, 0, result.exitCode)
			assert.Contains(t, result.stdout, "client ops-crm is Suspended (was Active)")

			stored, err := store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.Equal(t, clients.StatusSuspended, stored.Status)

			result = c.run(t, "", "activate", "--id", "ops-crm", "--json")
			require.Equal(t, 0, result.exitCode)
			output := decodeJSON[map[string]any](t, result.stdout)
			assert.Equal(t, "Active", output["status"])
			assert.Equal(t, "Suspended", output["previousStatus"])

			stored, err = store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.Equal(t, clients.StatusActive, stored.Status)
		})

		t.Run("suspend rejects an unknown client", func(t *testing.T) {
			result := c.run(t, "", "suspend", "--id", "nobody")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "client nobody not found")
		})

		t.Run("list JSON has no secrets", func(t *testing.T) {
			result := c.run(t, "", "list", "--json")
			require.Equal(t, 0, result.exitCode)

			listed := decodeJSON[[]map[string]any](t, result.stdout)
			identifiers := make([]string, 0, len(listed))
			for _, client := range listed {
				identifiers = append(identifiers, client["clientIdentifier"].(string))

				keys := make([]string, 0, len(client))
				for key := range client {
					keys = append(keys, key)
				}

				assert.ElementsMatch(t, []string{"clientIdentifier", "name", "status", "createdAt", "lastSeenAt"}, keys)
			}

			assert.Equal(t, []string{"crlf", "generated", "ops-crm"}, identifiers)

			stored, err := store.ByIdentifier(ctx, "ops-crm")
			require.NoError(t, err)
			assert.NotContains(t, result.stdout, base64.StdEncoding.EncodeToString(stored.SecretHash))
		})

		t.Run("list text", func(t *testing.T) {
			result := c.run(t, "", "list")
			require.Equal(t, 0, result.exitCode)
			assert.Regexp(t, `(?m)^IDENTIFIER\s+NAME\s+STATUS\s+CREATED\s+LAST SEEN$`, result.stdout)
			assert.Regexp(t, `(?m)^ops-crm\s+Ops CRM\s+Active\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never$`, result.stdout)
		})

		t.Run("policy set and show", func(t *testing.T) {
			result := c.run(t, "", "policy", "set", "--id", "ops-crm", "--max-file-size-mb", "50",
				"--allowed-start-hour", "8", "--allowed-end-hour=18", "--require-scheduling-for-large", "true")
			require.Equal(t, 0, result.exitCode)
			assert.Regexp(t, policySettingLine("max-file-size-mb", "50"), result.stdout)

			result = c.run(t, "", "policy", "show", "--id", "ops-crm", "--json")
			require.Equal(t, 0, result.exitCode)
			shown := decodeJSON[map[string]any](t, result.stdout)
			assert.Equal(t, "client", shown["scope"])
			assert.Equal(t, "ops-crm", shown["clientIdentifier"])
			assert.Equal(t, true, shown["stored"])

			settings := shown["settings"].(map[string]any)
			assert.Equal(t, 50.0, settings["maxFileSizeMb"])
			assert.Equal(t, 8.0, settings["allowedStartHour"])
			assert.Equal(t, 18.0, settings["allowedEndHour"])
			assert.Equal(t, true, settings["requireSchedulingForLarge"])
			assert.Nil(t, settings["retentionDays"])
			assert.Len(t, settings, 10)

			result = c.run(t, "", "policy", "set", "--id", "ops-crm", "--max-file-size-mb=null", "--retention-days", "30")
			require.Equal(t, 0, result.exitCode)

			result = c.run(t, "", "policy", "show", "--id", "ops-crm")
			require.Equal(t, 0, result.exitCode)
			assert.Regexp(t, policySettingLine("max-file-size-mb", "(default)"), result.stdout)
			assert.Regexp(t, policySettingLine("allowed-start-hour", "8"), result.stdout)
			assert.Regexp(t, policySettingLine("retention-days", "30"), result.stdout)
			assert.Regexp(t, policySettingLine("rate-limit-per-minute", "(default)"), result.stdout)
		})

		t.Run("policy global row", func(t *testing.T) {
			result := c.run(t, "", "policy", "show", "--global")
			require.Equal(t, 0, result.exitCode)
			assert.Contains(t, result.stdout, "global policy: no ClientPolicies row")

			result = c.run(t, "", "policy", "set", "--global", "--rate-limit-per-minute", "120")
			require.Equal(t, 0, result.exitCode)

			result = c.run(t, "", "policy", "show", "--global", "--json")
			require.Equal(t, 0, result.exitCode)
			shown := decodeJSON[map[string]any](t, result.stdout)
			assert.Equal(t, "global", shown["scope"])
			assert.Nil(t, shown["clientIdentifier"])
			assert.Equal(t, 120.0, shown["settings"].(map[string]any)["rateLimitPerMinute"])

			client, _, err := store.PolicyFor(ctx, "ops-crm")
			require.NoError(t, err)
			assert.Nil(t, client.RateLimitPerMinute, "the global row must not change the client's row")
		})

		t.Run("policy rejects a bad hour", func(t *testing.T) {
			result := c.run(t, "", "policy", "set", "--id", "ops-crm", "--allowed-start-hour", "24")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, `invalid --allowed-start-hour "24": use a whole number from 0 to 23`)

			policy, _, err := store.PolicyFor(ctx, "ops-crm")
			require.NoError(t, err)
			require.NotNil(t, policy.AllowedStartHour)
			assert.Equal(t, 8, *policy.AllowedStartHour)
		})

		t.Run("policy rejects bad flags", func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				args    []string
				message string
			}{
				{"no scope", []string{"--max-file-size-mb", "5"}, "missing --id"},
				{"both scopes", []string{"--id", "ops-crm", "--global", "--max-file-size-mb", "5"}, "--id and --global exclude each other"},
				{"no setting", []string{"--id", "ops-crm"}, "no policy setting given"},
				{"zero size", []string{"--id", "ops-crm", "--max-file-size-mb", "0"}, `invalid --max-file-size-mb "0"`},
				{"bad boolean", []string{"--id", "ops-crm", "--redact-payload-on-success", "yes"}, "use true, false, or null"},
				{"half a window", []string{"--id", "ops-crm", "--allowed-end-hour=null"}, "pass --allowed-end-hour too, or --allowed-start-hour=null"},
				{"unknown client", []string{"--id", "nobody", "--retention-days", "5"}, "client nobody not found"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					result := c.run(t, "", append([]string{"policy", "set"}, tc.args...)...)
					assert.Equal(t, 1, result.exitCode)
					assert.Contains(t, result.stderr, tc.message)
				})
			}
		})

		t.Run("hash output parses", func(t *testing.T) {
			result := c.run(t, hashedSecret+"\n", "hash", "--id", "crlf", "--json")
			require.Equal(t, 0, result.exitCode)

			output := decodeJSON[map[string]string](t, result.stdout)
			hash, err := base64.StdEncoding.DecodeString(output["secretHash"])
			require.NoError(t, err)
			salt, err := base64.StdEncoding.DecodeString(output["secretSalt"])
			require.NoError(t, err)
			assert.Len(t, hash, 32)
			assert.Len(t, salt, 32)
			assert.True(t, clients.VerifySecret(hashedSecret, hash, salt))
			assert.Equal(t, "sqlserver", output["dialect"])
			assert.Equal(t, "UPDATE [Clients] SET [SecretHash] = 0x"+strings.ToUpper(hex.EncodeToString(hash))+
				", [SecretSalt] = 0x"+strings.ToUpper(hex.EncodeToString(salt))+" WHERE [ClientIdentifier] = 'crlf';", output["sql"])
		})

		t.Run("hash statement runs", func(t *testing.T) {
			result := c.run(t, hashedSecret+"\n", "hash", "--id", "crlf", "--dialect", db.provider)
			require.Equal(t, 0, result.exitCode)

			statement := regexp.MustCompile(`(?m)^UPDATE .*;$`).FindString(result.stdout)
			require.NotEmpty(t, statement, "the text output must contain the UPDATE statement")
			require.NoError(t, conn.Exec(statement).Error)

			stored, err := store.ByIdentifier(ctx, "crlf")
			require.NoError(t, err)
			assert.True(t, clients.VerifySecret(hashedSecret, stored.SecretHash, stored.SecretSalt))
		})

		t.Run("hash without id prints no statement", func(t *testing.T) {
			result := c.run(t, hashedSecret+"\n", "hash")
			require.Equal(t, 0, result.exitCode)
			assert.Regexp(t, `(?m)^SecretHash \(base64\): [A-Za-z0-9+/]{43}=$`, result.stdout)
			assert.Regexp(t, `(?m)^SecretSalt \(base64\): [A-Za-z0-9+/]{43}=$`, result.stdout)
			assert.NotRegexp(t, `(?m)^UPDATE `, result.stdout)
			assert.Contains(t, result.stdout, "add --id <clientIdentifier> to print an UPDATE statement")
		})

		t.Run("hash rejects bad input", func(t *testing.T) {
			result := c.run(t, "", "hash")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, "missing client secret")

			result = c.run(t, hashedSecret+"\n", "hash", "--dialect", "oracle")
			assert.Equal(t, 1, result.exitCode)
			assert.Contains(t, result.stderr, `invalid --dialect "oracle"`)
		})

		t.Run("no output shows a secret", func(t *testing.T) {
			for _, output := range c.outputs {
				for _, secret := range []string{opsSecret, rotatedSecret, crlfSecret, hashedSecret} {
					assert.NotContains(t, output, secret)
				}
			}
		})
	})
}
