package clients_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
	"github.com/dataflow/dataflow/platform/kernel"
)

type clientsBundle struct {
	kernel *kernel.Kernel
	module *clients.Module
	logs   *bytes.Buffer
	conn   *database.DB
}

func setupClients(t *testing.T, open func(testing.TB) *database.DB, seed []config.SeedClient) *clientsBundle {
	t.Helper()

	conn := open(t)
	dbtest.Migrate(t, conn, db.Migrations())

	logs := &bytes.Buffer{}
	settings := config.Defaults()
	settings.ClientSeed.Clients = seed
	k := &kernel.Kernel{Settings: settings, Log: zerolog.New(logs), DB: conn, Now: time.Now}
	m := clients.New()
	require.NoError(t, k.Register(m))

	return &clientsBundle{kernel: k, module: m, logs: logs, conn: conn}
}

const (
	firstSecret  = "first-secret-Zq8$wX2!pL9#vR4"
	secondSecret = "second-secret-Mn5$tY7!kJ3#bC1"
)

func TestSeeder(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()

			t.Run("creates missing clients lower-cased", func(t *testing.T) {
				b := setupClients(t, engine.Open, []config.SeedClient{{Name: "OmniFlow CRM", ClientIdentifier: "OmniFlow-CRM", Secret: firstSecret}})
				require.NoError(t, b.kernel.Seed(ctx))

				c, err := b.module.Store().ByIdentifier(ctx, "omniflow-crm")
				require.NoError(t, err)
				require.Equal(t, "omniflow-crm", c.ClientIdentifier)
				require.Equal(t, clients.StatusActive, c.Status)
				require.True(t, clients.VerifySecret(firstSecret, c.SecretHash, c.SecretSalt))
				require.NotContains(t, b.logs.String(), firstSecret)
			})

			t.Run("rotates only when the secret changed", func(t *testing.T) {
				b := setupClients(t, engine.Open, []config.SeedClient{{Name: "CRM", ClientIdentifier: "crm", Secret: firstSecret}})
				require.NoError(t, b.kernel.Seed(ctx))
				before, err := b.module.Store().ByIdentifier(ctx, "crm")
				require.NoError(t, err)

				require.NoError(t, b.kernel.Seed(ctx))
				same, err := b.module.Store().ByIdentifier(ctx, "crm")
				require.NoError(t, err)
				require.Equal(t, before.SecretSalt, same.SecretSalt, "an unchanged secret must not be rehashed")

				b.kernel.Settings.ClientSeed.Clients[0].Secret = secondSecret
				again := setupClients(t, func(testing.TB) *database.DB { return b.conn }, b.kernel.Settings.ClientSeed.Clients)
				require.NoError(t, again.kernel.Seed(ctx))
				rotated, err := b.module.Store().ByIdentifier(ctx, "crm")
				require.NoError(t, err)
				require.True(t, clients.VerifySecret(secondSecret, rotated.SecretHash, rotated.SecretSalt))
				require.False(t, clients.VerifySecret(firstSecret, rotated.SecretHash, rotated.SecretSalt))
				require.NotContains(t, again.logs.String(), secondSecret)
			})

			t.Run("never re-activates a suspended client", func(t *testing.T) {
				b := setupClients(t, engine.Open, []config.SeedClient{{Name: "CRM", ClientIdentifier: "crm", Secret: firstSecret}})
				require.NoError(t, b.kernel.Seed(ctx))
				require.NoError(t, b.module.Store().SetStatus(ctx, "crm", clients.StatusSuspended))

				require.NoError(t, b.kernel.Seed(ctx))
				c, err := b.module.Store().ByIdentifier(ctx, "crm")
				require.NoError(t, err)
				require.Equal(t, clients.StatusSuspended, c.Status)
			})
		})
	}
}

func TestAuthenticator(t *testing.T) {
	b := setupClients(t, dbtest.OpenSQLite, []config.SeedClient{
		{Name: "CRM", ClientIdentifier: "crm", Secret: firstSecret},
		{Name: "Other", ClientIdentifier: "other", Secret: secondSecret},
	})
	require.NoError(t, b.kernel.Seed(context.Background()))
	require.NoError(t, b.module.Store().SetStatus(context.Background(), "other", clients.StatusSuspended))

	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status := http.StatusInternalServerError
		if err == clients.ErrUnauthorized {
			status = http.StatusUnauthorized
		}

		_ = c.String(status, err.Error())
	}
	e.GET("/who", func(c echo.Context) error {
		id, ok := clients.IdentityFrom(c)
		require.True(t, ok)

		return c.String(http.StatusOK, id.ClientIdentifier)
	}, b.module.Middleware())

	call := func(id, secret string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/who", nil)
		if id != "" {
			req.Header.Set("X-Client-Id", id)
		}

		if secret != "" {
			req.Header.Set("X-Client-Secret", secret)
		}

		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)

		return rec.Code, rec.Body.String()
	}

	for _, tc := range []struct {
		name, id, secret string
		status           int
	}{
		{"right secret", "crm", firstSecret, http.StatusOK},
		{"identifier is case-insensitive", "CRM", firstSecret, http.StatusOK},
		{"cached verification", "crm", firstSecret, http.StatusOK},
		{"no headers", "", "", http.StatusUnauthorized},
		{"no secret", "crm", "", http.StatusUnauthorized},
		{"wrong secret", "crm", secondSecret, http.StatusUnauthorized},
		{"unknown client", "nobody", firstSecret, http.StatusUnauthorized},
		{"suspended client", "other", secondSecret, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(tc.id, tc.secret)
			require.Equal(t, tc.status, status)
			if status == http.StatusOK {
				require.Equal(t, "crm", body)
			}

			require.NotContains(t, body, firstSecret)
		})
	}

	t.Run("failures share one body", func(t *testing.T) {
		_, wrong := call("crm", secondSecret)
		_, unknown := call("nobody", firstSecret)
		_, suspended := call("other", secondSecret)
		require.Equal(t, wrong, unknown)
		require.Equal(t, wrong, suspended)
	})
}
