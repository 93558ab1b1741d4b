package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/driver/sqlserver"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// Options tunes the connection pool.
type Options struct {
	// MaxOpenConns caps the pool for SQL Server and PostgreSQL (default 10).
	MaxOpenConns int
	Logger       zerolog.Logger
}

// DB is an open database with the dialect its SQL must be rendered in.
type DB struct {
	*gorm.DB
	Dialect Dialect
	Target  Target
}

// Open connects to target and checks the connection with a ping.
func Open(ctx context.Context, target Target, opts Options) (*DB, error) {
	var dialector gorm.Dialector
	switch target.Provider {
	case SQLServer:
		dialector = sqlserver.Open(target.DSN)
	case Postgres:
		dialector = postgres.Open(target.DSN)
	case SQLite:
		dialector = sqlite.Open(target.DSN)
	default:
		return nil, fmt.Errorf("opening database: unknown provider %q", target.Provider)
	}

	gdb, err := gorm.Open(dialector, &gorm.Config{
		// Table and column names are the .NET ones, PascalCase, given by
		// each model; GORM must not rewrite them.
		NamingStrategy:         schema.NamingStrategy{NoLowerCase: true, SingularTable: true},
		Logger:                 newGormLogger(opts.Logger),
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("opening %s database at %s: %w", target.Provider, target.Host, err)
	}

	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", target.Provider, err)
	}

	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 10
	}

	if target.Provider == SQLite {
		// One file, one writer at a time: a few connections let reads run
		// beside the writer (WAL) without queueing many writers on the lock.
		maxOpen = 4
	}

	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()

		return nil, fmt.Errorf("connecting to %s database %s at %s: %w", target.Provider, target.Database, target.Host, err)
	}

	return &DB{DB: gdb, Dialect: Dialect{Provider: target.Provider}, Target: target}, nil
}

// OpenWithRetry calls Open until it succeeds or ctx ends, waiting 1s, 2s, 4s
// ... up to 30s between tries, and logs each failure. Long-running commands
// use it so a database that starts after them is not a crash loop.
func OpenWithRetry(ctx context.Context, target Target, opts Options) (*DB, error) {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		db, err := Open(ctx, target, opts)
		if err == nil {
			return db, nil
		}

		opts.Logger.Error().Err(err).Int("attempt", attempt).Dur("retry_in", delay).
			Msg("database: connection failed, retrying")

		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(delay):
		}

		delay = min(delay*2, 30*time.Second)
	}
}

// Close closes the pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}

	return sqlDB.Close()
}

// Ping checks that the database responds within the context's deadline.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}

	return sqlDB.PingContext(ctx)
}

// Render renders sql in the database's dialect.
func (db *DB) Render(sql string) string {
	return db.Dialect.Render(sql)
}

// gormLogger sends GORM's errors and slow queries to zerolog. Queries are
// logged with placeholders only, because parameters carry lead data.
type gormLogger struct {
	log  zerolog.Logger
	slow time.Duration
}

func newGormLogger(log zerolog.Logger) logger.Interface {
	return &gormLogger{log: log, slow: time.Second}
}

func (l *gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *gormLogger) Info(context.Context, string, ...any) {}

func (l *gormLogger) Warn(_ context.Context, msg string, _ ...any) {
	l.log.Warn().Str("detail", msg).Msg("database: warning")
}

func (l *gormLogger) Error(_ context.Context, msg string, _ ...any) {
	l.log.Error().Str("detail", msg).Msg("database: error")
}

func (l *gormLogger) Trace(_ context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled):
		sql, _ := fc()
		l.log.Debug().Err(err).Str("sql", firstLine(sql)).Msg("database: query failed")
	case elapsed > l.slow:
		sql, rows := fc()
		l.log.Warn().Str("sql", firstLine(sql)).Int64("rows", rows).Int64("duration_ms", elapsed.Milliseconds()).
			Msg("database: slow query")
	}
}

// ParameterizedQueries keeps values out of the SQL GORM hands to Trace.
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
