// Package metrics holds DataFlow's Prometheus metrics and serves them. The
// metric names are the ones the operators' dashboards use; labels name a
// client by its identifier, never a batch, whose ids are unbounded.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every DataFlow metric, plus the Go runtime and process
// collectors.
var Registry = prometheus.NewRegistry()

var (
	// DedupHits counts uploads rejected as a duplicate of an earlier batch.
	DedupHits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_dedup_hit_total",
		Help: "Uploads rejected with 409 because the client uploaded the same file recently.",
	}, []string{"client"})

	// RateLimited counts uploads rejected with 429 by the per-minute limit
	// or the daily quota.
	RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_rate_limit_429_total",
		Help: "Uploads rejected with 429, by reason (rate_limited or quota_exceeded).",
	}, []string{"client", "reason"})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		DedupHits,
		RateLimited,
	)
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}
