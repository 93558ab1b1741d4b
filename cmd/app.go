package cmd

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/modules/locking"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/modules/webhooks"
	"github.com/dataflow/dataflow/platform/config"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/kernel"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

// appOptions lists what a command needs from the kernel.
type appOptions struct {
	// retryDatabase keeps trying to connect (serve, work) instead of failing
	// at once (migrate, seed).
	retryDatabase bool
	// storage opens ImportStorage:BasePath.
	storage bool
	// worker registers the worker, which needs an OmniFlow client.
	worker bool
}

// app is a kernel with every module registered.
type app struct {
	kernel *kernel.Kernel
	db     *database.DB
}

// buildApp opens the database and registers the modules.
func buildApp(ctx context.Context, settings *config.Settings, log zerolog.Logger, opts appOptions) (*app, error) {
	target, err := database.ResolveTarget(settings.Database.Provider, settings.ConnectionStrings.DataFlow)
	if err != nil {
		return nil, err
	}

	log.Info().Str("provider", string(target.Provider)).Str("host", target.Host).Str("database", target.Database).
		Msg("database: connecting")

	dbOpts := database.Options{MaxOpenConns: settings.Database.MaxOpenConns, Logger: log}
	var db *database.DB
	if opts.retryDatabase {
		db, err = database.OpenWithRetry(ctx, target, dbOpts)
	} else {
		db, err = database.Open(ctx, target, dbOpts)
	}

	if err != nil {
		return nil, err
	}

	k := &kernel.Kernel{Settings: settings, Log: log, DB: db, Now: time.Now}
	if opts.storage {
		k.Storage, err = storage.New(settings.ImportStorage.BasePath)
		if err != nil {
			_ = db.Close()

			return nil, err
		}
	}

	clientsModule := clients.New()
	lockingModule := locking.New()
	if err := k.Register(clientsModule, lockingModule); err != nil {
		_ = db.Close()

		return nil, err
	}

	var sender imports.Sender
	var slots imports.Slots
	if opts.worker {
		client, err := omniflow.NewClient(omniflow.ClientConfig{
			BaseURL:        settings.OmniFlow.BaseUrl,
			ImportPath:     settings.OmniFlow.ImportPath,
			Timeout:        settings.OmniFlowTimeout(),
			MaxRetries:     settings.ImportBatch.MaxRetries,
			RetryBaseDelay: settings.OmniFlow.RetryBaseDelay,
			Logger:         log,
		})
		if err != nil {
			_ = db.Close()

			return nil, fmt.Errorf("configuring OmniFlow client (OmniFlow:BaseUrl): %w", err)
		}

		sender = client
		slots = lockingModule.Slots()
	}

	importsModule := imports.New(clientsModule.Middleware(), slots, sender)
	webhooksModule := webhooks.New(clientsModule.Middleware(), opts.worker, version())
	importsModule.OnBatchFinished(func(tx *gorm.DB, e imports.BatchFinished) error {
		return webhooksModule.Store().Enqueue(tx, e)
	})
	if err := k.Register(importsModule, webhooksModule); err != nil {
		_ = db.Close()

		return nil, err
	}

	return &app{kernel: k, db: db}, nil
}

// openApp loads and validates the settings for role, sets up logging and
// builds the app.
func openApp(cmd *cobra.Command, flags *globalFlags, role config.Role, opts appOptions) (*app, error) {
	settings, err := loadSettings(cmd, flags, role)
	if err != nil {
		return nil, err
	}

	log, err := newLogger(settings)
	if err != nil {
		return nil, err
	}

	return buildApp(cmd.Context(), settings, log, opts)
}

// httpServer builds the API with every module's routes and the OpenAPI
// document.
func (a *app) httpServer(openAPI []byte) *httpserver.Server {
	srv := a.kernel.HTTPServer()
	srv.Echo.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/json", openAPI)
	})

	return srv
}

// prepareSchema applies migrations when configured, else checks the schema
// is current.
func (a *app) prepareSchema(ctx context.Context) error {
	if !a.kernel.Settings.ApplyMigrationsOnStartup {
		return a.kernel.CheckSchema(ctx)
	}

	m, err := a.kernel.Migrator()
	if err != nil {
		return err
	}

	applied, err := m.Up(ctx)
	if err != nil {
		return err
	}

	if len(applied) > 0 {
		a.kernel.Log.Info().Strs("versions", applied).Msg("database: migrations applied")
	}

	return nil
}

func (a *app) close() {
	_ = a.db.Close()
}

// precreateClientSeries adds the per-client metric series of every client
// at zero (see metrics.PrecreateClients). A failure only costs the first
// events of each client in rates, so it is logged and ignored.
func (a *app) precreateClientSeries(ctx context.Context) {
	summaries, err := clients.NewStore(a.db, a.kernel.Now).List(ctx)
	if err != nil {
		a.kernel.Log.Warn().Err(err).Msg("metrics: cannot list clients to create their series")
		return
	}

	ids := make([]string, 0, len(summaries))
	for _, s := range summaries {
		ids = append(ids, s.ClientIdentifier)
	}
	metrics.PrecreateClients(ids)
}
