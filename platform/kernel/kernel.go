// Package kernel collects what modules register: their migrations, HTTP
// routes, background jobs and seeders. It contains no business terms. cmd/
// builds a Kernel, registers the modules and runs the part a command needs.
package kernel

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/jobs"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

// Module is a self-contained part of DataFlow.
type Module interface {
	Name() string
	Register(k *Kernel) error
}

// Seeder writes reference data after migrations, e.g. configured clients.
type Seeder interface {
	Name() string
	Seed(ctx context.Context) error
}

// RouteFunc adds a module's routes to the API.
type RouteFunc func(e *echo.Echo)

// Kernel is the shared infrastructure of one process.
type Kernel struct {
	Settings *config.Settings
	Log      zerolog.Logger
	DB       *database.DB
	Storage  *storage.Store
	// Now is the clock every rule that compares with "now" uses.
	Now func() time.Time

	migrations []database.Migration
	routes     []RouteFunc
	jobs       []jobs.Job
	seeders    []Seeder
	modules    []string
}

// Register calls each module's Register in order.
func (k *Kernel) Register(modules ...Module) error {
	for _, m := range modules {
		if err := m.Register(k); err != nil {
			return fmt.Errorf("registering module %s: %w", m.Name(), err)
		}

		k.modules = append(k.modules, m.Name())
	}

	return nil
}

// AddMigrations records a module's schema migrations.
func (k *Kernel) AddMigrations(m ...database.Migration) { k.migrations = append(k.migrations, m...) }

// AddRoutes records a module's HTTP routes.
func (k *Kernel) AddRoutes(fn RouteFunc) { k.routes = append(k.routes, fn) }

// AddJobs records a module's background jobs, which `work` runs.
func (k *Kernel) AddJobs(j ...jobs.Job) { k.jobs = append(k.jobs, j...) }

// AddSeeders records a module's seeders.
func (k *Kernel) AddSeeders(s ...Seeder) { k.seeders = append(k.seeders, s...) }

// Migrations returns every registered migration.
func (k *Kernel) Migrations() []database.Migration { return k.migrations }

// Jobs returns every registered job.
func (k *Kernel) Jobs() []jobs.Job { return k.jobs }

// Migrator returns a migrator over every registered migration.
func (k *Kernel) Migrator() (*database.Migrator, error) {
	return database.NewMigrator(k.DB.DB, k.DB.Dialect, k.migrations)
}

// Seed runs every seeder in registration order.
func (k *Kernel) Seed(ctx context.Context) error {
	for _, s := range k.seeders {
		if err := s.Seed(ctx); err != nil {
			return fmt.Errorf("seeding %s: %w", s.Name(), err)
		}
	}

	return nil
}

// CheckSchema fails when migrations are pending, so a process never runs on
// a schema older than its code.
func (k *Kernel) CheckSchema(ctx context.Context) error {
	m, err := k.Migrator()
	if err != nil {
		return err
	}

	pending, err := m.Pending(ctx)
	if err != nil {
		return err
	}

	if pending > 0 {
		return fmt.Errorf("database schema is %d migration(s) behind: run `dataflow migrate up` or set ApplyMigrationsOnStartup=true", pending)
	}

	return nil
}

// HTTPServer builds the API with every module's routes plus /health and /ready.
func (k *Kernel) HTTPServer() *httpserver.Server {
	srv := httpserver.New(k.Log)
	health := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "healthy"})
	}
	srv.Echo.GET("/health", health)
	srv.Echo.HEAD("/health", health)
	srv.Echo.GET("/ready", k.ready)
	srv.Echo.GET("/metrics", echo.WrapHandler(metrics.Handler()))

	for _, fn := range k.routes {
		fn(srv.Echo)
	}

	return srv
}

// ready returns 200 when the database responds and storage is writable.
func (k *Kernel) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()

	checks := map[string]string{"database": "ok", "storage": "ok"}
	status := http.StatusOK
	if err := k.DB.Ping(ctx); err != nil {
		k.Log.Warn().Err(err).Msg("http: readiness check failed on the database")
		checks["database"] = "unreachable"
		status = http.StatusServiceUnavailable
	}

	if k.Storage != nil {
		if err := k.Storage.CheckWritable(); err != nil {
			k.Log.Warn().Err(err).Msg("http: readiness check failed on storage")
			checks["storage"] = "not writable"
			status = http.StatusServiceUnavailable
		}
	}

	state := "ready"
	if status != http.StatusOK {
		state = "not_ready"
	}

	return c.JSON(status, map[string]any{"status": state, "checks": checks})
}
