package clients

import (
	"container/list"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Client secret hashing parameters. They match the .NET service, which
// stored Rfc2898DeriveBytes output with SHA-256 in the SecretHash and
// SecretSalt columns, so hashes written by either service verify in the other.
const (
	// SecretIterations is the PBKDF2 iteration count.
	SecretIterations = 100_000
	// SecretSaltSize is the length of a new random salt, in bytes.
	SecretSaltSize = 32
	// SecretKeySize is the length of a new derived key (SecretHash), in bytes.
	SecretKeySize = 32
)

// Stored hash lengths that VerifySecret accepts, in bytes. The minimum keeps
// a truncated SecretHash from matching many secrets: a 1-byte hash would
// accept one random secret in 256. The maximum bounds the work, because
// PBKDF2 runs all iterations once per 32-byte block, so a corrupt SecretHash
// of a few kilobytes would otherwise stall a request for minutes.
const (
	minStoredHashSize = 16
	maxStoredHashSize = 128
)

// DeriveKey computes PBKDF2-HMAC-SHA256 (RFC 8018) of password and salt.
// iterations and keyLen (bytes) must be at least 1.
func DeriveKey(password, salt []byte, iterations, keyLen int) ([]byte, error) {
	if iterations < 1 {
		return nil, fmt.Errorf("deriving a key: invalid iteration count %d: use 1 or more", iterations)
	}
	if keyLen < 1 {
		return nil, fmt.Errorf("deriving a key: invalid key length %d: use 1 or more bytes", keyLen)
	}

	key, err := pbkdf2.Key(sha256.New, string(password), salt, iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("deriving a key with PBKDF2-HMAC-SHA256: %w", err)
	}
	return key, nil
}

// HashSecret hashes a new client secret for storage. It returns the
// SecretKeySize-byte derived key and the random SecretSaltSize-byte salt,
// computed from the UTF-8 bytes of the secret with SecretIterations.
func HashSecret(secret string) (hash, salt []byte, err error) {
	if secret == "" {
		return nil, nil, errors.New("hashing a client secret: the secret is empty; generate a non-empty secret")
	}

	salt = make([]byte, SecretSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, fmt.Errorf("hashing a client secret: reading a random salt: %w", err)
	}

	hash, err = DeriveKey([]byte(secret), salt, SecretIterations, SecretKeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("hashing a client secret: %w", err)
	}
	return hash, salt, nil
}

// VerifySecret reports whether secret matches a stored hash and salt. It
// derives len(hash) bytes with SecretIterations and compares them in constant
// time. It returns false for an empty salt and for a hash shorter than 16 or
// longer than 128 bytes, which no supported writer produces. Because PBKDF2
// output is a prefix of longer output, a hash cut to 16 or more bytes still
// verifies.
func VerifySecret(secret string, hash, salt []byte) bool {
	return verifyDerivedKey([]byte(secret), hash, salt, SecretIterations)
}

// verifyDerivedKey is VerifySecret with a chosen iteration count, so that
// tests can run it against published vectors.
func verifyDerivedKey(password, hash, salt []byte, iterations int) bool {
	if len(salt) == 0 || len(hash) < minStoredHashSize || len(hash) > maxStoredHashSize {
		return false
	}

	derived, err := DeriveKey(password, salt, iterations, len(hash))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(derived, hash) == 1
}

// VerifyCache remembers successful verifications for a short time so status
// polling does not pay PBKDF2 each call.
//
// An entry is keyed by the client identifier and an HMAC-SHA256 of the
// secret. The HMAC key is random, created with the cache and never leaves the
// process, so the cache holds neither the secret nor a plain hash of it. The
// entry also binds a SHA-256 digest of the stored hash, so a rotated secret
// misses.
//
// Entries expire a fixed TTL after Remember, and Verified does not extend
// them. The cache holds at most maxEntries clients, evicting expired entries
// first and then the oldest. All methods are safe for concurrent use, and a
// nil *VerifyCache never hits and remembers nothing.
type VerifyCache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time
	macKey     [32]byte

	mu sync.Mutex
	// entries maps a client identifier to its element in order, which lists
	// entries from the oldest Remember to the newest.
	entries map[string]*list.Element
	order   *list.List
}

// verifiedEntry is one remembered verification.
type verifiedEntry struct {
	clientIdentifier string
	secretMAC        [sha256.Size]byte
	hashDigest       [sha256.Size]byte
	expires          time.Time
}

// NewVerifyCache creates a cache whose entries live for ttl. maxEntries
// bounds the number of clients held. A ttl or maxEntries of 0 or less gives a
// cache that never hits. now is the clock, and nil means time.Now.
func NewVerifyCache(ttl time.Duration, maxEntries int, now func() time.Time) *VerifyCache {
	if now == nil {
		now = time.Now
	}
	cache := &VerifyCache{
		ttl:        ttl,
		maxEntries: maxEntries,
		now:        now,
		entries:    map[string]*list.Element{},
		order:      list.New(),
	}
	// Since Go 1.24, crypto/rand.Read never returns an error: it crashes the
	// program instead when the operating system fails to supply randomness.
	_, _ = rand.Read(cache.macKey[:])
	return cache
}

func (c *VerifyCache) enabled() bool {
	return c != nil && c.ttl > 0 && c.maxEntries > 0
}

func (c *VerifyCache) secretMAC(secret string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.macKey[:])
	mac.Write([]byte(secret))
	var sum [sha256.Size]byte
	copy(sum[:], mac.Sum(nil))
	return sum
}

// Verified reports whether the client verified this secret against this
// stored hash within the TTL. A miss means the caller must run VerifySecret.
func (c *VerifyCache) Verified(clientIdentifier, secret string, storedHash []byte) bool {
	if !c.enabled() {
		return false
	}

	secretMAC := c.secretMAC(secret)
	hashDigest := sha256.Sum256(storedHash)

	c.mu.Lock()
	defer c.mu.Unlock()

	element, ok := c.entries[clientIdentifier]
	if !ok {
		return false
	}
	entry := element.Value.(*verifiedEntry)

	if !c.now().Before(entry.expires) {
		c.remove(element)
		return false
	}
	if subtle.ConstantTimeCompare(entry.hashDigest[:], hashDigest[:]) != 1 {
		// The stored hash changed, so the secret was rotated and the entry can
		// never hit again.
		c.remove(element)
		return false
	}
	return hmac.Equal(entry.secretMAC[:], secretMAC[:])
}

// Remember records that secret verified against storedHash for the client.
// Call it only after VerifySecret returned true. It replaces any earlier
// entry of the client.
func (c *VerifyCache) Remember(clientIdentifier, secret string, storedHash []byte) {
	if !c.enabled() {
		return
	}

	entry := &verifiedEntry{
		clientIdentifier: clientIdentifier,
		secretMAC:        c.secretMAC(secret),
		hashDigest:       sha256.Sum256(storedHash),
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	now := c.now()
	entry.expires = now.Add(c.ttl)

	if element, ok := c.entries[clientIdentifier]; ok {
		c.remove(element)
	}
	c.evictFor(now)
	c.entries[clientIdentifier] = c.order.PushBack(entry)
}

// Forget drops the client's entry, for example after its secret was rotated
// or the client was disabled.
func (c *VerifyCache) Forget(clientIdentifier string) {
	if c == nil {
		return
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	if element, ok := c.entries[clientIdentifier]; ok {
		c.remove(element)
	}
}

// Verify checks a secret through the cache: a hit skips PBKDF2, and a miss
// runs VerifySecret and remembers only a success.
func (c *VerifyCache) Verify(clientIdentifier, secret string, hash, salt []byte) bool {
	if c.Verified(clientIdentifier, secret, hash) {
		return true
	}
	if !VerifySecret(secret, hash, salt) {
		return false
	}
	c.Remember(clientIdentifier, secret, hash)
	return true
}

// Len returns the number of entries held, including expired ones that have
// not been evicted yet.
func (c *VerifyCache) Len() int {
	if c == nil {
		return 0
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// evictFor makes room for one entry: it drops expired entries, then the
// oldest entries while the cache is full. The caller holds c.mu.
func (c *VerifyCache) evictFor(now time.Time) {
	// Every entry lives for the same TTL, so the list is also ordered by
	// expiry and the expired entries are at the front. A clock that steps
	// back can break that order, and the size bound below still holds then.
	for front := c.order.Front(); front != nil; front = c.order.Front() {
		if now.Before(front.Value.(*verifiedEntry).expires) {
			break
		}
		c.remove(front)
	}

	for len(c.entries) >= c.maxEntries {
		c.remove(c.order.Front())
	}
}

// remove deletes one entry. The caller holds c.mu.
func (c *VerifyCache) remove(element *list.Element) {
	entry := c.order.Remove(element).(*verifiedEntry)
	delete(c.entries, entry.clientIdentifier)
}
