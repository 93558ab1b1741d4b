package clients

import "github.com/dataflow/dataflow/platform/database"

// migrations create the .NET tables when they do not exist yet, so the same
// history adopts a database the .NET services made.
// Migrations returns the module's schema migrations.
func Migrations() []database.Migration {
	return []database.Migration{{
		Version: "0001",
		Name:    "create Clients and ClientPolicies",
		Up: func(d database.Dialect) []string {
			return []string{
				d.CreateTable(database.Table{Name: "Clients", Columns: []database.Column{
					{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
					{Name: "Name", Type: database.TypeString, Size: 120},
					{Name: "ClientIdentifier", Type: database.TypeString, Size: 64},
					{Name: "SecretHash", Type: database.TypeBytes},
					{Name: "SecretSalt", Type: database.TypeBytes},
					{Name: "Status", Type: database.TypeString, Size: 20},
					{Name: "CreatedAt", Type: database.TypeTime},
					{Name: "LastSeenAt", Type: database.TypeTime, Nullable: true},
				}}),
				d.CreateIndex("IX_Clients_ClientIdentifier", "Clients", true, "ClientIdentifier"),
				d.CreateTable(database.Table{Name: "ClientPolicies", Columns: []database.Column{
					{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
					{Name: "ClientId", Type: database.TypeUUID, Nullable: true},
					{Name: "MaxFileSizeMb", Type: database.TypeInt, Nullable: true},
					{Name: "MaxBatchPerDay", Type: database.TypeInt, Nullable: true},
					{Name: "AllowedStartHour", Type: database.TypeInt, Nullable: true},
					{Name: "AllowedEndHour", Type: database.TypeInt, Nullable: true},
					{Name: "RequireSchedulingForLarge", Type: database.TypeBool, Nullable: true},
					{Name: "LargeThresholdMb", Type: database.TypeInt, Nullable: true},
					{Name: "RateLimitPerMinute", Type: database.TypeInt, Nullable: true},
					{Name: "RedactPayloadOnSuccess", Type: database.TypeBool, Nullable: true},
					{Name: "RedactPayloadOnFailure", Type: database.TypeBool, Nullable: true},
					{Name: "RetentionDays", Type: database.TypeInt, Nullable: true},
					{Name: "CreatedAt", Type: database.TypeTime},
				}, ForeignKeys: []database.ForeignKey{
					{Name: "FK_ClientPolicies_Clients_ClientId", Column: "ClientId", RefTable: "Clients", RefColumn: "Id", OnDelete: "CASCADE"},
				}}),
				d.CreateIndex("IX_ClientPolicies_ClientId", "ClientPolicies", false, "ClientId"),
			}
		},
		Down: func(d database.Dialect) []string {
			return []string{d.DropTable("ClientPolicies"), d.DropTable("Clients")}
		},
		KeepsData: []string{"ClientPolicies", "Clients"},
	}, {
		Version: "0009",
		Name:    "create RateLimitCounters",
		Up: func(d database.Dialect) []string {
			return []string{
				d.CreateTable(database.Table{Name: "RateLimitCounters", Columns: []database.Column{
					{Name: "Id", Type: database.TypeIdentity, PrimaryKey: true},
					{Name: "Key", Type: database.TypeString, Size: 200},
					{Name: "WindowStart", Type: database.TypeTime},
					{Name: "Count", Type: database.TypeInt},
				}}),
				// Counting upserts on this index, so every serve replica
				// adds to the same row of a key and window.
				d.CreateIndex("UX_RateLimitCounters_Key_WindowStart", "RateLimitCounters", true, "Key", "WindowStart"),
			}
		},
		Down: func(d database.Dialect) []string {
			return []string{d.DropTable("RateLimitCounters")}
		},
	}}
}
