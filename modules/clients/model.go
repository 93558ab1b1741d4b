package clients

import (
	"time"

	"github.com/dataflow/dataflow/platform/database"
)

// Client statuses, stored as strings as the .NET services did.
const (
	StatusActive    = "Active"
	StatusSuspended = "Suspended"
)

// Client is a system allowed to upload files (table Clients).
type Client struct {
	ID database.UUID `gorm:"column:Id;primaryKey"`
	// Name is a display name, at most 120 characters.
	Name string `gorm:"column:Name"`
	// ClientIdentifier is the X-Client-Id value of the client, stored lower-case.
	ClientIdentifier string     `gorm:"column:ClientIdentifier"`
	SecretHash       []byte     `gorm:"column:SecretHash"`
	SecretSalt       []byte     `gorm:"column:SecretSalt"`
	Status           string     `gorm:"column:Status"`
	CreatedAt        time.Time  `gorm:"column:CreatedAt"`
	LastSeenAt       *time.Time `gorm:"column:LastSeenAt"`
}

// TableName keeps the .NET table name.
func (Client) TableName() string { return "Clients" }

// Policy holds per-client limits (table ClientPolicies). A NULL column means
// the global default applies.
type Policy struct {
	ID                        database.UUID  `gorm:"column:Id;primaryKey"`
	ClientID                  *database.UUID `gorm:"column:ClientId"`
	MaxFileSizeMb             *int           `gorm:"column:MaxFileSizeMb"`
	MaxBatchPerDay            *int           `gorm:"column:MaxBatchPerDay"`
	AllowedStartHour          *int           `gorm:"column:AllowedStartHour"`
	AllowedEndHour            *int           `gorm:"column:AllowedEndHour"`
	RequireSchedulingForLarge *bool          `gorm:"column:RequireSchedulingForLarge"`
	LargeThresholdMb          *int           `gorm:"column:LargeThresholdMb"`
	RateLimitPerMinute        *int           `gorm:"column:RateLimitPerMinute"`
	RedactPayloadOnSuccess    *bool          `gorm:"column:RedactPayloadOnSuccess"`
	RedactPayloadOnFailure    *bool          `gorm:"column:RedactPayloadOnFailure"`
	RetentionDays             *int           `gorm:"column:RetentionDays"`
	CreatedAt                 time.Time      `gorm:"column:CreatedAt"`
}

// TableName keeps the .NET table name.
func (Policy) TableName() string { return "ClientPolicies" }
