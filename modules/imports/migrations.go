package imports

import "github.com/dataflow/dataflow/platform/database"

// Migrations returns the module's schema migrations.
func Migrations() []database.Migration {
	return []database.Migration{
		{
			Version: "0002",
			Name:    "create ImportBatches and ImportItems",
			Up: func(d database.Dialect) []string {
				return []string{
					d.CreateTable(database.Table{Name: "ImportBatches", Columns: []database.Column{
						{Name: "Id", Type: database.TypeUUID, PrimaryKey: true},
						{Name: "ClientId", Type: database.TypeUUID},
						{Name: "Status", Type: database.TypeString, Size: 32},
						{Name: "FileType", Type: database.TypeString, Size: 16},
						{Name: "FileName", Type: database.TypeString, Size: 260},
						{Name: "FileSizeBytes", Type: database.TypeBigInt},
						{Name: "Checksum", Type: database.TypeString, Size: 64},
						{Name: "UploadPath", Type: database.TypeString, Size: 512},
						{Name: "PolicyDecision", Type: database.TypeString, Size: 16},
						{Name: "OriginDefault", Type: database.TypeString, Size: 120, Nullable: true},
						{Name: "RequestedBy", Type: database.TypeString, Size: 120, Nullable: true},
						{Name: "MetadataJson", Type: database.TypeText, Nullable: true},
						{Name: "CreatedAt", Type: database.TypeTime},
						{Name: "StartedAt", Type: database.TypeTime, Nullable: true},
						{Name: "CompletedAt", Type: database.TypeTime, Nullable: true},
						{Name: "TotalRecords", Type: database.TypeInt, Default: "0"},
						{Name: "ProcessedRecords", Type: database.TypeInt, Default: "0"},
						{Name: "ErrorSummary", Type: database.TypeText, Nullable: true},
					}, ForeignKeys: []database.ForeignKey{
						{Name: "FK_ImportBatches_Clients_ClientId", Column: "ClientId", RefTable: "Clients", RefColumn: "Id"},
					}}),
					d.CreateIndex("IX_ImportBatches_ClientId", "ImportBatches", false, "ClientId"),
					d.CreateIndex("IX_ImportBatches_Status_CreatedAt", "ImportBatches", false, "Status", "CreatedAt"),
					d.CreateTable(database.Table{Name: "ImportItems", Columns: []database.Column{
						{Name: "Id", Type: database.TypeIdentity, PrimaryKey: true},
						{Name: "BatchId", Type: database.TypeUUID},
						{Name: "Sequence", Type: database.TypeInt},
						{Name: "PayloadJson", Type: database.TypeText},
						{Name: "Status", Type: database.TypeString, Size: 16},
						{Name: "ErrorMessage", Type: database.TypeText, Nullable: true},
						{Name: "CreatedAt", Type: database.TypeTime},
					}, ForeignKeys: []database.ForeignKey{
						{Name: "FK_ImportItems_ImportBatches_BatchId", Column: "BatchId", RefTable: "ImportBatches", RefColumn: "Id", OnDelete: "CASCADE"},
					}}),
				}
			},
			Down: func(d database.Dialect) []string {
				return []string{d.DropTable("ImportItems"), d.DropTable("ImportBatches")}
			},
			KeepsData: []string{"ImportItems", "ImportBatches"},
		},
		{
			Version: "0005",
			Name:    "add resumable processing columns to ImportBatches and ImportItems",
			Up: func(d database.Dialect) []string {
				stmts := make([]string, 0, len(newBatchColumns)+3)
				for _, c := range newBatchColumns {
					stmts = append(stmts, d.AddColumn("ImportBatches", c))
				}

				return append(stmts,
					d.AddColumn("ImportItems", database.Column{Name: "LeadId", Type: database.TypeString, Size: 128, Nullable: true}),
					// Staging relies on this index to never store a record twice.
					d.CreateIndex("UX_ImportItems_BatchId_Sequence", "ImportItems", true, "BatchId", "Sequence"),
					d.CreateIndex("IX_ImportItems_BatchId_Status_Sequence", "ImportItems", false, "BatchId", "Status", "Sequence"),
				)
			},
			Down: func(d database.Dialect) []string {
				stmts := []string{
					d.DropIndex("IX_ImportItems_BatchId_Status_Sequence", "ImportItems"),
					d.DropIndex("UX_ImportItems_BatchId_Sequence", "ImportItems"),
					d.DropColumn("ImportItems", "LeadId"),
				}
				for i := len(newBatchColumns) - 1; i >= 0; i-- {
					stmts = append(stmts, d.DropColumn("ImportBatches", newBatchColumns[i].Name))
				}

				return stmts
			},
		},
		{
			Version: "0007",
			Name:    "add reading options to ImportBatches and source lines to ImportItems",
			Up: func(d database.Dialect) []string {
				return []string{
					d.AddColumn("ImportBatches", database.Column{Name: "ImportOptionsJson", Type: database.TypeText, Nullable: true}),
					d.AddColumn("ImportItems", database.Column{Name: "SourceLine", Type: database.TypeInt, Nullable: true}),
				}
			},
			Down: func(d database.Dialect) []string {
				return []string{d.DropColumn("ImportItems", "SourceLine"), d.DropColumn("ImportBatches", "ImportOptionsJson")}
			},
		},
		{
			Version: "0008",
			Name:    "add batch control columns and client indexes to ImportBatches",
			Up: func(d database.Dialect) []string {
				return []string{
					d.AddColumn("ImportBatches", database.Column{Name: "ParentBatchId", Type: database.TypeUUID, Nullable: true}),
					d.AddColumn("ImportBatches", database.Column{Name: "CancelRequestedAt", Type: database.TypeTime, Nullable: true}),
					// Duplicate uploads are found by client and checksum.
					d.CreateIndex("IX_ImportBatches_ClientId_Checksum", "ImportBatches", false, "ClientId", "Checksum"),
					// The batch list pages through a client's batches by creation time.
					d.CreateIndex("IX_ImportBatches_ClientId_CreatedAt", "ImportBatches", false, "ClientId", "CreatedAt"),
				}
			},
			Down: func(d database.Dialect) []string {
				return []string{
					d.DropIndex("IX_ImportBatches_ClientId_CreatedAt", "ImportBatches"),
					d.DropIndex("IX_ImportBatches_ClientId_Checksum", "ImportBatches"),
					d.DropColumn("ImportBatches", "CancelRequestedAt"),
					d.DropColumn("ImportBatches", "ParentBatchId"),
				}
			},
		},
	}
}

var newBatchColumns = []database.Column{
	{Name: "ScheduledFor", Type: database.TypeTime, Nullable: true},
	{Name: "PolicyReason", Type: database.TypeString, Size: 200, Nullable: true},
	{Name: "FailedRecords", Type: database.TypeInt, Default: "0"},
	{Name: "SkippedRecords", Type: database.TypeInt, Default: "0"},
	{Name: "ChunkSize", Type: database.TypeInt, Nullable: true},
	{Name: "StagedRecords", Type: database.TypeInt, Default: "0"},
	{Name: "StagedAt", Type: database.TypeTime, Nullable: true},
	{Name: "AttemptCount", Type: database.TypeInt, Default: "0"},
	{Name: "PauseCount", Type: database.TypeInt, Default: "0"},
	{Name: "NextAttemptAt", Type: database.TypeTime, Nullable: true},
	{Name: "WorkerId", Type: database.TypeString, Size: 128, Nullable: true},
	{Name: "HeartbeatAt", Type: database.TypeTime, Nullable: true},
	{Name: "LeaseToken", Type: database.TypeBigInt, Default: "0"},
	{Name: "TraceId", Type: database.TypeString, Size: 64, Nullable: true},
}
