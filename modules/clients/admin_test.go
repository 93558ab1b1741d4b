package clients_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// adminNow is the fixed clock of the admin store tests.
var adminNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func openAdminStore(t *testing.T, open func(testing.TB) *database.DB) (*clients.Store, *database.DB) {
	t.Helper()

	conn := open(t)
	dbtest.Migrate(t, conn, db.Migrations())

	return clients.NewStore(conn, func() time.Time { return adminNow }), conn
}

func TestValidateIdentifier(t *testing.T) {
	for _, tc := range []struct {
		name, raw, expected, problem string
	}{
		{name: "lower-cased and trimmed", raw: "  Acme-CRM.v2_x ", expected: "acme-crm.v2_x"},
		{name: "64 characters", raw: strings.Repeat("a", 64), expected: strings.Repeat("a", 64)},
		{name: "empty", raw: "  ", problem: "missing client identifier"},
		{name: "65 characters", raw: strings.Repeat("a", 65), problem: "longer than 64"},
		{name: "space inside", raw: "acme crm", problem: "contains ' '"},
		{name: "non-ASCII letter", raw: "café", problem: "contains 'é'"},
		{name: "quote", raw: "acme'crm", problem: `contains '\''`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			identifier, err := clients.ValidateIdentifier(tc.raw)
			if tc.problem == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.expected, identifier)

				return
			}

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			assert.Contains(t, err.Error(), "such as acme-crm", "the message must show a valid identifier")
		})
	}
}

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name, raw, expected, problem string
	}{
		{name: "trimmed", raw: " Acme CRM ", expected: "Acme CRM"},
		{name: "120 multi-byte characters", raw: strings.Repeat("ç", 120), expected: strings.Repeat("ç", 120)},
		{name: "empty", raw: " ", problem: "missing client name"},
		{name: "121 characters", raw: strings.Repeat("ç", 121), problem: "longer than 120"},
		{name: "line break", raw: "Acme\nCRM", problem: "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, err := clients.ValidateName(tc.raw)
			if tc.problem == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.expected, name)

				return
			}

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
		})
	}
}

func TestValidateSecret(t *testing.T) {
	for _, tc := range []struct {
		name, secret, problem string
	}{
		{name: "16 characters", secret: "0123456789abcdef"},
		{name: "16 multi-byte characters", secret: strings.Repeat("ç", 16)},
		{name: "1024 bytes", secret: strings.Repeat("s", 1024)},
		{name: "empty", secret: "", problem: "missing client secret"},
		{name: "15 characters", secret: "0123456789abcde", problem: "shorter than 16 characters"},
		{name: "1025 bytes", secret: strings.Repeat("s", 1025), problem: "longer than 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := clients.ValidateSecret(tc.secret)
			if tc.problem == "" {
				require.NoError(t, err)

				return
			}

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			if tc.secret != "" {
				assert.NotContains(t, err.Error(), tc.secret, "the message must not show the secret")
			}
		})
	}
}

func TestGenerateSecret(t *testing.T) {
	first := clients.GenerateSecret()
	second := clients.GenerateSecret()

	raw, err := base64.RawURLEncoding.DecodeString(first)
	require.NoError(t, err)
	assert.Len(t, raw, clients.GeneratedSecretBytes)
	assert.Len(t, first, 43)
	assert.NotEqual(t, first, second)
	assert.NoError(t, clients.ValidateSecret(first))
}

func TestPolicySettingParse(t *testing.T) {
	for _, tc := range []struct {
		name, setting, raw string
		expected           any
		problem            string
	}{
		{name: "positive number", setting: "max-file-size-mb", raw: "50", expected: 50},
		{name: "null", setting: "max-file-size-mb", raw: "null", expected: nil},
		{name: "null in capitals", setting: "retention-days", raw: "NULL", expected: nil},
		{name: "largest int column value", setting: "rate-limit-per-minute", raw: "2147483647", expected: 2147483647},
		{name: "hour 0", setting: "allowed-start-hour", raw: "0", expected: 0},
		{name: "hour 23", setting: "allowed-end-hour", raw: "23", expected: 23},
		{name: "true", setting: "require-scheduling-for-large", raw: "true", expected: true},
		{name: "false", setting: "redact-payload-on-success", raw: "False", expected: false},
		{name: "zero size", setting: "max-file-size-mb", raw: "0", problem: "invalid --max-file-size-mb \"0\": use a whole number from 1 to 2147483647"},
		{name: "negative days", setting: "retention-days", raw: "-3", problem: "invalid --retention-days \"-3\""},
		{name: "no quota", setting: "max-batch-per-day", raw: "0", expected: 0},
		{name: "zero threshold", setting: "large-threshold-mb", raw: "0", expected: 0},
		{name: "negative threshold", setting: "large-threshold-mb", raw: "-1", problem: "use a whole number from 0 to 2147483647"},
		{name: "past the int column", setting: "max-batch-per-day", raw: "2147483648", problem: "from 0 to 2147483647"},
		{name: "hour 24", setting: "allowed-start-hour", raw: "24", problem: "invalid --allowed-start-hour \"24\": use a whole number from 0 to 23"},
		{name: "fraction", setting: "large-threshold-mb", raw: "1.5", problem: "whole number"},
		{name: "empty", setting: "large-threshold-mb", raw: "", problem: "invalid --large-threshold-mb \"\""},
		{name: "boolean as number", setting: "redact-payload-on-failure", raw: "1", problem: "use true, false, or null"},
		{name: "number as boolean", setting: "max-file-size-mb", raw: "true", problem: "whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setting, ok := clients.PolicySettingByName(tc.setting)
			require.True(t, ok, "unknown setting %s", tc.setting)

			value, err := setting.Parse(tc.raw)
			if tc.problem == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.expected, value)

				return
			}

			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.problem)
			assert.Contains(t, err.Error(), "or null for the default")
		})
	}
}

func TestPolicySettingsCoverColumns(t *testing.T) {
	columns := map[string]bool{}
	for _, setting := range clients.PolicySettings() {
		assert.False(t, columns[setting.Column], "column %s listed twice", setting.Column)
		columns[setting.Column] = true

		found, ok := clients.PolicySettingByName(setting.Name)
		assert.True(t, ok, setting.Name)
		assert.Equal(t, setting.Column, found.Column)
	}

	assert.Len(t, columns, 10, "every nullable ClientPolicies column except ClientId")
}

func TestUpdateSecretSQLFormats(t *testing.T) {
	hash := []byte{0x00, 0xab, 0x10}
	salt := []byte{0xff, 0x01}

	for _, tc := range []struct {
		provider database.Provider
		expected string
	}{
		{database.SQLServer, "UPDATE [Clients] SET [SecretHash] = 0x00AB10, [SecretSalt] = 0xFF01 WHERE [ClientIdentifier] = 'acme-crm';"},
		{database.Postgres, `UPDATE "Clients" SET "SecretHash" = decode('00ab10', 'hex'), "SecretSalt" = decode('ff01', 'hex') WHERE "ClientIdentifier" = 'acme-crm';`},
		{database.SQLite, `UPDATE "Clients" SET "SecretHash" = X'00ab10', "SecretSalt" = X'ff01' WHERE "ClientIdentifier" = 'acme-crm';`},
	} {
		t.Run(string(tc.provider), func(t *testing.T) {
			statement, err := clients.UpdateSecretSQL(tc.provider, "acme-crm", hash, salt)
			require.NoError(t, err)
			assert.Equal(t, tc.expected, statement)
		})
	}

	t.Run("unknown provider", func(t *testing.T) {
		_, err := clients.UpdateSecretSQL("oracle", "acme-crm", hash, salt)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "use sqlserver, postgres or sqlite")
	})

	t.Run("identifier with a quote", func(t *testing.T) {
		_, err := clients.UpdateSecretSQL(database.SQLite, "x'; DROP TABLE Clients; --", hash, salt)
		require.Error(t, err)
	})
}

func TestAdminStore(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()

			t.Run("add stores a verifiable hash", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)

				created, err := store.AddClient(ctx, " Acme-CRM ", " Acme CRM ", firstSecret)
				require.NoError(t, err)
				assert.Equal(t, "acme-crm", created.ClientIdentifier)

				stored, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.Equal(t, "Acme CRM", stored.Name)
				assert.Equal(t, clients.StatusActive, stored.Status)
				assert.Len(t, stored.SecretHash, clients.SecretKeySize)
				assert.Len(t, stored.SecretSalt, clients.SecretSaltSize)
				assert.True(t, stored.CreatedAt.Equal(adminNow), "CreatedAt %s", stored.CreatedAt)
				assert.Nil(t, stored.LastSeenAt)
				assert.True(t, clients.VerifySecret(firstSecret, stored.SecretHash, stored.SecretSalt))
				assert.False(t, clients.VerifySecret(secondSecret, stored.SecretHash, stored.SecretSalt))
			})

			t.Run("add rejects a duplicate in any case", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				_, err = store.AddClient(ctx, "ACME-CRM", "Other", secondSecret)
				require.ErrorIs(t, err, clients.ErrDuplicateIdentifier)
				assert.Contains(t, err.Error(), "acme-crm")

				stored, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.Equal(t, "Acme CRM", stored.Name, "the first client must stay unchanged")
				assert.True(t, clients.VerifySecret(firstSecret, stored.SecretHash, stored.SecretSalt))
			})

			t.Run("add rejects invalid input", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)

				_, err := store.AddClient(ctx, "acme crm", "Acme CRM", firstSecret)
				assert.ErrorContains(t, err, "invalid client identifier")
				_, err = store.AddClient(ctx, "acme-crm", "", firstSecret)
				assert.ErrorContains(t, err, "missing client name")
				_, err = store.AddClient(ctx, "acme-crm", "Acme CRM", "too-short")
				assert.ErrorContains(t, err, "shorter than 16 characters")

				summaries, err := store.List(ctx)
				require.NoError(t, err)
				assert.Empty(t, summaries)
			})

			t.Run("rotate replaces hash and salt", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)
				before, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)

				_, err = store.RotateSecret(ctx, "Acme-CRM", secondSecret)
				require.NoError(t, err)

				after, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.NotEqual(t, before.SecretSalt, after.SecretSalt)
				assert.True(t, clients.VerifySecret(secondSecret, after.SecretHash, after.SecretSalt))
				assert.False(t, clients.VerifySecret(firstSecret, after.SecretHash, after.SecretSalt))
			})

			t.Run("rotate rejects unknown and short", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				_, err = store.RotateSecret(ctx, "nobody", secondSecret)
				assert.ErrorIs(t, err, clients.ErrNotFound)

				_, err = store.RotateSecret(ctx, "acme-crm", "short")
				assert.ErrorContains(t, err, "shorter than 16 characters")

				stored, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.True(t, clients.VerifySecret(firstSecret, stored.SecretHash, stored.SecretSalt))
			})

			t.Run("change status", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				previous, err := store.ChangeStatus(ctx, "acme-crm", clients.StatusSuspended)
				require.NoError(t, err)
				assert.Equal(t, clients.StatusActive, previous)

				stored, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.Equal(t, clients.StatusSuspended, stored.Status)

				previous, err = store.ChangeStatus(ctx, "acme-crm", clients.StatusActive)
				require.NoError(t, err)
				assert.Equal(t, clients.StatusSuspended, previous)

				_, err = store.ChangeStatus(ctx, "nobody", clients.StatusSuspended)
				assert.ErrorIs(t, err, clients.ErrNotFound)

				_, err = store.ChangeStatus(ctx, "acme-crm", "Deleted")
				assert.ErrorContains(t, err, `invalid client status "Deleted"`)
			})

			t.Run("list orders by identifier", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)

				empty, err := store.List(ctx)
				require.NoError(t, err)
				assert.NotNil(t, empty, "an empty list must encode as [] in JSON")
				assert.Empty(t, empty)

				_, err = store.AddClient(ctx, "zeta", "Zeta", firstSecret)
				require.NoError(t, err)
				beta, err := store.AddClient(ctx, "beta", "Beta", secondSecret)
				require.NoError(t, err)
				require.NoError(t, store.TouchLastSeen(ctx, beta.ID))
				_, err = store.ChangeStatus(ctx, "zeta", clients.StatusSuspended)
				require.NoError(t, err)

				summaries, err := store.List(ctx)
				require.NoError(t, err)
				require.Len(t, summaries, 2)
				assert.Equal(t, "beta", summaries[0].ClientIdentifier)
				assert.Equal(t, "Beta", summaries[0].Name)
				assert.Equal(t, clients.StatusActive, summaries[0].Status)
				require.NotNil(t, summaries[0].LastSeenAt)
				assert.True(t, summaries[0].LastSeenAt.Equal(adminNow))
				assert.Equal(t, "zeta", summaries[1].ClientIdentifier)
				assert.Equal(t, clients.StatusSuspended, summaries[1].Status)
				assert.Nil(t, summaries[1].LastSeenAt)
				assert.True(t, summaries[1].CreatedAt.Equal(adminNow))
			})

			t.Run("policy created then updated", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				_, found, err := store.PolicyFor(ctx, "acme-crm")
				require.NoError(t, err)
				assert.False(t, found)

				created, err := store.SetPolicy(ctx, "acme-crm", []clients.PolicyChange{
					change(t, "max-file-size-mb", 50),
					change(t, "allowed-start-hour", 0),
					change(t, "allowed-end-hour", 6),
					change(t, "require-scheduling-for-large", false),
				})
				require.NoError(t, err)
				require.NotNil(t, created.ClientID)
				assert.Equal(t, 50, deref(t, created.MaxFileSizeMb))
				assert.Equal(t, 0, deref(t, created.AllowedStartHour))
				assert.Equal(t, 6, deref(t, created.AllowedEndHour))
				assert.False(t, deref(t, created.RequireSchedulingForLarge))
				assert.Nil(t, created.RetentionDays)

				updated, err := store.SetPolicy(ctx, "ACME-CRM", []clients.PolicyChange{
					change(t, "max-file-size-mb", nil),
					change(t, "retention-days", 30),
					change(t, "redact-payload-on-failure", true),
				})
				require.NoError(t, err)
				assert.Equal(t, created.ID, updated.ID, "the existing row must be updated, not a second one created")
				assert.Nil(t, updated.MaxFileSizeMb, "null must store NULL")
				assert.Equal(t, 0, deref(t, updated.AllowedStartHour), "a setting not given must keep its value")
				assert.False(t, deref(t, updated.RequireSchedulingForLarge))
				assert.Equal(t, 30, deref(t, updated.RetentionDays))
				assert.True(t, deref(t, updated.RedactPayloadOnFailure))

				loaded, found, err := store.PolicyFor(ctx, "acme-crm")
				require.NoError(t, err)
				assert.True(t, found)
				assert.Equal(t, updated, normalizeTime(loaded, updated.CreatedAt))
			})

			t.Run("global policy is its own row", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)
				_, err = store.SetPolicy(ctx, "acme-crm", []clients.PolicyChange{change(t, "rate-limit-per-minute", 10)})
				require.NoError(t, err)

				_, found, err := store.PolicyFor(ctx, "")
				require.NoError(t, err)
				assert.False(t, found, "a client's row must not count as the global row")

				global, err := store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "rate-limit-per-minute", 100)})
				require.NoError(t, err)
				assert.Nil(t, global.ClientID)
				assert.Equal(t, 100, deref(t, global.RateLimitPerMinute))

				client, _, err := store.PolicyFor(ctx, "acme-crm")
				require.NoError(t, err)
				assert.Equal(t, 10, deref(t, client.RateLimitPerMinute))
			})

			t.Run("policy rejects bad requests", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)

				_, err := store.SetPolicy(ctx, "nobody", []clients.PolicyChange{change(t, "retention-days", 7)})
				assert.ErrorIs(t, err, clients.ErrNotFound)

				_, _, err = store.PolicyFor(ctx, "nobody")
				assert.ErrorIs(t, err, clients.ErrNotFound)

				_, err = store.SetPolicy(ctx, "", nil)
				assert.ErrorContains(t, err, "no setting given")

				hour, _ := clients.PolicySettingByName("allowed-end-hour")
				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{{Setting: hour, Value: 24}})
				assert.ErrorContains(t, err, "invalid --allowed-end-hour 24")

				flag, _ := clients.PolicySettingByName("redact-payload-on-success")
				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{{Setting: flag, Value: 1}})
				assert.ErrorContains(t, err, "use true, false, or null")

				_, found, err := store.PolicyFor(ctx, "")
				require.NoError(t, err)
				assert.False(t, found, "a rejected change must not create a row")
			})

			t.Run("policy hours come in pairs", func(t *testing.T) {
				store, _ := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				_, err = store.SetPolicy(ctx, "acme-crm", []clients.PolicyChange{change(t, "allowed-start-hour", 22)})
				assert.ErrorContains(t, err, "invalid --allowed-start-hour for the policy of client acme-crm")
				assert.ErrorContains(t, err, "pass --allowed-end-hour too")

				_, found, err := store.PolicyFor(ctx, "acme-crm")
				require.NoError(t, err)
				assert.False(t, found, "a rejected change must not create a row")

				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "allowed-end-hour", 6)})
				assert.ErrorContains(t, err, "invalid --allowed-end-hour for the global policy")

				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "allowed-start-hour", 8), change(t, "allowed-end-hour", 18)})
				require.NoError(t, err)

				client, err := store.SetPolicy(ctx, "acme-crm", []clients.PolicyChange{change(t, "allowed-start-hour", 22)})
				require.NoError(t, err, "the global row supplies the end hour")
				assert.Equal(t, 22, deref(t, client.AllowedStartHour))
				assert.Nil(t, client.AllowedEndHour)

				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "allowed-end-hour", nil)})
				assert.ErrorContains(t, err, "would open at 8 but have no closing hour")

				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "allowed-start-hour", nil), change(t, "allowed-end-hour", nil)})
				require.NoError(t, err, "clearing both hours removes the window")

				_, err = store.SetPolicy(ctx, "acme-crm", []clients.PolicyChange{change(t, "retention-days", 7)})
				require.NoError(t, err, "a change that leaves the hours alone is not checked")
			})

			t.Run("policy with duplicate rows", func(t *testing.T) {
				store, conn := openAdminStore(t, engine.Open)
				for range 2 {
					row := clients.Policy{ID: database.NewUUID(), CreatedAt: adminNow}
					require.NoError(t, conn.Create(&row).Error)
				}

				_, _, err := store.PolicyFor(ctx, "")
				assert.ErrorContains(t, err, "more than one row")

				_, err = store.SetPolicy(ctx, "", []clients.PolicyChange{change(t, "retention-days", 7)})
				assert.ErrorContains(t, err, "delete all but one")
			})

			t.Run("update statement runs", func(t *testing.T) {
				store, conn := openAdminStore(t, engine.Open)
				_, err := store.AddClient(ctx, "acme-crm", "Acme CRM", firstSecret)
				require.NoError(t, err)

				hash, salt, err := clients.HashSecret(secondSecret)
				require.NoError(t, err)
				statement, err := clients.UpdateSecretSQL(conn.Dialect.Provider, "acme-crm", hash, salt)
				require.NoError(t, err)
				result := conn.Exec(statement)
				require.NoError(t, result.Error)
				assert.Equal(t, int64(1), result.RowsAffected)

				stored, err := store.ByIdentifier(ctx, "acme-crm")
				require.NoError(t, err)
				assert.Equal(t, hash, stored.SecretHash)
				assert.Equal(t, salt, stored.SecretSalt)
				assert.True(t, clients.VerifySecret(secondSecret, stored.SecretHash, stored.SecretSalt))
			})
		})
	}
}

// change builds a PolicyChange for the named setting.
func change(t *testing.T, name string, value any) clients.PolicyChange {
	t.Helper()

	setting, ok := clients.PolicySettingByName(name)
	require.True(t, ok, "unknown setting %s", name)

	return clients.PolicyChange{Setting: setting, Value: value}
}

func deref[T any](t *testing.T, p *T) T {
	t.Helper()

	require.NotNil(t, p)

	return *p
}

// normalizeTime gives a loaded row the CreatedAt of the row SetPolicy
// returned, because engines return the same instant in other locations.
func normalizeTime(p clients.Policy, createdAt time.Time) clients.Policy {
	if p.CreatedAt.Equal(createdAt) {
		p.CreatedAt = createdAt
	}

	return p
}
