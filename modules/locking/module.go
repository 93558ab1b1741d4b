package locking

import (
	"strings"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/kernel"
)

// Module registers the BatchLocks schema and exposes the slot manager.
type Module struct {
	slots *Slots
}

// New returns the module.
func New() *Module { return &Module{} }

// Name returns "locking".
func (*Module) Name() string { return "locking" }

// Register adds the migrations and builds the slot manager.
func (m *Module) Register(k *kernel.Kernel) error {
	k.AddMigrations(Migrations()...)
	m.slots = NewSlots(k.DB, k.Log, k.Now)

	return nil
}

// Slots returns the slot manager; it is nil before Register.
func (m *Module) Slots() *Slots { return m.slots }

// Migrations returns the module's schema migrations.
func Migrations() []database.Migration {
	return []database.Migration{
		{
			Version: "0003",
			Name:    "create BatchLocks with slot 1",
			Up: func(d database.Dialect) []string {
				return []string{
					d.CreateTable(database.Table{Name: "BatchLocks", Columns: []database.Column{
						{Name: "Id", Type: database.TypeInt, PrimaryKey: true},
						{Name: "IsLocked", Type: database.TypeBool, Default: "false"},
						{Name: "LockOwnerBatchId", Type: database.TypeUUID, Nullable: true},
						{Name: "LockedAt", Type: database.TypeTime, Nullable: true},
					}}),
					d.Render("INSERT INTO {BatchLocks} ({Id}, {IsLocked}) SELECT 1, " + d.Bool(false) +
						" WHERE NOT EXISTS (SELECT 1 FROM {BatchLocks} WHERE {Id} = 1)"),
				}
			},
			Down: func(d database.Dialect) []string {
				return []string{d.DropTable("BatchLocks")}
			},
		},
		{
			Version: "0006",
			Name:    "add lease columns to BatchLocks",
			Up: func(d database.Dialect) []string {
				return []string{
					d.AddColumn("BatchLocks", database.Column{Name: "LeaseToken", Type: database.TypeBigInt, Default: "0"}),
					d.AddColumn("BatchLocks", database.Column{Name: "HeartbeatAt", Type: database.TypeTime, Nullable: true}),
					d.AddColumn("BatchLocks", database.Column{Name: "LockedBy", Type: database.TypeString, Size: 128, Nullable: true}),
				}
			},
			Down: func(d database.Dialect) []string {
				return []string{
					d.DropColumn("BatchLocks", "LockedBy"),
					d.DropColumn("BatchLocks", "HeartbeatAt"),
					d.DropColumn("BatchLocks", "LeaseToken"),
				}
			},
		},
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
