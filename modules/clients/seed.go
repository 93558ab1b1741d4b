package clients

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/config"
)

// Seeder upserts ClientSeed:Clients: it creates missing clients, rotates a
// secret only when it changed, renames, and never re-activates a client an
// operator suspended. It never logs a secret.
type Seeder struct {
	store   *Store
	cache   *VerifyCache
	clients []config.SeedClient
	log     zerolog.Logger
}

// SeedResult counts what a seed run changed.
type SeedResult struct {
	Created, Rotated, Renamed, Unchanged int
}

// Name returns "clients".
func (*Seeder) Name() string { return "clients" }

// Seed runs the upsert and logs a summary.
func (s *Seeder) Seed(ctx context.Context) error {
	res, err := s.Run(ctx)
	if err != nil {
		return err
	}

	if len(s.clients) > 0 {
		s.log.Info().Int("created", res.Created).Int("rotated", res.Rotated).Int("renamed", res.Renamed).
			Int("unchanged", res.Unchanged).Msg("seed: clients from configuration")
	}

	return nil
}

// Run upserts every configured client.
func (s *Seeder) Run(ctx context.Context) (SeedResult, error) {
	var res SeedResult
	for i, entry := range s.clients {
		identifier := NormalizeIdentifier(entry.ClientIdentifier)
		existing, err := s.store.ByIdentifier(ctx, identifier)
		switch {
		case errors.Is(err, ErrNotFound):
			created, err := s.store.Create(ctx, entry.Name, identifier, entry.Secret)
			if err != nil {
				return res, fmt.Errorf("seeding ClientSeed:Clients:%d: %w", i, err)
			}

			s.log.Info().Str("client_id", created.ID.String()).Str("client_identifier", identifier).Msg("seed: created client")
			res.Created++

			continue
		case err != nil:
			return res, fmt.Errorf("seeding ClientSeed:Clients:%d: %w", i, err)
		}

		changed := false
		if !VerifySecret(entry.Secret, existing.SecretHash, existing.SecretSalt) {
			if err := s.store.Rotate(ctx, existing.ID, entry.Secret); err != nil {
				return res, fmt.Errorf("seeding ClientSeed:Clients:%d: %w", i, err)
			}

			s.cache.Forget(identifier)
			s.log.Info().Str("client_id", existing.ID.String()).Str("client_identifier", identifier).Msg("seed: rotated client secret")
			res.Rotated++
			changed = true
		}

		if entry.Name != "" && entry.Name != existing.Name {
			if err := s.store.Rename(ctx, existing.ID, entry.Name); err != nil {
				return res, fmt.Errorf("seeding ClientSeed:Clients:%d: %w", i, err)
			}

			res.Renamed++
			changed = true
		}

		if !changed {
			res.Unchanged++
		}
	}

	return res, nil
}
