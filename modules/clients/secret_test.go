package clients

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/clock"

	"github.com/stretchr/testify/require"
)

// pbkdf2Vector is one row of testdata/conformance/pbkdf2/vectors.tsv.
type pbkdf2Vector struct {
	id         string
	password   []byte
	salt       []byte
	iterations int
	keyLen     int
	expected   []byte
}

func loadPBKDF2Vectors(t *testing.T) []pbkdf2Vector {
	t.Helper()

	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "conformance", "pbkdf2", "vectors.tsv"))
	require.NoError(t, err)

	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	require.Equal(t,
		"source\tid\tpassword\tpassword_hex\tsalt_hex\titerations\tdklen\texpected_hex\tresult\tnotes",
		string(lines[0]), "vectors.tsv header changed")

	var vectors []pbkdf2Vector
	for i, line := range lines[1:] {
		fields := strings.Split(string(line), "\t")
		require.Len(t, fields, 10, "vectors.tsv line %d", i+2)
		require.Equal(t, "valid", fields[8], "vectors.tsv line %d", i+2)

		password, err := hex.DecodeString(fields[3])
		require.NoError(t, err, "vectors.tsv line %d: password_hex", i+2)
		salt, err := hex.DecodeString(fields[4])
		require.NoError(t, err, "vectors.tsv line %d: salt_hex", i+2)
		iterations, err := strconv.Atoi(fields[5])
		require.NoError(t, err, "vectors.tsv line %d: iterations", i+2)
		keyLen, err := strconv.Atoi(fields[6])
		require.NoError(t, err, "vectors.tsv line %d: dklen", i+2)
		expected, err := hex.DecodeString(fields[7])
		require.NoError(t, err, "vectors.tsv line %d: expected_hex", i+2)
		require.Len(t, expected, keyLen, "vectors.tsv line %d", i+2)

		vectors = append(vectors, pbkdf2Vector{
			id:         fields[1],
			password:   password,
			salt:       salt,
			iterations: iterations,
			keyLen:     keyLen,
			expected:   expected,
		})
	}
	return vectors
}

// dotNetSalt and the hashes below are a fixture in the .NET service's format:
// Rfc2898DeriveBytes.Pbkdf2(UTF-8 secret, salt, 100000, SHA256, 32). The
// hashes were computed independently with Python's
// hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, 100000, 32).
var dotNetSalt = mustDecodeHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")

var dotNetFixtures = []struct {
	secret string
	hash   []byte
}{
	{"cs_live_7fQ2-DataFlow-Example", mustDecodeHex("b5ab95f3af14161a99af75f4cd5aafd8b715a813a9baf404349e1140366ec95a")},
	{"Ünïcødé-секрет-密钥", mustDecodeHex("a4db7225b432df76ef67be7e267517c34d288920699d8d83b3dee7eb560bbd6d")},
}

func mustDecodeHex(text string) []byte {
	decoded, err := hex.DecodeString(text)
	if err != nil {
		panic(err)
	}
	return decoded
}

// changeOneByte returns a copy of password that differs in exactly one byte,
// or a one-byte password when password is empty. That byte is not NUL,
// because HMAC pads short keys with zero bytes, so "" and "\x00" derive the
// same key.
func changeOneByte(password []byte) []byte {
	if len(password) == 0 {
		return []byte{'x'}
	}
	changed := bytes.Clone(password)
	changed[len(changed)-1] ^= 0x01
	return changed
}

func TestDeriveKey(t *testing.T) {
	t.Run("conformance vectors", func(t *testing.T) {
		vectors := loadPBKDF2Vectors(t)
		require.Len(t, vectors, 65)

		for _, vector := range vectors {
			key, err := DeriveKey(vector.password, vector.salt, vector.iterations, vector.keyLen)
			require.NoError(t, err, vector.id)
			require.Equal(t, hex.EncodeToString(vector.expected), hex.EncodeToString(key), vector.id)
		}
	})

	t.Run("verifier accepts vector passwords", func(t *testing.T) {
		for _, vector := range loadPBKDF2Vectors(t) {
			require.True(t, verifyDerivedKey(vector.password, vector.expected, vector.salt, vector.iterations), vector.id)
		}
	})

	t.Run("verifier rejects one-byte change", func(t *testing.T) {
		for _, vector := range loadPBKDF2Vectors(t) {
			changed := changeOneByte(vector.password)
			require.False(t, verifyDerivedKey(changed, vector.expected, vector.salt, vector.iterations), vector.id)
		}
	})

	t.Run("invalid parameters rejected", func(t *testing.T) {
		_, err := DeriveKey([]byte("pw"), []byte("salt"), 0, 32)
		require.ErrorContains(t, err, "iteration count 0")

		_, err = DeriveKey([]byte("pw"), []byte("salt"), 1, 0)
		require.ErrorContains(t, err, "key length 0")
	})
}

func TestHashSecret(t *testing.T) {
	t.Run("lengths match the .NET format", func(t *testing.T) {
		hash, salt, err := HashSecret("new-client-secret")
		require.NoError(t, err)
		require.Len(t, hash, SecretKeySize)
		require.Len(t, salt, SecretSaltSize)
		require.Equal(t, 32, SecretKeySize)
		require.Equal(t, 32, SecretSaltSize)
		require.Equal(t, 100_000, SecretIterations)
	})

	t.Run("hash verifies", func(t *testing.T) {
		hash, salt, err := HashSecret("new-client-secret")
		require.NoError(t, err)
		require.True(t, VerifySecret("new-client-secret", hash, salt))
		require.False(t, VerifySecret("new-client-secreT", hash, salt))
	})

	t.Run("hash equals DeriveKey output", func(t *testing.T) {
		hash, salt, err := HashSecret("new-client-secret")
		require.NoError(t, err)

		derived, err := DeriveKey([]byte("new-client-secret"), salt, SecretIterations, SecretKeySize)
		require.NoError(t, err)
		require.Equal(t, derived, hash)
	})

	t.Run("salt differs each call", func(t *testing.T) {
		firstHash, firstSalt, err := HashSecret("same-secret")
		require.NoError(t, err)
		secondHash, secondSalt, err := HashSecret("same-secret")
		require.NoError(t, err)

		require.NotEqual(t, firstSalt, secondSalt)
		require.NotEqual(t, firstHash, secondHash)
		require.NotEqual(t, make([]byte, SecretSaltSize), firstSalt)
	})

	t.Run("empty secret rejected", func(t *testing.T) {
		_, _, err := HashSecret("")
		require.ErrorContains(t, err, "secret is empty")
	})
}

func TestVerifySecret(t *testing.T) {
	t.Run(".NET-made hashes verify", func(t *testing.T) {
		for _, fixture := range dotNetFixtures {
			require.True(t, VerifySecret(fixture.secret, fixture.hash, dotNetSalt), fixture.secret)
		}
	})

	t.Run(".NET fixture matches DeriveKey", func(t *testing.T) {
		for _, fixture := range dotNetFixtures {
			derived, err := DeriveKey([]byte(fixture.secret), dotNetSalt, SecretIterations, SecretKeySize)
			require.NoError(t, err, fixture.secret)
			require.Equal(t, fixture.hash, derived, fixture.secret)
		}
	})

	t.Run("wrong secret rejected", func(t *testing.T) {
		fixture := dotNetFixtures[0]
		changed := string(changeOneByte([]byte(fixture.secret)))

		require.False(t, VerifySecret(changed, fixture.hash, dotNetSalt))
		require.False(t, VerifySecret("", fixture.hash, dotNetSalt))
		require.False(t, VerifySecret(fixture.secret+" ", fixture.hash, dotNetSalt))
	})

	t.Run("changed hash or salt rejected", func(t *testing.T) {
		fixture := dotNetFixtures[0]

		require.False(t, VerifySecret(fixture.secret, changeOneByte(fixture.hash), dotNetSalt))
		require.False(t, VerifySecret(fixture.secret, fixture.hash, changeOneByte(dotNetSalt)))
		require.False(t, VerifySecret(fixture.secret, fixture.hash[:minStoredHashSize-1], dotNetSalt))
	})

	t.Run("hash prefix of 16 bytes verifies", func(t *testing.T) {
		fixture := dotNetFixtures[0]
		require.True(t, VerifySecret(fixture.secret, fixture.hash[:minStoredHashSize], dotNetSalt))
	})

	t.Run("empty hash or salt rejected", func(t *testing.T) {
		fixture := dotNetFixtures[0]

		require.False(t, VerifySecret(fixture.secret, nil, dotNetSalt))
		require.False(t, VerifySecret(fixture.secret, []byte{}, dotNetSalt))
		require.False(t, VerifySecret(fixture.secret, fixture.hash, nil))
	})

	t.Run("oversized hash rejected", func(t *testing.T) {
		fixture := dotNetFixtures[0]
		long, err := DeriveKey([]byte(fixture.secret), dotNetSalt, SecretIterations, maxStoredHashSize+1)
		require.NoError(t, err)
		require.False(t, VerifySecret(fixture.secret, long, dotNetSalt))
	})
}

func newTestClock() *clock.Manual {
	return clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
}

func TestVerifyCache(t *testing.T) {
	storedHash := dotNetFixtures[0].hash
	secret := dotNetFixtures[0].secret

	t.Run("remembered secret hits", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		require.False(t, cache.Verified("client-a", secret, storedHash))

		cache.Remember("client-a", secret, storedHash)
		require.True(t, cache.Verified("client-a", secret, storedHash))
	})

	t.Run("other secret misses", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		cache.Remember("client-a", secret, storedHash)

		require.False(t, cache.Verified("client-a", secret+"x", storedHash))
		require.False(t, cache.Verified("client-a", "", storedHash))
		require.True(t, cache.Verified("client-a", secret, storedHash))
	})

	t.Run("other client misses", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		cache.Remember("client-a", secret, storedHash)

		require.False(t, cache.Verified("client-b", secret, storedHash))
	})

	t.Run("entry expires after TTL", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Minute, 10, clock.Now)
		cache.Remember("client-a", secret, storedHash)

		clock.Advance(59 * time.Second)
		require.True(t, cache.Verified("client-a", secret, storedHash))

		clock.Advance(time.Second)
		require.False(t, cache.Verified("client-a", secret, storedHash))
		require.Equal(t, 0, cache.Len())
	})

	t.Run("hit does not extend TTL", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Minute, 10, clock.Now)
		cache.Remember("client-a", secret, storedHash)

		for range 5 {
			clock.Advance(10 * time.Second)
			require.True(t, cache.Verified("client-a", secret, storedHash))
		}
		clock.Advance(10 * time.Second)
		require.False(t, cache.Verified("client-a", secret, storedHash))
	})

	t.Run("rotated hash misses", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		cache.Remember("client-a", secret, storedHash)

		rotatedHash, _, err := HashSecret(secret)
		require.NoError(t, err)
		require.False(t, cache.Verified("client-a", secret, rotatedHash))
		require.False(t, cache.Verified("client-a", secret, storedHash), "a rotation miss drops the entry")
	})

	t.Run("size stays bounded", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Hour, 3, clock.Now)

		for i := range 10 {
			clock.Advance(time.Second)
			cache.Remember("client-"+strconv.Itoa(i), secret, storedHash)
			require.LessOrEqual(t, cache.Len(), 3)
		}

		require.Equal(t, 3, cache.Len())
		require.False(t, cache.Verified("client-6", secret, storedHash))
		for _, client := range []string{"client-7", "client-8", "client-9"} {
			require.True(t, cache.Verified(client, secret, storedHash), client)
		}
	})

	t.Run("expired entries evicted first", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Minute, 3, clock.Now)

		cache.Remember("old-1", secret, storedHash)
		cache.Remember("old-2", secret, storedHash)
		clock.Advance(2 * time.Minute)
		cache.Remember("fresh", secret, storedHash)

		require.Equal(t, 1, cache.Len())
		require.True(t, cache.Verified("fresh", secret, storedHash))
	})

	t.Run("re-remember refreshes one entry", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Minute, 2, clock.Now)

		cache.Remember("client-a", secret, storedHash)
		cache.Remember("client-b", secret, storedHash)
		clock.Advance(30 * time.Second)
		cache.Remember("client-a", secret, storedHash)
		cache.Remember("client-c", secret, storedHash)

		require.Equal(t, 2, cache.Len())
		require.True(t, cache.Verified("client-a", secret, storedHash), "client-a was remembered last but one")
		require.False(t, cache.Verified("client-b", secret, storedHash), "client-b was the oldest")
		require.True(t, cache.Verified("client-c", secret, storedHash))
	})

	t.Run("Forget drops the client", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		cache.Remember("client-a", secret, storedHash)
		cache.Remember("client-b", secret, storedHash)

		cache.Forget("client-a")
		cache.Forget("unknown-client")

		require.False(t, cache.Verified("client-a", secret, storedHash))
		require.True(t, cache.Verified("client-b", secret, storedHash))
		require.Equal(t, 1, cache.Len())
	})

	t.Run("entry holds no secret", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		cache.Remember("client-a", secret, storedHash)

		entry := cache.entries["client-a"].Value.(*verifiedEntry)
		require.NotEqual(t, sha256.Sum256([]byte(secret)), entry.secretMAC, "the key is an HMAC, not a plain hash")

		other := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		require.NotEqual(t, cache.secretMAC(secret), other.secretMAC(secret), "each cache has its own HMAC key")
	})

	t.Run("Verify caches only success", func(t *testing.T) {
		cache := NewVerifyCache(time.Minute, 10, newTestClock().Now)
		fixture := dotNetFixtures[0]

		require.False(t, cache.Verify("client-a", fixture.secret+"x", fixture.hash, dotNetSalt))
		require.Equal(t, 0, cache.Len())

		require.True(t, cache.Verify("client-a", fixture.secret, fixture.hash, dotNetSalt))
		require.Equal(t, 1, cache.Len())
		require.True(t, cache.Verified("client-a", fixture.secret, fixture.hash))

		// A hit must not accept a wrong secret either.
		require.False(t, cache.Verify("client-a", fixture.secret+"x", fixture.hash, dotNetSalt))
	})

	t.Run("disabled cache never hits", func(t *testing.T) {
		caches := map[string]*VerifyCache{
			"zero TTL":         NewVerifyCache(0, 10, nil),
			"zero max entries": NewVerifyCache(time.Minute, 0, nil),
			"nil cache":        nil,
		}
		for name, cache := range caches {
			cache.Remember("client-a", secret, storedHash)
			require.False(t, cache.Verified("client-a", secret, storedHash), name)
			require.Equal(t, 0, cache.Len(), name)
			cache.Forget("client-a")
		}
	})

	t.Run("nil clock uses time.Now", func(t *testing.T) {
		cache := NewVerifyCache(time.Hour, 10, nil)
		cache.Remember("client-a", secret, storedHash)
		require.True(t, cache.Verified("client-a", secret, storedHash))
	})

	t.Run("concurrent use is safe", func(t *testing.T) {
		clock := newTestClock()
		cache := NewVerifyCache(time.Minute, 8, clock.Now)

		const workers = 16
		const rounds = 200
		var wg sync.WaitGroup
		start := make(chan struct{})

		for worker := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for round := range rounds {
					client := "client-" + strconv.Itoa((worker+round)%12)
					switch round % 4 {
					case 0:
						cache.Remember(client, secret, storedHash)
					case 1:
						cache.Verified(client, secret, storedHash)
					case 2:
						cache.Forget(client)
					default:
						clock.Advance(time.Millisecond)
						cache.Len()
					}
				}
			}()
		}

		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		close(start)

		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("concurrent cache use did not finish within 30s")
		}
		require.LessOrEqual(t, cache.Len(), 8)
	})
}
