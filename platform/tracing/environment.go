package tracing

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables that the exporter and the SDK read and that Setup
// checks first. The SDK (v1.47.0) drops a malformed header and logs its
// raw text, often a token, to stderr. A negative queue size makes it panic.
const (
	envHeaders            = "OTEL_EXPORTER_OTLP_HEADERS"
	envTracesHeaders      = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	envTimeout            = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envTracesTimeout      = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	envScheduleDelay      = "OTEL_BSP_SCHEDULE_DELAY"
	envExportTimeout      = "OTEL_BSP_EXPORT_TIMEOUT"
	envMaxQueueSize       = "OTEL_BSP_MAX_QUEUE_SIZE"
	envMaxExportBatchSize = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
	envSampler            = "OTEL_TRACES_SAMPLER"
	envSamplerArg         = "OTEL_TRACES_SAMPLER_ARG"
	envResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
)

// Sampler names of the OpenTelemetry specification, which the SDK accepts
// in any letter case.
const (
	samplerAlwaysOn                = "always_on"
	samplerAlwaysOff               = "always_off"
	samplerTraceIDRatio            = "traceidratio"
	samplerParentBasedAlwaysOn     = "parentbased_always_on"
	samplerParentBasedAlwaysOff    = "parentbased_always_off"
	samplerParentBasedTraceIDRatio = "parentbased_traceidratio"
)

var samplerNames = []string{
	samplerAlwaysOn, samplerAlwaysOff, samplerTraceIDRatio,
	samplerParentBasedAlwaysOn, samplerParentBasedAlwaysOff, samplerParentBasedTraceIDRatio,
}

// checkEnvironment returns every invalid export setting, joined, or nil.
// Each error names the variable and the expected form. Header errors leave
// out the value because it usually contains a token. The other values are
// not secret and are quoted.
func checkEnvironment() error {
	var errs []error
	for _, name := range []string{envHeaders, envTracesHeaders} {
		errs = append(errs, checkHeaders(name))
	}

	for _, name := range []string{envTimeout, envTracesTimeout} {
		errs = append(errs, checkTimeout(name))
	}

	errs = append(errs, checkBatchProcessor()...)
	errs = append(errs, checkSampler())

	return errors.Join(errs...)
}

// checkHeaders checks a header list as the exporter parses it:
// comma-separated key=value entries, each key an HTTP token and each value
// URL-encoded (Authorization=Bearer%20abc). The exporter trims the whole
// variable, each key and each decoded value.
func checkHeaders(name string) error {
	raw := strings.TrimSpace(os.Getenv(name))
	if raw == "" {
		return nil
	}

	for i, entry := range strings.Split(raw, ",") {
		key, value, found := strings.Cut(entry, "=")

		var problem string
		switch {
		case !found:
			problem = `has no "="`
		case !isHeaderName(strings.TrimSpace(key)):
			problem = "has an empty key or a key that is not a valid HTTP header name"
		default:
			if _, err := url.PathUnescape(value); err != nil {
				problem = "has a value with an invalid URL escape (write % as %25)"
			}
		}

		if problem != "" {
			return fmt.Errorf("invalid %s: entry %d %s. The value is not shown because it may contain a secret. "+
				"Write comma-separated key=value pairs with URL-encoded values, such as Authorization=Bearer%%20<token>,X-Tenant=acme",
				name, i+1, problem)
		}
	}

	return nil
}

// isHeaderName reports whether key is a non-empty HTTP token (letters,
// digits and !#$%&'*+-.^_`|~), as the exporter requires of a header name.
func isHeaderName(key string) bool {
	if key == "" {
		return false
	}

	for _, c := range key {
		isAlphanumeric := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !isAlphanumeric && !strings.ContainsRune("!#$%&'*+-.^_`|~", c) {
			return false
		}
	}

	return true
}

// checkTimeout checks an exporter timeout in milliseconds. The exporter
// trims the value, and 0 means no timeout.
func checkTimeout(name string) error {
	raw := strings.TrimSpace(os.Getenv(name))
	if raw == "" {
		return nil
	}

	if n, err := strconv.Atoi(raw); err != nil || n < 0 {
		return fmt.Errorf("invalid %s %q: it must be a whole number of milliseconds, 0 or more, such as 10000", name, raw)
	}

	return nil
}

// checkBatchProcessor checks the OTEL_BSP_* variables. The SDK (v1.47.0)
// parses them without trimming, so " 5" is invalid here too. A batch size above the
// queue size is an error only when OTEL_BSP_MAX_EXPORT_BATCH_SIZE is set,
// because the SDK lowers its default batch size to a smaller queue itself.
func checkBatchProcessor() []error {
	var errs []error
	positive := func(name, example string) (int, bool) {
		raw := os.Getenv(name)
		if raw == "" {
			return 0, false
		}

		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("invalid %s %q: it must be a whole number greater than 0, such as %s", name, raw, example))

			return 0, false
		}

		return n, true
	}

	positive(envScheduleDelay, "5000 (milliseconds)")
	positive(envExportTimeout, "30000 (milliseconds)")

	queueSize, ok := positive(envMaxQueueSize, "2048 (spans)")
	if !ok {
		queueSize = sdktrace.DefaultMaxQueueSize
	}

	batchSize, ok := positive(envMaxExportBatchSize, "512 (spans)")
	if ok && batchSize > queueSize {
		errs = append(errs, fmt.Errorf("invalid %s %q: it must not exceed the queue size %d (%s, default %d), "+
			"so lower the batch size or raise the queue size",
			envMaxExportBatchSize, os.Getenv(envMaxExportBatchSize), queueSize, envMaxQueueSize, sdktrace.DefaultMaxQueueSize))
	}

	return errs
}

// checkSampler checks OTEL_TRACES_SAMPLER and, for the ratio samplers,
// OTEL_TRACES_SAMPLER_ARG, trimmed and in any letter case as the SDK reads
// them. The SDK ignores the argument of the other samplers.
func checkSampler() error {
	sampler := strings.ToLower(strings.TrimSpace(os.Getenv(envSampler)))
	if sampler == "" {
		return nil
	}

	switch sampler {
	case samplerTraceIDRatio, samplerParentBasedTraceIDRatio:
	case samplerAlwaysOn, samplerAlwaysOff, samplerParentBasedAlwaysOn, samplerParentBasedAlwaysOff:
		return nil
	default:
		return fmt.Errorf("invalid %s %q: it must be one of %s", envSampler, os.Getenv(envSampler), strings.Join(samplerNames, ", "))
	}

	raw := strings.TrimSpace(os.Getenv(envSamplerArg))
	if raw == "" {
		return nil
	}

	// NaN passes both comparisons of the SDK's range check, so it is
	// rejected here explicitly.
	ratio, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(ratio) || ratio < 0 || ratio > 1 {
		return fmt.Errorf("invalid %s %q: the %s sampler needs a ratio from 0 to 1, such as 0.25 to keep a quarter of the traces",
			envSamplerArg, raw, sampler)
	}

	return nil
}

// warnIgnoredSamplerArg logs a warning when OTEL_TRACES_SAMPLER_ARG is set
// but the sampler takes no argument, a common way to sample everything by
// mistake.
func warnIgnoredSamplerArg(log zerolog.Logger) {
	if strings.TrimSpace(os.Getenv(envSamplerArg)) == "" {
		return
	}

	sampler := strings.ToLower(strings.TrimSpace(os.Getenv(envSampler)))
	if sampler == samplerTraceIDRatio || sampler == samplerParentBasedTraceIDRatio {
		return
	}

	if sampler == "" {
		sampler = samplerParentBasedAlwaysOn + " (the default)"
	}

	log.Warn().Str("sampler", sampler).
		Msg("tracing: " + envSamplerArg + " is ignored because the sampler takes no argument, so set " + envSampler +
			"=" + samplerParentBasedTraceIDRatio + " to sample by ratio")
}

// resourceAttributeProblems returns a description of each entry of
// OTEL_RESOURCE_ATTRIBUTES that the SDK cannot use as it is. The SDK leaves
// out entries without "=" or with an empty key, and keeps a value with an
// invalid URL escape undecoded. Descriptions name keys but never values.
func resourceAttributeProblems() []string {
	raw := strings.TrimSpace(os.Getenv(envResourceAttributes))
	if raw == "" {
		return nil
	}

	var problems []string
	for i, entry := range strings.Split(raw, ",") {
		key, value, found := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)

		switch {
		case !found:
			problems = append(problems, fmt.Sprintf(`entry %d has no "=" and was left out`, i+1))
		case key == "":
			problems = append(problems, fmt.Sprintf("entry %d has an empty key and was left out", i+1))
		default:
			if _, err := url.PathUnescape(strings.TrimSpace(value)); err != nil {
				problems = append(problems, fmt.Sprintf("the value of %q has an invalid URL escape and was kept undecoded", key))
			}
		}
	}

	return problems
}
