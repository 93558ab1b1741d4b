package clients

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// ErrNotFound is returned when no client has the identifier.
var ErrNotFound = errors.New("client not found")

// Store reads and writes Clients rows.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// NormalizeIdentifier trims and lower-cases a client identifier, as it is stored.
func NormalizeIdentifier(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// ByIdentifier loads a client by its identifier.
func (s *Store) ByIdentifier(ctx context.Context, identifier string) (Client, error) {
	var c Client
	err := s.db.WithContext(ctx).Where(s.db.Render("{ClientIdentifier} = ?"), NormalizeIdentifier(identifier)).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Client{}, ErrNotFound
	}

	if err != nil {
		return Client{}, fmt.Errorf("loading client: %w", err)
	}

	return c, nil
}

// Create inserts a new active client with a hashed secret.
func (s *Store) Create(ctx context.Context, name, identifier, secret string) (Client, error) {
	hash, salt, err := HashSecret(secret)
	if err != nil {
		return Client{}, err
	}

	c := Client{
		ID:               database.NewUUID(),
		Name:             name,
		ClientIdentifier: NormalizeIdentifier(identifier),
		SecretHash:       hash,
		SecretSalt:       salt,
		Status:           StatusActive,
		CreatedAt:        s.now().UTC(),
	}
	if err := s.db.WithContext(ctx).Create(&c).Error; err != nil {
		return Client{}, fmt.Errorf("creating client %s: %w", c.ClientIdentifier, err)
	}

	return c, nil
}

// Rotate replaces a client's secret.
func (s *Store) Rotate(ctx context.Context, id database.UUID, secret string) error {
	hash, salt, err := HashSecret(secret)
	if err != nil {
		return err
	}

	err = s.db.WithContext(ctx).Model(&Client{}).Where(s.db.Render("{Id} = ?"), id).
		Updates(map[string]any{"SecretHash": hash, "SecretSalt": salt}).Error
	if err != nil {
		return fmt.Errorf("rotating client secret: %w", err)
	}

	return nil
}

// Rename changes a client's display name.
func (s *Store) Rename(ctx context.Context, id database.UUID, name string) error {
	err := s.db.WithContext(ctx).Model(&Client{}).Where(s.db.Render("{Id} = ?"), id).Update("Name", name).Error
	if err != nil {
		return fmt.Errorf("renaming client: %w", err)
	}

	return nil
}

// SetStatus sets Active or Suspended.
func (s *Store) SetStatus(ctx context.Context, identifier, status string) error {
	res := s.db.WithContext(ctx).Model(&Client{}).Where(s.db.Render("{ClientIdentifier} = ?"), NormalizeIdentifier(identifier)).
		Update("Status", status)
	if res.Error != nil {
		return fmt.Errorf("setting client status: %w", res.Error)
	}

	if res.RowsAffected == 0 {
		return ErrNotFound
	}

	return nil
}

// TouchLastSeen records a successful authentication, at most once a minute
// per client so status polling does not write on every call.
func (s *Store) TouchLastSeen(ctx context.Context, id database.UUID) error {
	now := s.now().UTC()

	return s.db.WithContext(ctx).Exec(s.db.Render(
		"UPDATE {Clients} SET {LastSeenAt} = ? WHERE {Id} = ? AND ({LastSeenAt} IS NULL OR {LastSeenAt} < ?)"),
		now, id, now.Add(-time.Minute)).Error
}
