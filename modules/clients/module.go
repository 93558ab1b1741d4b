// Package clients owns the client systems allowed to call the API: their
// credentials (PBKDF2 hashes compatible with the .NET services), policies,
// seeding from configuration and request authentication.
package clients

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/platform/kernel"
)

// Module registers the clients schema, the seeder and the authenticator.
type Module struct {
	store *Store
	auth  *Authenticator
}

// New returns the module.
func New() *Module { return &Module{} }

// Name returns "clients".
func (*Module) Name() string { return "clients" }

// Register adds the migrations and the configuration seeder.
func (m *Module) Register(k *kernel.Kernel) error {
	k.AddMigrations(Migrations()...)

	m.store = &Store{db: k.DB, now: k.Now}
	m.auth = NewAuthenticator(m.store, NewVerifyCache(5*time.Minute, 10_000, k.Now), k.Log, k.Now)
	m.auth.throttle = NewCounter(k.DB, k.Now)
	k.AddSeeders(&Seeder{store: m.store, cache: m.auth.cache, clients: k.Settings.ClientSeed.Clients, log: k.Log})

	return nil
}

// Middleware authenticates a route's requests. It may be taken before
// Register runs: the authenticator is looked up at request time.
func (m *Module) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			return m.auth.Middleware(next)(c)
		}
	}
}

// Store returns the client store.
func (m *Module) Store() *Store { return m.store }

// Identity is the authenticated caller of a request.
type Identity struct {
	ClientID         string
	ClientIdentifier string
	Name             string
}

type identityKey struct{}

// IdentityFrom returns the authenticated client of a request; ok is false on
// routes without the middleware.
func IdentityFrom(c echo.Context) (Identity, bool) {
	id, ok := c.Get("dataflow.identity").(Identity)

	return id, ok
}

// WithIdentity stores an identity in a context, for code below the handler.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}
