package httpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
)

// KeyAuthConfig configures KeyAuth.
type KeyAuthConfig struct {
	// Header is the request header that carries the key, such as X-Admin-Key.
	Header string
	// Key is the expected header value. Empty turns the routes off.
	Key string
	// Setting is the configuration key that holds Key, such as
	// Admin:ApiKey. The error messages name it.
	Setting string
	// MaxFailures is the number of wrong keys one remote address may send
	// per minute before its requests get 429 without being checked [10].
	MaxFailures int
	Log         zerolog.Logger
	// Now is the clock of the failure window [time.Now].
	Now func() time.Time
}

// keyFailureWindow is the window in which KeyAuth counts wrong keys.
const keyFailureWindow = time.Minute

// maxTrackedAddresses bounds the failure counters kept in memory. Past it,
// expired counters are dropped, and if none have expired every counter is,
// so a flood from many addresses cannot grow the map without limit.
const maxTrackedAddresses = 10000

// KeyAuth returns middleware that admits a request only when cfg.Header
// carries cfg.Key. The comparison takes the same time wherever the values
// differ, and compares SHA-256 digests so that it does not depend on the
// length of the key either. With an empty cfg.Key every request gets 403
// with a message that names cfg.Setting. A wrong or missing key gets 401,
// and an address with MaxFailures wrong keys in the last minute gets 429
// with Retry-After until the minute ends. Counters are per process.
func KeyAuth(cfg KeyAuthConfig) echo.MiddlewareFunc {
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	envName := strings.ReplaceAll(cfg.Setting, ":", "__")
	disabled := NewError(http.StatusForbidden, "endpoint_disabled",
		fmt.Sprintf("This endpoint is turned off because %s is empty. Set %s (environment variable %s) on the serve process to a long random value, then send it in the %s header.",
			cfg.Setting, cfg.Setting, envName, cfg.Header),
		fmt.Sprintf("Este endpoint está desligado porque %s está vazio. Defina %s (variável de ambiente %s) no processo serve com um valor aleatório longo e envie-o no cabeçalho %s.",
			cfg.Setting, cfg.Setting, envName, cfg.Header))
	wrongKey := NewError(http.StatusUnauthorized, "invalid_key",
		fmt.Sprintf("Missing or invalid key. Send the value of %s in the %s header.", cfg.Setting, cfg.Header),
		fmt.Sprintf("Chave ausente ou inválida. Envie o valor de %s no cabeçalho %s.", cfg.Setting, cfg.Header))
	throttled := NewError(http.StatusTooManyRequests, "too_many_failed_attempts",
		fmt.Sprintf("Too many requests with a wrong %s header. Wait for the time in the Retry-After header, then send the value of %s.", cfg.Header, cfg.Setting),
		fmt.Sprintf("Muitas requisições com o cabeçalho %s errado. Aguarde o tempo do cabeçalho Retry-After e envie o valor de %s.", cfg.Header, cfg.Setting))

	want := sha256.Sum256([]byte(cfg.Key))
	failures := &failureCounter{counts: map[string]failureWindow{}}

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Key == "" {
				return disabled
			}

			address := c.RealIP()
			now := cfg.Now()
			if wait := failures.blockedFor(address, cfg.MaxFailures, now); wait > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))

				return throttled
			}

			got := sha256.Sum256([]byte(c.Request().Header.Get(cfg.Header)))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				n := failures.add(address, now)
				cfg.Log.Info().Str("remote_address", address).Str("header", cfg.Header).Int("failures", n).
					Str("path", c.Path()).Msg("http: request with a wrong key rejected")

				return wrongKey
			}

			return next(c)
		}
	}
}

// failureWindow counts the wrong keys of one address since start.
type failureWindow struct {
	start time.Time
	count int
}

// failureCounter counts wrong keys per remote address in fixed windows of
// keyFailureWindow.
type failureCounter struct {
	mu     sync.Mutex
	counts map[string]failureWindow
}

// blockedFor returns how long address must wait, zero when it may try.
func (f *failureCounter) blockedFor(address string, limit int, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()

	w, ok := f.counts[address]
	if !ok || now.Sub(w.start) >= keyFailureWindow || w.count < limit {
		return 0
	}

	return w.start.Add(keyFailureWindow).Sub(now)
}

// add counts one wrong key and returns the count of the current window.
func (f *failureCounter) add(address string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()

	w, ok := f.counts[address]
	if !ok || now.Sub(w.start) >= keyFailureWindow {
		if len(f.counts) >= maxTrackedAddresses {
			f.prune(now)
		}

		w = failureWindow{start: now}
	}

	w.count++
	f.counts[address] = w

	return w.count
}

func (f *failureCounter) prune(now time.Time) {
	for address, w := range f.counts {
		if now.Sub(w.start) >= keyFailureWindow {
			delete(f.counts, address)
		}
	}

	if len(f.counts) >= maxTrackedAddresses {
		clear(f.counts)
	}
}
