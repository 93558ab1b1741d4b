// Package db lists the schema migrations of every module in one place. It
// also keeps the SQL each engine runs as reviewable scripts (sqlserver.sql,
// postgres.sql and sqlite.sql), generated from the migrations. A test fails
// when they drift; regenerate them with `go test ./db -update`.
package db

import (
	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports"
	"github.com/dataflow/dataflow/modules/locking"
	"github.com/dataflow/dataflow/modules/webhooks"
	"github.com/dataflow/dataflow/platform/database"
)

// Migrations returns every module's migrations.
func Migrations() []database.Migration {
	var all []database.Migration
	all = append(all, clients.Migrations()...)
	all = append(all, imports.Migrations()...)
	all = append(all, locking.Migrations()...)
	all = append(all, webhooks.Migrations()...)

	return all
}
