// Package webhooks notifies client systems when their batches end. A batch's
// final status writes an event to an outbox table in the same transaction
// (see imports.FinishHook); the delivery job of `work` sends it to every
// subscription of the client, signed as Standard Webhooks specifies, and
// retries with backoff for about three days.
package webhooks

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/platform/kernel"
)

// Module registers the webhooks schema, routes and delivery job.
type Module struct {
	auth    echo.MiddlewareFunc
	deliver bool
	version string
	store   *Store
}

// New returns the module. auth authenticates API calls; deliver adds the
// delivery job, for `work`.
func New(auth echo.MiddlewareFunc, deliver bool, version string) *Module {
	return &Module{auth: auth, deliver: deliver, version: version}
}

// Name returns "webhooks".
func (*Module) Name() string { return "webhooks" }

// Store returns the module's store, set by Register.
func (m *Module) Store() *Store { return m.store }

// Register adds the migrations, the routes and, for `work`, the job.
func (m *Module) Register(k *kernel.Kernel) error {
	k.AddMigrations(Migrations()...)
	m.store = NewStore(k.DB, k.Now)

	s := k.Settings
	h := &handlers{store: m.store, allowInsecure: s.Webhooks.AllowInsecureTargets}
	if m.auth != nil {
		k.AddRoutes(func(e *echo.Echo) {
			e.GET("/webhooks", h.list, m.auth)
			e.POST("/webhooks", h.create, m.auth)
			e.GET("/webhooks/:webhookId", h.get, m.auth)
			e.DELETE("/webhooks/:webhookId", h.remove, m.auth)
			e.GET("/webhooks/:webhookId/deliveries", h.deliveries, m.auth)
			e.POST("/webhooks/:webhookId/deliveries/:deliveryId/redeliver", h.redeliver, m.auth)
		})
	}

	if !m.deliver {
		return nil
	}

	schedule, err := s.WebhookRetrySchedule()
	if err != nil {
		return err
	}

	var prune time.Duration
	if s.DataRetention.EnableCleanup {
		prune = time.Duration(s.DataRetention.BatchRetentionDays) * 24 * time.Hour
	}

	k.AddJobs(NewDeliverer(m.store, DelivererConfig{
		Schedule: schedule, Timeout: s.WebhookTimeout(), DisableAfter: s.WebhookDisableAfter(),
		PollInterval: s.Webhooks.PollInterval, AllowInsecure: s.Webhooks.AllowInsecureTargets,
		PruneAfter: prune, UserAgent: "DataFlow-Webhooks/" + m.version,
	}, k.Log))

	return nil
}
