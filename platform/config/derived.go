package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// LockTimeoutDuration returns the heartbeat age after which a processing slot
// counts as abandoned: ImportBatch:LockTimeout when positive, else
// ImportBatch:LockTimeoutMinutes.
func (s *Settings) LockTimeoutDuration() time.Duration {
	if s.ImportBatch.LockTimeout > 0 {
		return s.ImportBatch.LockTimeout
	}
	return floatDuration(s.ImportBatch.LockTimeoutMinutes, time.Minute)
}

// HeartbeatEvery returns how often a slot holder renews its heartbeat:
// ImportBatch:HeartbeatInterval when positive, else a third of the lock
// timeout but at least 1s, unless 1s would reach the lock timeout. An explicit
// interval is returned as configured, and Validate rejects one that is not
// below the lock timeout. The result is not positive when the lock timeout
// is not, which Validate also rejects.
func (s *Settings) HeartbeatEvery() time.Duration {
	if s.ImportBatch.HeartbeatInterval > 0 {
		return s.ImportBatch.HeartbeatInterval
	}

	lock := s.LockTimeoutDuration()
	every := max(lock/3, time.Second)
	if every >= lock {
		every = lock / 3
	}
	return every
}

// WatchdogEvery returns how often to look for abandoned slots: the smaller of
// ImportBatch:WatchdogInterval and half the lock timeout, so that a short
// lock timeout (as in tests) is noticed in time. A WatchdogInterval that is
// not positive means half the lock timeout.
func (s *Settings) WatchdogEvery() time.Duration {
	half := s.LockTimeoutDuration() / 2
	if s.ImportBatch.WatchdogInterval <= 0 {
		return half
	}
	return min(s.ImportBatch.WatchdogInterval, half)
}

// PollInterval returns ImportBatch:PollIntervalSeconds as a duration.
func (s *Settings) PollInterval() time.Duration {
	return floatDuration(s.ImportBatch.PollIntervalSeconds, time.Second)
}

// OmniFlowTimeout returns OmniFlow:TimeoutSeconds as a duration.
func (s *Settings) OmniFlowTimeout() time.Duration {
	return floatDuration(s.OmniFlow.TimeoutSeconds, time.Second)
}

// floatDuration multiplies a fractional count by a unit, saturating at the
// limits of time.Duration instead of overflowing.
func floatDuration(count float64, unit time.Duration) time.Duration {
	d := count * float64(unit)
	switch {
	case math.IsNaN(d):
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	case d <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(d)
}

// ListenAddresses converts Urls into addresses for net.Listen. Urls holds
// ASP.NET Core listen URLs separated by `;`: http://0.0.0.0:5000,
// http://*:5000 and http://+:5000 listen on all interfaces (":5000"), and
// http://localhost:8080 stays "localhost:8080". A URL without a port uses 80.
// https URLs are rejected because TLS terminates at the reverse proxy.
func (s *Settings) ListenAddresses() ([]string, error) {
	var addrs []string
	for part := range strings.SplitSeq(s.Urls, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		addr, err := listenAddress(part)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}

	if len(addrs) == 0 {
		return nil, fmt.Errorf("parsing Urls %q: no listen URL; give at least one, such as http://0.0.0.0:5000", s.Urls)
	}
	return addrs, nil
}

func listenAddress(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", fmt.Errorf("parsing listen URL %q: missing scheme; write it as http://host:port", raw)
	}
	switch strings.ToLower(scheme) {
	case "http":
	case "https":
		return "", fmt.Errorf("parsing listen URL %q: https is not supported because TLS terminates at the reverse proxy in front of dataflow; listen on http:// and let the proxy serve https", raw)
	default:
		return "", fmt.Errorf("parsing listen URL %q: unsupported scheme %q; use http://", raw, scheme)
	}

	hostPort, path, _ := strings.Cut(rest, "/")
	if path != "" {
		return "", fmt.Errorf("parsing listen URL %q: a path base is not supported; remove %q", raw, "/"+path)
	}
	if strings.ContainsAny(hostPort, "?#@") {
		return "", fmt.Errorf("parsing listen URL %q: only scheme, host and port are allowed, as in http://0.0.0.0:5000", raw)
	}

	host, port, err := splitListenHostPort(hostPort)
	if err != nil {
		return "", fmt.Errorf("parsing listen URL %q: %w", raw, err)
	}
	if isWildcardHost(host) {
		host = ""
	}
	return net.JoinHostPort(host, port), nil
}

// splitListenHostPort splits host[:port] with the port defaulting to 80. An
// IPv6 host must be in brackets, as in URLs.
func splitListenHostPort(hostPort string) (host, port string, err error) {
	switch {
	case hostPort == "":
		return "", "", fmt.Errorf("missing host; use 0.0.0.0 to listen on all interfaces")
	case strings.HasPrefix(hostPort, "[") && strings.HasSuffix(hostPort, "]"):
		host, port = strings.Trim(hostPort, "[]"), "80"
	case strings.HasPrefix(hostPort, "["), strings.Count(hostPort, ":") == 1:
		if host, port, err = net.SplitHostPort(hostPort); err != nil {
			return "", "", err
		}
	case strings.Count(hostPort, ":") == 0:
		host, port = hostPort, "80"
	default:
		return "", "", fmt.Errorf("ambiguous IPv6 address %q; put it in brackets, as in http://[::1]:5000", hostPort)
	}

	if host == "" {
		return "", "", fmt.Errorf("missing host; use 0.0.0.0 to listen on all interfaces")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", "", fmt.Errorf("invalid port %q; use a number from 0 to 65535", port)
	}
	return host, strconv.FormatUint(n, 10), nil
}

// isWildcardHost reports whether an ASP.NET listen host means all interfaces.
func isWildcardHost(host string) bool {
	switch host {
	case "*", "+", "0.0.0.0", "::", "":
		return true
	}
	return false
}

// isLocalHost reports whether a host names this machine without naming one
// of its interfaces: a wildcard, localhost or a loopback address.
func isLocalHost(host string) bool {
	if isWildcardHost(host) || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// RetentionCheckEvery returns DataRetention:CheckIntervalHours as a duration.
func (s *Settings) RetentionCheckEvery() time.Duration {
	return floatDuration(s.DataRetention.CheckIntervalHours, time.Hour)
}

// WebhookTimeout returns Webhooks:TimeoutSeconds as a duration.
func (s *Settings) WebhookTimeout() time.Duration {
	return floatDuration(s.Webhooks.TimeoutSeconds, time.Second)
}

// WebhookDisableAfter returns Webhooks:DisableAfterDays as a duration.
func (s *Settings) WebhookDisableAfter() time.Duration {
	return floatDuration(s.Webhooks.DisableAfterDays, 24*time.Hour)
}

// WebhookRetrySchedule parses Webhooks:RetrySchedule, a comma-separated list
// of durations in Go (5s, 2h) or .NET TimeSpan (00:05:00) syntax.
func (s *Settings) WebhookRetrySchedule() ([]time.Duration, error) {
	var out []time.Duration
	for part := range strings.SplitSeq(s.Webhooks.RetrySchedule, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := parseDuration(part)
		if err != nil || d <= 0 || d > 7*24*time.Hour {
			return nil, fmt.Errorf("%q is not a duration from 1s to 7 days such as 5s, 5m, 2h or 00:05:00", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the list has no duration, so a failed delivery would never be retried")
	}
	return out, nil
}
