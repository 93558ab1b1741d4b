// Command dataflow imports lead files for the OmniFlow CRM: `serve` runs the
// HTTP API, `work` the background worker; see `dataflow --help`.
package main

import (
	_ "embed"
	"os"
	// Scheduling:TimeZone must load in containers without zone files.
	_ "time/tzdata"

	"github.com/dataflow/dataflow/cmd"
)

var (
	// sampleLeads is the file `dataflow demo` uploads: 1,000 fake leads.
	//
	//go:embed testdata/leads-sample.json
	sampleLeads []byte

	// openAPI describes the HTTP API; `serve` publishes it at /openapi.json.
	//
	//go:embed docs/api/openapi.json
	openAPI []byte
)

func main() {
	os.Exit(cmd.Execute(cmd.Assets{SampleLeads: sampleLeads, OpenAPI: openAPI}))
}
