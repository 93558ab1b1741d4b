// Package tracing exports OpenTelemetry spans over OTLP/HTTP when the
// standard OTEL_EXPORTER_OTLP_* environment variables name a collector, and
// costs nothing when they do not.
//
// Modules start spans from the global tracer provider (otel.Tracer). Setup
// installs the SDK provider there, or a no-op provider when export is off.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/buildinfo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// Environment variables Setup reads itself. The exporter and the SDK read
// the other OTEL_* variables (headers, timeout, insecure, certificates,
// compression, sampler, OTEL_BSP_* batch settings, resource attributes),
// and Setup checks some of them first (environment.go).
const (
	envEndpoint         = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint   = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol         = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol   = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSDKDisabled      = "OTEL_SDK_DISABLED"
	envTracesExporter   = "OTEL_TRACES_EXPORTER"
	protocolGRPC        = "grpc"
	protocolHTTPDefault = "http/protobuf"
)

// ShutdownTimeout bounds the flush of the spans still queued when the
// process stops. Spans that are not sent by then are lost.
const ShutdownTimeout = 5 * time.Second

// Setup installs the global tracer provider for a process named
// serviceName ("dataflow-serve", "dataflow-work"). OTEL_SERVICE_NAME
// overrides the name. It exports nothing and installs a no-op provider
// unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set, or when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
//
// Only OTLP over HTTP is supported. OTEL_EXPORTER_OTLP_PROTOCOL=grpc logs a
// warning and the spans still go over HTTP/protobuf, because a tracing
// setting should not stop imports. When export is on, Setup returns an
// error for an endpoint that is not an http or https URL and for the
// invalid settings checkEnvironment lists. It logs invalid
// OTEL_RESOURCE_ATTRIBUTES entries once and starts anyway.
//
// Setup also routes the SDK's internal log and errors to log, so they come
// out as JSON and without the SDK's key/value details.
//
// The returned function flushes the queued spans and stops the exporter,
// waiting at most ShutdownTimeout. Call it once when the process stops.
func Setup(ctx context.Context, serviceName string, log zerolog.Logger) (func(context.Context) error, error) {
	otel.SetLogger(newSDKLogger(log, time.Now))

	endpoint, enabled, err := exportEndpoint(log)
	if err != nil {
		return nil, err
	}

	if !enabled {
		otel.SetTracerProvider(noop.NewTracerProvider())

		return func(context.Context) error { return nil }, nil
	}

	if err := checkEnvironment(); err != nil {
		return nil, err
	}

	warnUnsupportedProtocol(log)
	warnIgnoredSamplerArg(log)
	if problems := resourceAttributeProblems(); len(problems) > 0 {
		log.Warn().Strs("problems", problems).
			Msg("tracing: " + envResourceAttributes + " has invalid entries (expected comma-separated key=value pairs with URL-encoded values)")
	}

	// Installed before the resource and the provider are built, because
	// building them reports errors through this handler.
	otel.SetErrorHandler(newErrorLogger(log, time.Now))

	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(serviceName), semconv.ServiceVersion(buildinfo.Version())),
		// Added last, so that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
		resource.WithFromEnv(),
	)
	// A partial resource comes from invalid OTEL_RESOURCE_ATTRIBUTES
	// entries, which were logged above.
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("building the tracing resource: %w", err)
	}

	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP/HTTP span exporter for %s: %w", endpoint, err)
	}

	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(IDGenerator()),
	)
	otel.SetTracerProvider(provider)

	name := serviceName
	if v := strings.TrimSpace(os.Getenv("OTEL_SERVICE_NAME")); v != "" {
		name = v
	}

	log.Info().Str("endpoint", endpoint).Str("service_name", name).Msg("tracing: exporting spans over OTLP/HTTP")

	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, ShutdownTimeout)
		defer cancel()

		if err := provider.Shutdown(ctx); err != nil {
			return fmt.Errorf("flushing spans to %s: %w", endpoint, err)
		}

		return nil
	}, nil
}

// exportEndpoint returns the collector URL for the log, without user
// information or query, and whether spans are exported at all.
func exportEndpoint(log zerolog.Logger) (string, bool, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv(envSDKDisabled)), "true") {
		log.Info().Msg("tracing: off because " + envSDKDisabled + "=true")

		return "", false, nil
	}

	switch exporter := strings.ToLower(strings.TrimSpace(os.Getenv(envTracesExporter))); exporter {
	case "", "otlp":
	case "none":
		log.Info().Msg("tracing: off because " + envTracesExporter + "=none")

		return "", false, nil
	default:
		log.Warn().Str("value", exporter).
			Msg("tracing: " + envTracesExporter + " names an exporter DataFlow does not have; using otlp (set it to otlp or none)")
	}

	// The per-signal variable wins, as in the exporter.
	name := envTracesEndpoint
	raw := strings.TrimSpace(os.Getenv(envTracesEndpoint))
	if raw == "" {
		name = envEndpoint
		raw = strings.TrimSpace(os.Getenv(envEndpoint))
	}

	if raw == "" {
		log.Debug().Msg("tracing: off because " + envEndpoint + " is not set")

		return "", false, nil
	}

	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false, fmt.Errorf("invalid %s: it must be an http or https URL of an OTLP/HTTP collector, such as http://otel-collector:4318", name)
	}

	return u.Scheme + "://" + u.Host + u.Path, true, nil
}

// warnUnsupportedProtocol logs a warning when the environment requests
// OTLP over gRPC, which this build does not include. The exporter then
// sends HTTP/protobuf, which a gRPC-only port rejects.
func warnUnsupportedProtocol(log zerolog.Logger) {
	name := envTracesProtocol
	protocol := strings.TrimSpace(os.Getenv(envTracesProtocol))
	if protocol == "" {
		name = envProtocol
		protocol = strings.TrimSpace(os.Getenv(envProtocol))
	}

	if protocol == protocolGRPC {
		log.Warn().Str("variable", name).
			Msg("tracing: OTLP over gRPC is not supported, sending " + protocolHTTPDefault + " instead; set " + name +
				"=" + protocolHTTPDefault + " and point the endpoint at the collector's OTLP/HTTP port (usually 4318)")
	}
}
