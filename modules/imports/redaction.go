package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
)

// RedactionConfig decides which stored payloads are replaced by a mask
// once their chunk is committed: SensitiveData in the settings, which a
// client's policy may override.
type RedactionConfig struct {
	OnSuccess   bool
	OnFailure   bool
	IncludeHash bool
}

// forClient applies the client's policy overrides.
func (c RedactionConfig) forClient(p *clients.Policy) RedactionConfig {
	if p == nil {
		return c
	}

	if p.RedactPayloadOnSuccess != nil {
		c.OnSuccess = *p.RedactPayloadOnSuccess
	}

	if p.RedactPayloadOnFailure != nil {
		c.OnFailure = *p.RedactPayloadOnFailure
	}

	return c
}

// mask returns the stored form of a redacted payload: {"masked":true}
// with the SHA-256 of the payload when the hash is kept, so a client can
// still match a record it holds against the stored one.
func (c RedactionConfig) mask(payload []byte) string {
	if !c.IncludeHash {
		return `{"masked":true}`
	}

	sum := sha256.Sum256(payload)

	return `{"masked":true,"sha256":"` + hex.EncodeToString(sum[:]) + `"}`
}

// redacts reports whether a record with this outcome loses its payload.
func (c RedactionConfig) redacts(status string) bool {
	return status == ItemImported && c.OnSuccess || status == ItemError && c.OnFailure
}

// redactionFor returns the redaction of a client's batches: its own policy
// row over the global row over the settings.
func (w *Worker) redactionFor(ctx context.Context, clientID database.UUID) RedactionConfig {
	own, global, err := w.store.policies(ctx, clientID)
	if err != nil {
		// Redacting more than asked is the safe side of a failed lookup.
		w.log.Warn().Err(err).Str("client_id", clientID.String()).Msg("worker: reading the client's redaction policy failed; redacting every payload")

		return RedactionConfig{OnSuccess: true, OnFailure: true, IncludeHash: w.cfg.Redaction.IncludeHash}
	}

	return w.cfg.Redaction.forClient(global).forClient(own)
}
