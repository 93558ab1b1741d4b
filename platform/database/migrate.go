package database

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Migration is one versioned schema change. Up and Down return the statements
// for a dialect, so the SQL each engine receives can be printed and tested
// without a server.
type Migration struct {
	// Version orders migrations across modules: "0001", "0002", ...
	Version string
	// Name is a short description, e.g. "create Clients".
	Name string
	Up   func(d Dialect) []string
	Down func(d Dialect) []string
	// KeepsData lists tables that Down drops but that may hold data Up did
	// not create: the .NET tables that Up adopts when they exist. Down
	// refuses to run while any of them has a row.
	KeepsData []string
}

// MigrationStatus is one row of `migrate status`.
type MigrationStatus struct {
	Version   string
	Name      string
	AppliedAt *time.Time
}

// historyTable records applied migrations. It is new: the .NET services kept
// their history in __EFMigrationsHistory, which DataFlow leaves alone.
const historyTable = "SchemaMigrations"

// Migrator applies migrations in version order, one transaction each.
type Migrator struct {
	db         *gorm.DB
	dialect    Dialect
	migrations []Migration
	now        func() time.Time
}

// NewMigrator sorts migrations by version and fails on duplicates.
func NewMigrator(db *gorm.DB, d Dialect, migrations []Migration) (*Migrator, error) {
	sorted := append([]Migration(nil), migrations...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Version < sorted[j].Version })

	for i := 1; i < len(sorted); i++ {
		if sorted[i].Version == sorted[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share version %s", sorted[i-1].Name, sorted[i].Name, sorted[i].Version)
		}
	}

	return &Migrator{db: db, dialect: d, migrations: sorted, now: time.Now}, nil
}

func (m *Migrator) ensureHistory(ctx context.Context) error {
	stmt := m.dialect.CreateTable(Table{Name: historyTable, Columns: []Column{
		{Name: "Version", Type: TypeString, Size: 32, PrimaryKey: true},
		{Name: "Name", Type: TypeString, Size: 200},
		{Name: "AppliedAt", Type: TypeTime},
	}})
	// CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL, so it runs
	// under the migration lock too.
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := m.lock(tx); err != nil {
			return err
		}

		return tx.Exec(stmt).Error
	})
	if err != nil {
		return fmt.Errorf("creating %s table: %w", historyTable, err)
	}

	return nil
}

func (m *Migrator) applied(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Version   string
		AppliedAt time.Time
	}

	err := m.db.WithContext(ctx).Raw(m.dialect.Render("SELECT {Version}, {AppliedAt} FROM {SchemaMigrations}")).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", historyTable, err)
	}

	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.Version] = r.AppliedAt
	}

	return out, nil
}

// Status lists every known migration and when it was applied. It only
// reads: on a database without the history table, every migration is pending.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	done := map[string]time.Time{}
	if m.db.WithContext(ctx).Migrator().HasTable(historyTable) {
		var err error
		done, err = m.applied(ctx)
		if err != nil {
			return nil, err
		}
	}

	out := make([]MigrationStatus, 0, len(m.migrations))
	for _, mig := range m.migrations {
		st := MigrationStatus{Version: mig.Version, Name: mig.Name}
		if at, ok := done[mig.Version]; ok {
			at := at
			st.AppliedAt = &at
		}

		out = append(out, st)
	}

	return out, nil
}

// Pending returns the number of migrations not applied yet.
func (m *Migrator) Pending(ctx context.Context) (int, error) {
	status, err := m.Status(ctx)
	if err != nil {
		return 0, err
	}

	pending := 0
	for _, s := range status {
		if s.AppliedAt == nil {
			pending++
		}
	}

	return pending, nil
}

// Up applies every pending migration and returns the versions it applied.
// Running it again applies nothing.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	if err := m.ensureHistory(ctx); err != nil {
		return nil, err
	}

	done, err := m.applied(ctx)
	if err != nil {
		return nil, err
	}

	var applied []string
	for _, mig := range m.migrations {
		if _, ok := done[mig.Version]; ok {
			continue
		}

		if err := m.apply(ctx, mig); err != nil {
			return applied, err
		}

		applied = append(applied, mig.Version)
	}

	return applied, nil
}

func (m *Migrator) apply(ctx context.Context, mig Migration) error {
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		done, err := m.lockAndCheck(tx, mig.Version)
		if err != nil || done {
			return err
		}

		for _, stmt := range mig.Up(m.dialect) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("running %q: %w", firstLine(stmt), err)
			}
		}

		return tx.Exec(m.dialect.Render("INSERT INTO {SchemaMigrations} ({Version}, {Name}, {AppliedAt}) VALUES (?, ?, ?)"),
			mig.Version, mig.Name, m.now().UTC()).Error
	})
	if err != nil {
		return fmt.Errorf("applying migration %s (%s): %w", mig.Version, mig.Name, err)
	}

	return nil
}

// lockAndCheck serializes migrations across processes (serve and work may
// both start with ApplyMigrationsOnStartup) and reports whether another
// process applied the version while this one waited. The lock is held until
// the transaction ends. SQLite needs no statement: its transactions take the
// write lock when they begin.
func (m *Migrator) lockAndCheck(tx *gorm.DB, version string) (bool, error) {
	if err := m.lock(tx); err != nil {
		return false, err
	}

	var n int64
	err := tx.Raw(m.dialect.Render("SELECT COUNT(*) FROM {SchemaMigrations} WHERE {Version} = ?"), version).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", historyTable, err)
	}

	return n > 0, nil
}

// checkEmpty fails when a table that rolling back mig would drop has rows,
// so `migrate down` never deletes lead or client data.
func (m *Migrator) checkEmpty(tx *gorm.DB, mig Migration) error {
	for _, table := range mig.KeepsData {
		var n int64
		if err := tx.Raw(m.dialect.Render("SELECT COUNT(*) FROM {" + table + "}")).Scan(&n).Error; err != nil {
			return fmt.Errorf("counting rows of %s: %w", table, err)
		}

		if n > 0 {
			return fmt.Errorf("table %s has %d row(s); rolling back would delete them, so back up and empty it first "+
				"if you really mean to drop it", table, n)
		}
	}

	return nil
}

// lock takes a lock held until tx ends.
func (m *Migrator) lock(tx *gorm.DB) error {
	var lock string
	switch m.dialect.Provider {
	case Postgres:
		lock = "SELECT pg_advisory_xact_lock(727311)"
	case SQLServer:
		lock = "EXEC sp_getapplock @Resource = 'dataflow-migrations', @LockMode = 'Exclusive', @LockOwner = 'Transaction'"
	default:
		return nil
	}

	if err := tx.Exec(lock).Error; err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}

	return nil
}

// ErrNothingToRollBack is returned by Down when no migration is applied.
var ErrNothingToRollBack = errors.New("no applied migration to roll back")

// Down rolls back the latest applied migration and returns its version.
func (m *Migrator) Down(ctx context.Context) (string, error) {
	if err := m.ensureHistory(ctx); err != nil {
		return "", err
	}

	done, err := m.applied(ctx)
	if err != nil {
		return "", err
	}

	for i := len(m.migrations) - 1; i >= 0; i-- {
		mig := m.migrations[i]
		if _, ok := done[mig.Version]; !ok {
			continue
		}

		err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := m.lock(tx); err != nil {
				return err
			}

			if err := m.checkEmpty(tx, mig); err != nil {
				return err
			}

			for _, stmt := range mig.Down(m.dialect) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("running %q: %w", firstLine(stmt), err)
				}
			}

			return tx.Exec(m.dialect.Render("DELETE FROM {SchemaMigrations} WHERE {Version} = ?"), mig.Version).Error
		})
		if err != nil {
			return "", fmt.Errorf("rolling back migration %s (%s): %w", mig.Version, mig.Name, err)
		}

		return mig.Version, nil
	}

	return "", ErrNothingToRollBack
}

// Script returns every statement of every migration for the dialect, in
// order, as a DBA would review it.
func Script(d Dialect, migrations []Migration) []string {
	sorted := append([]Migration(nil), migrations...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Version < sorted[j].Version })

	var out []string
	for _, mig := range sorted {
		out = append(out, fmt.Sprintf("-- %s %s", mig.Version, mig.Name))
		out = append(out, mig.Up(d)...)
	}

	return out
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i] + " ..."
		}
	}

	return s
}
