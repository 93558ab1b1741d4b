// Package webhooks owns the WebhookSubscriptions table. Delivery of batch
// events is not built yet; the table exists so the schema matches the .NET
// database.
package webhooks

import (
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/kernel"
)

// Module registers the webhooks schema.
type Module struct{}

// New returns the module.
func New() *Module { return &Module{} }

// Name returns "webhooks".
func (*Module) Name() string { return "webhooks" }

// Register adds the migrations.
func (*Module) Register(k *kernel.Kernel) error {
	k.AddMigrations(Migrations()...)

	return nil
}

// Migrations returns the module's schema migrations.
func Migrations() []database.Migration {
	return []database.Migration{{
		Version: "0004",
		Name:    "create WebhookSubscriptions",
		Up: func(d database.Dialect) []string {
			return []string{
				d.CreateTable(database.Table{Name: "WebhookSubscriptions", Columns: []database.Column{
					{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
					{Name: "ClientId", Type: database.TypeUUID},
					{Name: "Url", Type: database.TypeString, Size: 512},
					{Name: "Secret", Type: database.TypeString, Size: 128},
					{Name: "IsActive", Type: database.TypeBool, Default: "true"},
					{Name: "CreatedAt", Type: database.TypeTime},
				}, ForeignKeys: []database.ForeignKey{
					{Name: "FK_WebhookSubscriptions_Clients_ClientId", Column: "ClientId", RefTable: "Clients", RefColumn: "Id", OnDelete: "CASCADE"},
				}}),
				d.CreateIndex("IX_WebhookSubscriptions_ClientId_Url", "WebhookSubscriptions", true, "ClientId", "Url"),
			}
		},
		Down: func(d database.Dialect) []string {
			return []string{d.DropTable("WebhookSubscriptions")}
		},
		KeepsData: []string{"WebhookSubscriptions"},
	}}
}
