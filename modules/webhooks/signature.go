package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// secretPrefix marks secrets in the Standard Webhooks format: the rest is
// the base64 of the signing key.
const secretPrefix = "whsec_"

// GenerateSecret returns a new subscription secret: whsec_ and the base64
// of 32 random bytes.
func GenerateSecret() string {
	key := make([]byte, 32)
	// Since Go 1.24, crypto/rand.Read is documented to never return an error.
	_, _ = rand.Read(key)

	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Signer signs webhook requests with one subscription's secret.
type Signer struct {
	key []byte
}

// NewSigner returns a signer for secret. A whsec_ secret signs with its
// decoded key, as Standard Webhooks requires. Any other secret, such as one
// set for the .NET service, signs with its UTF-8 bytes.
func NewSigner(secret string) (*Signer, error) {
	if secret == "" {
		return nil, errors.New("the webhook secret is empty")
	}

	if !strings.HasPrefix(secret, secretPrefix) {
		return &Signer{key: []byte(secret)}, nil
	}

	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("the webhook secret after %s is not valid base64: %w", secretPrefix, err)
	}

	if len(key) == 0 {
		return nil, fmt.Errorf("the webhook secret has no key after %s", secretPrefix)
	}

	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 HMAC-SHA256 of id.timestamp.body. The timestamp is Unix seconds
// as decimal text.
func (s *Signer) Sign(msgID, timestamp string, body []byte) (string, error) {
	if err := checkTimestamp(timestamp); err != nil {
		return "", err
	}

	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)

	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignLegacy returns the X-DataFlow-Signature value: the hex HMAC-SHA256 of
// timestamp.body, which clients of the .NET service check.
func (s *Signer) SignLegacy(timestamp string, body []byte) (string, error) {
	if err := checkTimestamp(timestamp); err != nil {
		return "", err
	}

	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)

	return hex.EncodeToString(mac.Sum(nil)), nil
}

// Verify reports whether header, a webhook-signature value of one or more
// space-separated signatures, holds a valid v1 signature of the message.
// It does not check the timestamp's age; receivers should.
func (s *Signer) Verify(msgID, timestamp string, body []byte, header string) bool {
	want, err := s.Sign(msgID, timestamp, body)
	if err != nil {
		return false
	}

	ok := false
	for _, sig := range strings.Fields(header) {
		if !strings.HasPrefix(sig, "v1,") || len(sig) <= len("v1,") {
			continue
		}

		if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1 {
			ok = true
		}
	}

	return ok
}

// checkTimestamp accepts Unix seconds written as a non-negative integer.
func checkTimestamp(ts string) error {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("webhook timestamp %q is not a non-negative whole number of Unix seconds", ts)
	}

	return nil
}
