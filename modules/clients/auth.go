package clients

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
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
	// throttle counts failed attempts per client id and per remote
	// address; nil turns throttling off.
	throttle *Counter
}

// Failed authentications allowed per minute before further attempts get
// 429 without their secret being checked. The limit per client id stops
// secrets from being guessed. The limit per remote address stops one host
// from making the server spend its CPU on PBKDF2 for many ids.
const (
	maxFailuresPerClient  = 10
	maxFailuresPerAddress = 30
	failureWindow         = time.Minute
)

// ErrTooManyFailures rejects a caller that failed authentication too often.
var ErrTooManyFailures = httpserver.NewError(http.StatusTooManyRequests, "too_many_failed_attempts",
	"Too many failed authentication attempts. Wait for the time in the Retry-After header, then check X-Client-Id and X-Client-Secret.",
	"Muitas tentativas de autenticação falharam. Aguarde o tempo do cabeçalho Retry-After e confira X-Client-Id e X-Client-Secret.")

// NewAuthenticator returns an authenticator.
func NewAuthenticator(store *Store, cache *VerifyCache, log zerolog.Logger, now func() time.Time) *Authenticator {
	hash, salt, _ := HashSecret("decoy secret that no client has")

	return &Authenticator{store: store, cache: cache, log: log, now: now, decoyHash: hash, decoySalt: salt}
}

// Middleware rejects requests without valid active-client credentials and
// stores the Identity for handlers.
func (a *Authenticator) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		clientID := strings.ToLower(strings.TrimSpace(c.Request().Header.Get("X-Client-Id")))
		keys := a.failureKeys(clientID, c.RealIP())
		if wait, err := a.throttled(ctx, keys); err != nil || wait > 0 {
			if err != nil {
				return err
			}

			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))

			return ErrTooManyFailures
		}

		id, err := a.authenticate(ctx, c.Request().Header.Get("X-Client-Id"), c.Request().Header.Get("X-Client-Secret"), keys)
		var wait *throttledError
		if errors.As(err, &wait) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.retryAfter.Seconds()))))

			return ErrTooManyFailures
		}

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
	return a.authenticate(ctx, clientID, secret, nil)
}

// throttledError stops an attempt whose keys are over their limits.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return "too many failed authentication attempts" }

// authenticate is Authenticate with throttling: before each PBKDF2 check,
// the attempt is counted against keys as if it failed, and taken back when
// it succeeds. Counting before the check means parallel guesses cannot all
// slip in before the first failure is recorded.
func (a *Authenticator) authenticate(ctx context.Context, clientID, secret string, keys []failureLimit) (Identity, error) {
	if clientID == "" || secret == "" {
		return Identity{}, ErrUnauthorized
	}

	client, err := a.store.ByIdentifier(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		if err := a.reserve(ctx, keys); err != nil {
			return Identity{}, err
		}

		VerifySecret(secret, a.decoyHash, a.decoySalt)

		return Identity{}, ErrUnauthorized
	}

	if err != nil {
		return Identity{}, httpserver.ErrUnavailable.WithCause(err)
	}

	if !a.cache.Verified(client.ClientIdentifier, secret, client.SecretHash) {
		if err := a.reserve(ctx, keys); err != nil {
			return Identity{}, err
		}

		if !VerifySecret(secret, client.SecretHash, client.SecretSalt) {
			a.log.Info().Str("client_id", client.ID.String()).Str("client_identifier", client.ClientIdentifier).
				Msg("auth: wrong client secret")

			return Identity{}, ErrUnauthorized
		}

		a.release(ctx, keys)
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

// failureLimit is one key of failed attempts and its limit.
type failureLimit struct {
	key   string
	limit int
}

func (a *Authenticator) failureKeys(clientID, remote string) []failureLimit {
	keys := []failureLimit{{key: "authfail:addr:" + remote, limit: maxFailuresPerAddress}}
	if clientID != "" {
		// Long ids are cut so a caller cannot grow the key column.
		keys = append(keys, failureLimit{key: "authfail:client:" + truncateKey(clientID), limit: maxFailuresPerClient})
	}

	return keys
}

// throttled returns how long the caller must wait when one of its keys
// has reached its limit in the current window.
func (a *Authenticator) throttled(ctx context.Context, keys []failureLimit) (time.Duration, error) {
	if a.throttle == nil {
		return 0, nil
	}

	for _, k := range keys {
		count, end, err := a.throttle.Count(ctx, k.key, failureWindow)
		if err != nil {
			return 0, httpserver.ErrUnavailable.WithCause(err)
		}

		if count >= k.limit {
			return max(end.Sub(a.now()), time.Second), nil
		}
	}

	return 0, nil
}

// reserve counts an attempt against each key before its secret is
// checked, and refuses it when a key goes over its limit.
func (a *Authenticator) reserve(ctx context.Context, keys []failureLimit) error {
	if a.throttle == nil {
		return nil
	}

	for _, k := range keys {
		count, end, err := a.throttle.Hit(ctx, k.key, failureWindow)
		if err != nil {
			return httpserver.ErrUnavailable.WithCause(err)
		}

		if count > k.limit {
			return &throttledError{retryAfter: max(end.Sub(a.now()), time.Second)}
		}
	}

	return nil
}

// release takes back the counts of an attempt that succeeded. A database
// error leaves one extra count, which only ages out with its window.
func (a *Authenticator) release(ctx context.Context, keys []failureLimit) {
	if a.throttle == nil {
		return
	}

	for _, k := range keys {
		if err := a.throttle.Undo(ctx, k.key, failureWindow); err != nil {
			a.log.Warn().Err(err).Msg("auth: taking back an attempt's count failed")
		}
	}
}

func truncateKey(s string) string {
	if len(s) > 150 {
		return strings.ToValidUTF8(s[:150], "")
	}

	return s
}
