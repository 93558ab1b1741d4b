package clients

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/dataflow/dataflow/platform/database"
)

// Limits of the values operators enter. The identifier and name lengths are
// the column sizes of Clients, and the secret minimum matches the check on
// ClientSeed:Clients.
const (
	MaxIdentifierLength = 64
	MaxNameLength       = 120
	MinSecretLength     = 16
	// MaxSecretBytes bounds a new secret. Clients send it in the
	// X-Client-Secret header, where a longer value is more likely a wrong
	// file piped in than a secret.
	MaxSecretBytes = 1024
	// GeneratedSecretBytes is the number of random bytes in a generated
	// secret, before base64url encoding.
	GeneratedSecretBytes = 32
)

// ErrDuplicateIdentifier is returned when another client already has the
// identifier.
var ErrDuplicateIdentifier = errors.New("client identifier already exists")

// NewStore returns a store on db. now is the clock for CreatedAt and
// LastSeenAt, and nil means time.Now.
func NewStore(db *database.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}

	return &Store{db: db, now: now}
}

// ValidateIdentifier normalizes a client identifier as it is stored (trimmed
// and lower-case) and checks that it has 1 to 64 characters of a-z, 0-9, '.',
// '_' or '-'.
func ValidateIdentifier(raw string) (string, error) {
	identifier := NormalizeIdentifier(raw)
	fix := fmt.Sprintf("use 1 to %d letters, digits, '.', '_' or '-', such as acme-crm", MaxIdentifierLength)

	switch {
	case identifier == "":
		return "", fmt.Errorf("missing client identifier: %s", fix)
	case len(identifier) > MaxIdentifierLength:
		return "", fmt.Errorf("invalid client identifier %q: longer than %d characters; %s", raw, MaxIdentifierLength, fix)
	}

	for _, r := range identifier {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return "", fmt.Errorf("invalid client identifier %q: contains %q; %s", raw, r, fix)
		}
	}

	return identifier, nil
}

// ValidateName trims a display name and checks that it has 1 to 120
// characters and no control characters, which would break the list output.
func ValidateName(raw string) (string, error) {
	name := strings.TrimSpace(raw)

	switch {
	case name == "":
		return "", errors.New("missing client name: give a display name such as \"Acme CRM\"")
	case utf8.RuneCountInString(name) > MaxNameLength:
		return "", fmt.Errorf("invalid client name %q: longer than %d characters; use a shorter display name", raw, MaxNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("invalid client name %q: contains a control character such as a line break; use one line of text", raw)
	}

	return name, nil
}

// ValidateSecret checks that a new secret has at least 16 characters and at
// most 1024 bytes. The message never shows the secret nor its length.
func ValidateSecret(secret string) error {
	fix := fmt.Sprintf("use a random string of at least %d characters", MinSecretLength)

	switch {
	case secret == "":
		return fmt.Errorf("missing client secret: %s", fix)
	case utf8.RuneCountInString(secret) < MinSecretLength:
		return fmt.Errorf("invalid client secret: shorter than %d characters; %s", MinSecretLength, fix)
	case len(secret) > MaxSecretBytes:
		return fmt.Errorf("invalid client secret: longer than %d bytes; %s", MaxSecretBytes, fix)
	case strings.TrimSpace(secret) != secret:
		// HTTP clients and servers trim header values, so a secret that
		// starts or ends with a space could never authenticate.
		return fmt.Errorf("invalid client secret: it starts or ends with white space, which HTTP headers cannot carry; %s", fix)
	}

	return nil
}

// GenerateSecret returns GeneratedSecretBytes random bytes as unpadded
// base64url, 43 characters that need no quoting in headers or shells.
func GenerateSecret() string {
	secret := make([]byte, GeneratedSecretBytes)
	// Since Go 1.24, crypto/rand.Read never returns an error: it crashes the
	// program instead when the operating system fails to supply randomness.
	_, _ = rand.Read(secret)

	return base64.RawURLEncoding.EncodeToString(secret)
}

// ClientSummary is a client without its secret hash and salt, for listings.
type ClientSummary struct {
	ClientIdentifier string     `json:"clientIdentifier" gorm:"column:ClientIdentifier"`
	Name             string     `json:"name" gorm:"column:Name"`
	Status           string     `json:"status" gorm:"column:Status"`
	CreatedAt        time.Time  `json:"createdAt" gorm:"column:CreatedAt"`
	LastSeenAt       *time.Time `json:"lastSeenAt" gorm:"column:LastSeenAt"`
}

// AddClient validates and inserts an active client. It returns
// ErrDuplicateIdentifier, wrapped with the identifier, when the identifier
// is taken.
func (s *Store) AddClient(ctx context.Context, identifier, name, secret string) (Client, error) {
	identifier, err := ValidateIdentifier(identifier)
	if err != nil {
		return Client{}, err
	}

	name, err = ValidateName(name)
	if err != nil {
		return Client{}, err
	}

	if err := ValidateSecret(secret); err != nil {
		return Client{}, err
	}

	duplicate := fmt.Errorf("creating client %s: %w", identifier, ErrDuplicateIdentifier)
	_, err = s.ByIdentifier(ctx, identifier)
	switch {
	case err == nil:
		return Client{}, duplicate
	case !errors.Is(err, ErrNotFound):
		return Client{}, err
	}

	created, err := s.Create(ctx, name, identifier, secret)
	if err != nil {
		// Another process may have inserted the identifier since the check,
		// and the unique index rejected this row. Drivers word that error
		// differently, so look the identifier up again.
		if _, lookupErr := s.ByIdentifier(ctx, identifier); lookupErr == nil {
			return Client{}, duplicate
		}

		return Client{}, err
	}

	return created, nil
}

// RotateSecret validates a new secret and replaces the client's hash and
// salt. It returns ErrNotFound when no client has the identifier.
func (s *Store) RotateSecret(ctx context.Context, identifier, secret string) (Client, error) {
	if err := ValidateSecret(secret); err != nil {
		return Client{}, err
	}

	client, err := s.ByIdentifier(ctx, identifier)
	if err != nil {
		return Client{}, err
	}

	if err := s.Rotate(ctx, client.ID, secret); err != nil {
		return Client{}, err
	}

	return client, nil
}

// ChangeStatus sets Active or Suspended and returns the status the client
// had before. It returns ErrNotFound when no client has the identifier.
func (s *Store) ChangeStatus(ctx context.Context, identifier, status string) (string, error) {
	if status != StatusActive && status != StatusSuspended {
		return "", fmt.Errorf("invalid client status %q: use %s or %s", status, StatusActive, StatusSuspended)
	}

	client, err := s.ByIdentifier(ctx, identifier)
	if err != nil {
		return "", err
	}

	if err := s.SetStatus(ctx, client.ClientIdentifier, status); err != nil {
		return "", err
	}

	return client.Status, nil
}

// List returns every client ordered by identifier. It never reads the hash
// and salt columns.
func (s *Store) List(ctx context.Context) ([]ClientSummary, error) {
	summaries := []ClientSummary{}
	err := s.db.WithContext(ctx).Model(&Client{}).
		Select(s.db.Render("{ClientIdentifier}, {Name}, {Status}, {CreatedAt}, {LastSeenAt}")).
		Order(s.db.Render("{ClientIdentifier}")).
		Find(&summaries).Error
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}

	return summaries, nil
}

// UpdateSecretSQL renders an UPDATE statement that stores hash and salt for
// the client, with hex literals in the syntax of the provider: 0x... for SQL
// Server, decode('...', 'hex') for PostgreSQL and X'...' for SQLite. The
// identifier must have passed ValidateIdentifier, so it needs no escaping.
func UpdateSecretSQL(provider database.Provider, identifier string, hash, salt []byte) (string, error) {
	var literal func([]byte) string
	switch provider {
	case database.SQLServer:
		literal = func(b []byte) string { return "0x" + strings.ToUpper(hex.EncodeToString(b)) }
	case database.Postgres:
		literal = func(b []byte) string { return "decode('" + hex.EncodeToString(b) + "', 'hex')" }
	case database.SQLite:
		literal = func(b []byte) string { return "X'" + hex.EncodeToString(b) + "'" }
	default:
		return "", fmt.Errorf("rendering UPDATE statement: unknown provider %q; use sqlserver, postgres or sqlite", provider)
	}

	if _, err := ValidateIdentifier(identifier); err != nil {
		return "", err
	}

	dialect := database.Dialect{Provider: provider}

	return dialect.Render("UPDATE {Clients} SET {SecretHash} = ") + literal(hash) +
		dialect.Render(", {SecretSalt} = ") + literal(salt) +
		dialect.Render(" WHERE {ClientIdentifier} = '") + identifier + "';", nil
}

// PolicyKind is the type of a ClientPolicies column.
type PolicyKind int

// Policy column types.
const (
	PolicyInt PolicyKind = iota
	PolicyBool
)

// PolicySetting describes one nullable ClientPolicies column that operators
// edit. Name is the command-line flag without dashes.
type PolicySetting struct {
	Name     string
	Column   string
	JSONName string
	// Usage is the flag's help text, with the unit.
	Usage string
	Kind  PolicyKind
	// Min and Max bound a PolicyInt value, inclusive.
	Min, Max int

	intField  func(*Policy) **int
	boolField func(*Policy) **bool
}

// policyNull is the value that stores NULL, so the default applies again.
const policyNull = "null"

// PolicySettings returns every editable ClientPolicies column in the order
// the commands print them. The upper limit of 2147483647 is the int column of
// SQL Server and PostgreSQL. The upload policy reads MaxBatchPerDay 0 as no
// quota and LargeThresholdMb 0 as every non-empty file being large, so those
// two accept 0.
func PolicySettings() []PolicySetting {
	return []PolicySetting{
		integer("max-file-size-mb", "MaxFileSizeMb", "maxFileSizeMb", "largest upload accepted, in MiB", 1,
			func(p *Policy) **int { return &p.MaxFileSizeMb }),
		integer("max-batch-per-day", "MaxBatchPerDay", "maxBatchPerDay", "number of batches accepted per day, 0 for no quota", 0,
			func(p *Policy) **int { return &p.MaxBatchPerDay }),
		hour("allowed-start-hour", "AllowedStartHour", "allowedStartHour",
			"hour at which the upload window opens, 0 to 23, set together with --allowed-end-hour",
			func(p *Policy) **int { return &p.AllowedStartHour }),
		hour("allowed-end-hour", "AllowedEndHour", "allowedEndHour",
			"hour at which the upload window closes, 0 to 23 (exclusive; below the start hour it crosses midnight)",
			func(p *Policy) **int { return &p.AllowedEndHour }),
		boolean("require-scheduling-for-large", "RequireSchedulingForLarge", "requireSchedulingForLarge",
			"whether only files over large-threshold-mb wait for the upload window",
			func(p *Policy) **bool { return &p.RequireSchedulingForLarge }),
		integer("large-threshold-mb", "LargeThresholdMb", "largeThresholdMb", "size above which a file counts as large, in MiB", 0,
			func(p *Policy) **int { return &p.LargeThresholdMb }),
		integer("rate-limit-per-minute", "RateLimitPerMinute", "rateLimitPerMinute", "number of requests accepted per minute", 1,
			func(p *Policy) **int { return &p.RateLimitPerMinute }),
		boolean("redact-payload-on-success", "RedactPayloadOnSuccess", "redactPayloadOnSuccess",
			"whether to redact the record payloads of successful imports",
			func(p *Policy) **bool { return &p.RedactPayloadOnSuccess }),
		boolean("redact-payload-on-failure", "RedactPayloadOnFailure", "redactPayloadOnFailure",
			"whether to redact the record payloads of failed imports",
			func(p *Policy) **bool { return &p.RedactPayloadOnFailure }),
		integer("retention-days", "RetentionDays", "retentionDays", "number of days to keep import data", 1,
			func(p *Policy) **int { return &p.RetentionDays }),
	}
}

func integer(name, column, jsonName, usage string, minimum int, field func(*Policy) **int) PolicySetting {
	return PolicySetting{Name: name, Column: column, JSONName: jsonName, Usage: usage, Kind: PolicyInt,
		Min: minimum, Max: math.MaxInt32, intField: field}
}

func hour(name, column, jsonName, usage string, field func(*Policy) **int) PolicySetting {
	return PolicySetting{Name: name, Column: column, JSONName: jsonName, Usage: usage, Kind: PolicyInt,
		Min: 0, Max: 23, intField: field}
}

func boolean(name, column, jsonName, usage string, field func(*Policy) **bool) PolicySetting {
	return PolicySetting{Name: name, Column: column, JSONName: jsonName, Usage: usage, Kind: PolicyBool, boolField: field}
}

// Value returns the setting's column in p: nil for NULL, else an int or a
// bool.
func (s PolicySetting) Value(p *Policy) any {
	if s.Kind == PolicyBool {
		if v := *s.boolField(p); v != nil {
			return *v
		}

		return nil
	}

	if v := *s.intField(p); v != nil {
		return *v
	}

	return nil
}

// Parse turns command-line text into a value for PolicyChange: "null"
// becomes nil (NULL), and otherwise the text must be an integer in range or
// true or false. The error names the flag and the accepted values.
func (s PolicySetting) Parse(raw string) (any, error) {
	text := strings.TrimSpace(raw)
	if strings.EqualFold(text, policyNull) {
		return nil, nil
	}

	if s.Kind == PolicyBool {
		switch strings.ToLower(text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}

		return nil, fmt.Errorf("invalid --%s %q: %s", s.Name, raw, s.fix())
	}

	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < int64(s.Min) || n > int64(s.Max) {
		return nil, fmt.Errorf("invalid --%s %q: %s", s.Name, raw, s.fix())
	}

	return int(n), nil
}

// check validates a value built in code rather than parsed.
func (s PolicySetting) check(value any) error {
	switch v := value.(type) {
	case nil:
		return nil
	case bool:
		if s.Kind == PolicyBool {
			return nil
		}
	case int:
		if s.Kind == PolicyInt && v >= s.Min && v <= s.Max {
			return nil
		}
	}

	return fmt.Errorf("invalid --%s %v: %s", s.Name, value, s.fix())
}

// fix returns the accepted values, for error messages.
func (s PolicySetting) fix() string {
	if s.Kind == PolicyBool {
		return "use true, false, or null for the default"
	}

	return fmt.Sprintf("use a whole number from %d to %d, or null for the default", s.Min, s.Max)
}

func (s PolicySetting) assign(p *Policy, value any) {
	if s.Kind == PolicyBool {
		field := s.boolField(p)
		*field = nil
		if v, ok := value.(bool); ok {
			*field = &v
		}

		return
	}

	field := s.intField(p)
	*field = nil
	if v, ok := value.(int); ok {
		*field = &v
	}
}

// PolicySettingByName returns the setting whose flag name is name.
func PolicySettingByName(name string) (PolicySetting, bool) {
	for _, setting := range PolicySettings() {
		if setting.Name == name {
			return setting, true
		}
	}

	return PolicySetting{}, false
}

// PolicyChange sets one setting. A nil Value stores NULL so the default
// applies. Otherwise Value is an int or a bool, as the setting's Kind requires.
type PolicyChange struct {
	Setting PolicySetting
	Value   any
}

// PolicyFor loads the ClientPolicies row of a client, or the global row
// (ClientId NULL) when identifier is empty. found is false when the row does
// not exist. It returns ErrNotFound for an unknown client.
func (s *Store) PolicyFor(ctx context.Context, identifier string) (policy Policy, found bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		clientID, err := s.policyClientID(tx, identifier)
		if err != nil {
			return err
		}

		policy, found, err = s.policyRow(tx, clientID, identifier)

		return err
	})

	return policy, found, err
}

// SetPolicy creates or updates the ClientPolicies row of a client, or the
// global row when identifier is empty, and returns the stored row. Columns
// without a change keep their value. It returns ErrNotFound for an unknown
// client.
//
// NOTE: ClientPolicies has no unique index on ClientId, so two SetPolicy
// calls that create the same client's row at the same moment can insert two
// rows. Later calls then fail and name the duplicates.
func (s *Store) SetPolicy(ctx context.Context, identifier string, changes []PolicyChange) (Policy, error) {
	if len(changes) == 0 {
		return Policy{}, errors.New("setting a policy: no setting given; pass at least one, such as --max-file-size-mb 50")
	}

	updates := make(map[string]any, len(changes))
	for _, change := range changes {
		if err := change.Setting.check(change.Value); err != nil {
			return Policy{}, err
		}

		updates[change.Setting.Column] = change.Value
	}

	var stored Policy
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		clientID, err := s.policyClientID(tx, identifier)
		if err != nil {
			return err
		}

		existing, found, err := s.policyRow(tx, clientID, identifier)
		if err != nil {
			return err
		}

		next := existing
		if !found {
			next = Policy{ID: database.NewUUID(), ClientID: clientID, CreatedAt: s.now().UTC()}
		}

		for _, change := range changes {
			change.Setting.assign(&next, change.Value)
		}

		_, startChanged := updates["AllowedStartHour"]
		_, endChanged := updates["AllowedEndHour"]
		if startChanged || endChanged {
			if err := s.checkHourPair(tx, clientID, identifier, next); err != nil {
				return err
			}
		}

		if !found {
			if err := tx.Create(&next).Error; err != nil {
				return fmt.Errorf("creating %s: %w", policyLabel(identifier), err)
			}

			stored = next

			return nil
		}

		err = tx.Model(&Policy{}).Where(s.db.Render("{Id} = ?"), existing.ID).Updates(updates).Error
		if err != nil {
			return fmt.Errorf("updating %s: %w", policyLabel(identifier), err)
		}

		stored, _, err = s.policyRow(tx, clientID, identifier)

		return err
	})

	return stored, err
}

// checkHourPair rejects a row that would leave exactly one of
// AllowedStartHour and AllowedEndHour in effect. The upload policy reads the
// two as the window [start, end) and rejects half of one. A NULL column of a
// client's row takes the global row's value, so that row counts too.
//
// NOTE: a change to the global row is checked on its own, not against the
// client rows that take one hour from it.
func (s *Store) checkHourPair(tx *gorm.DB, clientID *database.UUID, identifier string, next Policy) error {
	start, end := next.AllowedStartHour, next.AllowedEndHour
	if clientID != nil && (start == nil || end == nil) {
		global, found, err := s.policyRow(tx, nil, "")
		if err != nil {
			return err
		}

		if found && start == nil {
			start = global.AllowedStartHour
		}

		if found && end == nil {
			end = global.AllowedEndHour
		}
	}

	switch {
	case start != nil && end == nil:
		return fmt.Errorf("invalid --allowed-start-hour for %s: the upload window would open at %d but have no "+
			"closing hour; pass --allowed-end-hour too, or --allowed-start-hour=null", policyLabel(identifier), *start)
	case start == nil && end != nil:
		return fmt.Errorf("invalid --allowed-end-hour for %s: the upload window would close at %d but have no "+
			"opening hour; pass --allowed-start-hour too, or --allowed-end-hour=null", policyLabel(identifier), *end)
	}

	return nil
}

// policyClientID returns the Id of the client, or nil for the global row.
func (s *Store) policyClientID(tx *gorm.DB, identifier string) (*database.UUID, error) {
	if identifier == "" {
		return nil, nil
	}

	var client Client
	err := tx.Select(s.db.Render("{Id}")).Where(s.db.Render("{ClientIdentifier} = ?"), NormalizeIdentifier(identifier)).
		Take(&client).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}

	if err != nil {
		return nil, fmt.Errorf("loading client %s: %w", NormalizeIdentifier(identifier), err)
	}

	return &client.ID, nil
}

// policyRow loads the one ClientPolicies row of clientID (nil for global).
// Several rows are an error, because it is unclear which one applies.
func (s *Store) policyRow(tx *gorm.DB, clientID *database.UUID, identifier string) (Policy, bool, error) {
	query := tx.Model(&Policy{})
	if clientID == nil {
		query = query.Where(s.db.Render("{ClientId} IS NULL"))
	} else {
		query = query.Where(s.db.Render("{ClientId} = ?"), *clientID)
	}

	var rows []Policy
	if err := query.Order(s.db.Render("{CreatedAt}")).Limit(2).Find(&rows).Error; err != nil {
		return Policy{}, false, fmt.Errorf("loading %s: %w", policyLabel(identifier), err)
	}

	switch len(rows) {
	case 0:
		return Policy{}, false, nil
	case 1:
		return rows[0], true, nil
	}

	return Policy{}, false, fmt.Errorf("loading %s: ClientPolicies has more than one row for it (Id %s and %s); "+
		"delete all but one of them", policyLabel(identifier), rows[0].ID, rows[1].ID)
}

func policyLabel(identifier string) string {
	if identifier == "" {
		return "the global policy"
	}

	return "the policy of client " + NormalizeIdentifier(identifier)
}
