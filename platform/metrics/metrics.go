// Package metrics holds DataFlow's Prometheus metrics and serves them. The
// metric names are the ones the operators' dashboards use; labels name a
// client by its identifier, never a batch, whose ids are unbounded.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

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

	// BatchTotal counts batches that reached a final status.
	BatchTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_batch_total",
		Help: "Batches that reached a final status, by status.",
	}, []string{"status", "client"})

	// BatchDuration observes the time from a batch's first claim to its
	// final status.
	BatchDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dataflow_batch_duration_seconds",
		Help:    "Time from a batch's first claim to its final status, in seconds.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 s to about 4.5 h
	}, []string{"client"})

	// ChunkTotal counts chunks whose outcome was committed.
	ChunkTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_chunk_total",
		Help: "Chunks sent to OmniFlow whose outcome was committed.",
	}, []string{"client"})

	// ChunkErrors counts committed chunks with at least one failed record.
	ChunkErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_chunk_errors_total",
		Help: "Committed chunks in which OmniFlow failed at least one record.",
	}, []string{"client"})

	// RecordsTotal counts records by their final outcome.
	RecordsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_records_total",
		Help: "Records with a final outcome, by outcome (Imported, Error, Skipped).",
	}, []string{"outcome", "client"})

	// BatchesProcessing is the number of batches this process works on.
	BatchesProcessing = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "dataflow_batches_processing",
		Help: "Batches this worker process is processing now.",
	})

	// OmniFlowRequests counts HTTP requests to OmniFlow by status code
	// ("error" when no response came back).
	OmniFlowRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_omniflow_requests_total",
		Help: "HTTP requests sent to OmniFlow, by status code, or error when none came back.",
	}, []string{"status"})

	// OmniFlowDuration observes the latency of requests to OmniFlow.
	OmniFlowDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dataflow_omniflow_request_duration_seconds",
		Help:    "Latency of HTTP requests to OmniFlow, in seconds.",
		Buckets: prometheus.DefBuckets,
	}, []string{"status"})

	// HTTPRequests and HTTPDuration measure the API by route pattern, so
	// batch ids never become label values.
	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_http_requests_total",
		Help: "API requests, by method, route pattern and status code.",
	}, []string{"method", "route", "status"})
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dataflow_http_request_duration_seconds",
		Help:    "API request latency, by method and route pattern, in seconds.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})

	// WebhookDeliveries counts delivery attempts by result: delivered,
	// retry (failed, another attempt is scheduled), failed (no attempt
	// left), gone (410, the subscription is disabled) or refused (the
	// target address is not allowed).
	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by event type and result (delivered, retry, failed, gone, refused).",
	}, []string{"event", "result", "client"})

	// WebhookFailures counts attempts that did not get a 2xx response.
	WebhookFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_webhook_failures_total",
		Help: "Webhook delivery attempts that did not get a 2xx answer, by reason (status code, timeout, error, refused).",
	}, []string{"reason", "client"})

	// WebhookDuration observes the latency of webhook requests.
	WebhookDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "dataflow_webhook_request_duration_seconds",
		Help:    "Latency of webhook delivery requests, in seconds.",
		Buckets: prometheus.DefBuckets,
	})

	// RetentionRuns counts runs of the retention job by result (ok, error).
	RetentionRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_retention_runs_total",
		Help: "Runs of the retention cleanup, by result (ok or error).",
	}, []string{"result"})

	// RetentionBatchesDeleted counts batches deleted by the retention job
	// and by purge requests.
	RetentionBatchesDeleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataflow_retention_batches_deleted_total",
		Help: "Batches deleted with their items and files, by trigger (retention or purge).",
	}, []string{"trigger"})
)

// BatchStats are the batch counts of the database at one moment.
type BatchStats struct {
	// ByStatus counts batches per status.
	ByStatus map[string]int
	// OldestPendingAge is the wait of the oldest batch that is ready to run
	// (Pending, or Scheduled and due), zero when none is.
	OldestPendingAge time.Duration
}

// batchStatsCollector exports the batch counts of the database at scrape
// time, from the source the imports module installs.
type batchStatsCollector struct {
	mu     sync.Mutex
	source func(ctx context.Context) (BatchStats, error)
}

var (
	batchesDesc = prometheus.NewDesc("dataflow_batches",
		"Batches in the database by status, read at scrape time.", []string{"status"}, nil)
	oldestPendingDesc = prometheus.NewDesc("dataflow_oldest_pending_batch_age_seconds",
		"Wait of the oldest batch ready to run (Pending, or Scheduled and due), in seconds; 0 when none is.", nil, nil)
	batchStats = &batchStatsCollector{}
)

// SetBatchStatsSource installs the function that reads the batch counts.
// Without one, the two gauges are absent.
func SetBatchStatsSource(source func(ctx context.Context) (BatchStats, error)) {
	batchStats.mu.Lock()
	defer batchStats.mu.Unlock()

	batchStats.source = source
}

func (c *batchStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchesDesc
	ch <- oldestPendingDesc
}

// Collect reads the counts with a short deadline, so a slow database
// delays a scrape by two seconds at most. On failure the gauges are left
// out of that scrape.
func (c *batchStatsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	stats, err := source(ctx)
	if err != nil {
		return
	}

	for status, n := range stats.ByStatus {
		ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.GaugeValue, float64(n), status)
	}

	ch <- prometheus.MustNewConstMetric(oldestPendingDesc, prometheus.GaugeValue, stats.OldestPendingAge.Seconds())
}

// StatusLabel returns the label of an HTTP status code, "error" for 0.
func StatusLabel(code int) string {
	if code == 0 {
		return "error"
	}

	return strconv.Itoa(code)
}

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		DedupHits,
		RateLimited,
		BatchTotal,
		BatchDuration,
		ChunkTotal,
		ChunkErrors,
		RecordsTotal,
		BatchesProcessing,
		OmniFlowRequests,
		OmniFlowDuration,
		HTTPRequests,
		HTTPDuration,
		WebhookDeliveries,
		WebhookFailures,
		WebhookDuration,
		RetentionRuns,
		RetentionBatchesDeleted,
		batchStats,
	)
	precreateRetention()
}

// precreateRetention adds the retention series at zero, so that increase()
// counts the first failed run or deleted batch of a process.
func precreateRetention() {
	for _, result := range []string{"ok", "error"} {
		RetentionRuns.WithLabelValues(result)
	}

	for _, trigger := range []string{"retention", "purge"} {
		RetentionBatchesDeleted.WithLabelValues(trigger)
	}
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// PrecreateClients adds the batch, chunk, record, 429 and duplicate series
// of each client at zero. Prometheus computes rate() and increase() from
// the first sample it scrapes, so a series born at its first event would
// lose that event.
func PrecreateClients(identifiers []string) {
	for _, c := range identifiers {
		DedupHits.WithLabelValues(c)
		for _, reason := range []string{"rate_limited", "quota_exceeded"} {
			RateLimited.WithLabelValues(c, reason)
		}
		for _, status := range []string{"Completed", "CompletedWithErrors", "Failed", "Cancelled"} {
			BatchTotal.WithLabelValues(status, c)
		}
		ChunkTotal.WithLabelValues(c)
		ChunkErrors.WithLabelValues(c)
		for _, outcome := range []string{"Imported", "Error", "Skipped"} {
			RecordsTotal.WithLabelValues(outcome, c)
		}
	}
}
