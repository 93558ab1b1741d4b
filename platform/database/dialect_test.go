package database

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDialectRender(t *testing.T) {
	sql := "UPDATE {BatchLocks} SET {IsLocked} = ? WHERE {Id} = ?"
	require.Equal(t, "UPDATE [BatchLocks] SET [IsLocked] = ? WHERE [Id] = ?", Dialect{Provider: SQLServer}.Render(sql))
	require.Equal(t, `UPDATE "BatchLocks" SET "IsLocked" = ? WHERE "Id" = ?`, Dialect{Provider: Postgres}.Render(sql))
	require.Equal(t, `UPDATE "BatchLocks" SET "IsLocked" = ? WHERE "Id" = ?`, Dialect{Provider: SQLite}.Render(sql))
	require.Equal(t, "a {1x} b", Dialect{Provider: SQLite}.Render("a {1x} b"), "only identifiers are placeholders")
}

func TestDialectBulkUpdate(t *testing.T) {
	columns := []string{"Status", "LeadId"}
	types := []ColumnType{TypeInt, TypeString, TypeString}

	t.Run("sqlserver joins a values list", func(t *testing.T) {
		got := Dialect{Provider: SQLServer}.BulkUpdate("ImportItems", "BatchId", "Sequence", columns, types, 2)
		require.Equal(t, "UPDATE t SET t.[Status] = v.c1, t.[LeadId] = v.c2 FROM [ImportItems] AS t "+
			"JOIN (VALUES (?, ?, ?), (?, ?, ?)) AS v(k, c1, c2) ON t.[Sequence] = v.k WHERE t.[BatchId] = ?", got)
	})

	t.Run("postgres casts every value", func(t *testing.T) {
		got := Dialect{Provider: Postgres}.BulkUpdate("ImportItems", "BatchId", "Sequence", columns, types, 1)
		require.Equal(t, `UPDATE "ImportItems" AS t SET "Status" = v.c1, "LeadId" = v.c2 `+
			`FROM (VALUES (CAST(? AS integer), CAST(? AS text), CAST(? AS text))) AS v(k, c1, c2) `+
			`WHERE t."BatchId" = ? AND t."Sequence" = v.k`, got)
	})

	t.Run("sqlite uses column numbers", func(t *testing.T) {
		got := Dialect{Provider: SQLite}.BulkUpdate("ImportItems", "BatchId", "Sequence", columns, types, 1)
		require.Equal(t, `UPDATE "ImportItems" SET "Status" = v.column2, "LeadId" = v.column3 FROM (VALUES (?, ?, ?)) AS v `+
			`WHERE "ImportItems"."BatchId" = ? AND "ImportItems"."Sequence" = v.column1`, got)
	})

	t.Run("sqlserver stays under 2100 parameters", func(t *testing.T) {
		d := Dialect{Provider: SQLServer}
		rows := d.BulkUpdateMaxRows(4)
		sql := d.BulkUpdate("ImportItems", "BatchId", "Sequence", []string{"A", "B", "C"}, []ColumnType{TypeInt, TypeText, TypeText, TypeText}, rows)
		require.LessOrEqual(t, strings.Count(sql, "?"), 2100)
		require.Greater(t, rows, 400)
	})
}

func TestDialectDDL(t *testing.T) {
	col := Column{Name: "Flag", Type: TypeBool, Default: "true"}
	require.Equal(t, "ALTER TABLE [T] ADD [Flag] bit NOT NULL DEFAULT 1", Dialect{Provider: SQLServer}.AddColumn("T", col))
	require.Equal(t, `ALTER TABLE "T" ADD COLUMN "Flag" boolean NOT NULL DEFAULT TRUE`, Dialect{Provider: Postgres}.AddColumn("T", col))
	require.Equal(t, `ALTER TABLE "T" ADD COLUMN "Flag" INTEGER NOT NULL DEFAULT 1`, Dialect{Provider: SQLite}.AddColumn("T", col))

	require.Contains(t, Dialect{Provider: SQLServer}.DropColumn("T", "Flag"), "sys.default_constraints")
	require.Equal(t, "DROP INDEX [IX] ON [T]", Dialect{Provider: SQLServer}.DropIndex("IX", "T"))
	require.Equal(t, `DROP INDEX IF EXISTS "IX"`, Dialect{Provider: Postgres}.DropIndex("IX", "T"))
}

func TestUUIDScan(t *testing.T) {
	want, err := ParseUUID("6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
	require.NoError(t, err)

	t.Run("text", func(t *testing.T) {
		var u UUID
		require.NoError(t, u.Scan("6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"))
		require.Equal(t, want, u)
	})

	t.Run("sql server byte order", func(t *testing.T) {
		raw := []byte{0x3b, 0x2a, 0x1d, 0x6f, 0x5d, 0x4c, 0x6f, 0x4e, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b}
		var u UUID
		require.NoError(t, u.Scan(raw))
		require.Equal(t, want, u)
	})

	t.Run("invalid text", func(t *testing.T) {
		var u UUID
		require.Error(t, u.Scan("not-a-uuid"))
	})
}
