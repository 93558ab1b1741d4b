package webhooks

import "github.com/dataflow/dataflow/platform/database"

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
	}, {
		Version: "0010",
		Name:    "create the webhook outbox and delivery log",
		Up: func(d database.Dialect) []string {
			return []string{
				// New subscription columns are nullable, so rows written by
				// the .NET service stay valid.
				d.AddColumn("WebhookSubscriptions", database.Column{Name: "Events", Type: database.TypeString, Size: 256, Nullable: true}),
				d.AddColumn("WebhookSubscriptions", database.Column{Name: "FailingSince", Type: database.TypeTime, Nullable: true}),
				d.AddColumn("WebhookSubscriptions", database.Column{Name: "DisabledAt", Type: database.TypeTime, Nullable: true}),
				d.AddColumn("WebhookSubscriptions", database.Column{Name: "DisabledReason", Type: database.TypeString, Size: 256, Nullable: true}),
				d.CreateTable(database.Table{Name: "WebhookEvents", Columns: []database.Column{
					{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
					{Name: "ClientId", Type: database.TypeUUID},
					{Name: "Type", Type: database.TypeString, Size: 64},
					{Name: "BatchId", Type: database.TypeUUID},
					{Name: "PayloadJson", Type: database.TypeText},
					{Name: "TraceId", Type: database.TypeString, Size: 64, Nullable: true},
					{Name: "CreatedAt", Type: database.TypeTime},
				}, ForeignKeys: []database.ForeignKey{
					{Name: "FK_WebhookEvents_Clients_ClientId", Column: "ClientId", RefTable: "Clients", RefColumn: "Id", OnDelete: "CASCADE"},
				}}),
				d.CreateIndex("IX_WebhookEvents_CreatedAt", "WebhookEvents", false, "CreatedAt"),
				d.CreateTable(database.Table{Name: "WebhookDeliveries", Columns: []database.Column{
					{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
					{Name: "EventId", Type: database.TypeUUID},
					{Name: "SubscriptionId", Type: database.TypeUUID},
					{Name: "Status", Type: database.TypeString, Size: 32},
					{Name: "Attempts", Type: database.TypeInt, Default: "0"},
					{Name: "NextAttemptAt", Type: database.TypeTime, Nullable: true},
					{Name: "LockedBy", Type: database.TypeString, Size: 64, Nullable: true},
					{Name: "LockedUntil", Type: database.TypeTime, Nullable: true},
					{Name: "LastAttemptAt", Type: database.TypeTime, Nullable: true},
					{Name: "LastStatusCode", Type: database.TypeInt, Nullable: true},
					{Name: "LastError", Type: database.TypeString, Size: 512, Nullable: true},
					{Name: "LastDurationMs", Type: database.TypeInt, Nullable: true},
					{Name: "DeliveredAt", Type: database.TypeTime, Nullable: true},
					{Name: "CreatedAt", Type: database.TypeTime},
				}, ForeignKeys: []database.ForeignKey{
					{Name: "FK_WebhookDeliveries_WebhookEvents_EventId", Column: "EventId", RefTable: "WebhookEvents", RefColumn: "Id", OnDelete: "CASCADE"},
					{Name: "FK_WebhookDeliveries_WebhookSubscriptions_SubscriptionId", Column: "SubscriptionId", RefTable: "WebhookSubscriptions", RefColumn: "Id", OnDelete: "CASCADE"},
				}}),
				d.CreateIndex("IX_WebhookDeliveries_Status_NextAttemptAt", "WebhookDeliveries", false, "Status", "NextAttemptAt"),
				d.CreateIndex("IX_WebhookDeliveries_SubscriptionId_CreatedAt", "WebhookDeliveries", false, "SubscriptionId", "CreatedAt"),
				d.CreateIndex("IX_WebhookDeliveries_EventId", "WebhookDeliveries", false, "EventId"),
			}
		},
		Down: func(d database.Dialect) []string {
			return []string{
				d.DropTable("WebhookDeliveries"),
				d.DropTable("WebhookEvents"),
				d.DropColumn("WebhookSubscriptions", "DisabledReason"),
				d.DropColumn("WebhookSubscriptions", "DisabledAt"),
				d.DropColumn("WebhookSubscriptions", "FailingSince"),
				d.DropColumn("WebhookSubscriptions", "Events"),
			}
		},
	}}
}
