package clients

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/httpserver"
)

// ErrUnauthorized is the one response to every failed authentication, so a
// caller cannot tell an unknown client from a wrong secret or a suspended
// client.
var ErrUnauthorized = httpserver.NewError(http.StatusUnauthorized, "unauthorized",
	"Missing or invalid client credentials. Send X-Client-Id and X-Client-Secret.",
	"Credenciais do cliente ausentes ou inválidas. Envie X-Client-Id e X-Client-Secret.")

// Authenticator checks X-Client-Id and X-Client-Secret.
type Authenticator struct {
	store *Store
	cache *VerifyCache
	log   zerolog.Logger
	now   func() time.Time
	// decoy is a hash to verify against when the client does not exist, so
	// that an unknown client costs as much time as a wrong secret.
	decoyHash, decoySalt []byte
}

// NewAuthenticator returns an authenticator.
func NewAuthenticator(store *Store, cache *VerifyCache, log zerolog.Logger, now func() time.Time) *Authenticator {
	hash, salt, _ := HashSecret("decoy secret that no client has")

	return &Authenticator{store: store, cache: cache, log: log, now: now, decoyHash: hash, decoySalt: salt}
}

// Middleware rejects requests without valid active-client credentials and
// stores the Identity for handlers.
func (a *Authenticator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := a.Authenticate(c.Request().Context(), c.Request().Header.Get("X-Client-Id"), c.Request().Header.Get("X-Client-Secret"))
		if err != nil {
			return err
		}

		c.Set("dataflow.identity", id)
		c.SetRequest(c.Request().WithContext(WithIdentity(c.Request().Context(), id)))

		return next(c)
	}
}

// Authenticate returns the identity for a client id and secret, or
// ErrUnauthorized, or an internal error when the database fails.
func (a *Authenticator) Authenticate(ctx context.Context, clientID, secret string) (Identity, error) {
	if clientID == "" || secret == "" {
		return Identity{}, ErrUnauthorized
	}

	client, err := a.store.ByIdentifier(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		VerifySecret(secret, a.decoyHash, a.decoySalt)

		return Identity{}, ErrUnauthorized
	}

	if err != nil {
		return Identity{}, httpserver.ErrUnavailable.WithCause(err)
	}

	if !a.cache.Verified(client.ClientIdentifier, secret, client.SecretHash) {
		if !VerifySecret(secret, client.SecretHash, client.SecretSalt) {
			a.log.Info().Str("client_id", client.ID.String()).Str("client_identifier", client.ClientIdentifier).
				Msg("auth: wrong client secret")

			return Identity{}, ErrUnauthorized
		}

		a.cache.Remember(client.ClientIdentifier, secret, client.SecretHash)
	}

	if client.Status != StatusActive {
		a.log.Info().Str("client_id", client.ID.String()).Str("client_identifier", client.ClientIdentifier).
			Str("status", client.Status).Msg("auth: client is not active")

		return Identity{}, ErrUnauthorized
	}

	if err := a.store.TouchLastSeen(ctx, client.ID); err != nil {
		a.log.Warn().Err(err).Str("client_id", client.ID.String()).Msg("auth: recording last seen failed")
	}

	return Identity{ClientID: client.ID.String(), ClientIdentifier: client.ClientIdentifier, Name: client.Name}, nil
}
