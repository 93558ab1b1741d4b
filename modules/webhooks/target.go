package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// maxURLLength is the size of WebhookSubscriptions.Url.
const maxURLLength = 512

// errTargetRefused wraps every refusal of a target address.
var errTargetRefused = errors.New("webhook target refused")

// blockedPrefixes are reserved ranges that netip's Is* methods do not
// cover. They include carrier-grade NAT, benchmarking, documentation and
// NAT64, which can embed any other address.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// checkAddress refuses loopback, private, link-local (which holds the
// cloud metadata address), multicast, unspecified and reserved addresses.
func checkAddress(addr netip.Addr) error {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return fmt.Errorf("%w: %s is a loopback address", errTargetRefused, addr)
	case addr.IsPrivate():
		return fmt.Errorf("%w: %s is a private address", errTargetRefused, addr)
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is a link-local address", errTargetRefused, addr)
	case addr.IsUnspecified(), addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", errTargetRefused, addr)
	}

	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return fmt.Errorf("%w: %s is in the reserved range %s", errTargetRefused, addr, p)
		}
	}

	return nil
}

// ValidateURL checks a subscription URL when it is created: absolute
// https (or http when insecure targets are allowed), no user name or
// password, at most 512 characters, and not a literal address or host
// name that is refused anyway. The address a name resolves to is checked
// again at every send.
func ValidateURL(raw string, allowInsecure bool) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, fmt.Errorf("the URL has %d characters; the limit is %d", len(raw), maxURLLength)
	}

	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return nil, errors.New("the URL is not an absolute http(s) URL such as https://crm.example.com/hooks/dataflow")
	}

	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	case u.Scheme == "http":
		return nil, errors.New("the URL uses plain http; use https (Webhooks:AllowInsecureTargets=true allows http, for tests only)")
	default:
		return nil, fmt.Errorf("the URL scheme %q is not supported; use https", u.Scheme)
	}

	if u.User != nil {
		return nil, errors.New("the URL contains a user name or password; remove them and verify the webhook signature instead")
	}

	if u.Fragment != "" {
		return nil, errors.New("the URL has a #fragment, which is never sent; remove it")
	}

	if allowInsecure {
		return u, nil
	}

	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil, fmt.Errorf("the URL points at %s, a loopback name; use a public host name", u.Hostname())
	}

	if addr, err := netip.ParseAddr(host); err == nil {
		if err := checkAddress(addr); err != nil {
			return nil, err
		}
	}

	return u, nil
}

// newHTTPClient returns the client that sends webhooks. It ignores proxy
// settings, follows no redirects and applies the timeout. Unless insecure
// targets are allowed, its dialer checks each address after name
// resolution, so a name that resolves to a private address is rejected too.
func newHTTPClient(timeout time.Duration, allowInsecure bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowInsecure {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: cannot parse the address %q", errTargetRefused, address)
			}

			return checkAddress(ap.Addr())
		}
	}

	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}

	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// checkScheme refuses plain http at send time, for rows written before
// insecure targets were turned off or by the .NET service.
func checkScheme(u *url.URL, allowInsecure bool) error {
	if u.Scheme == "https" || (u.Scheme == "http" && allowInsecure) {
		return nil
	}

	return fmt.Errorf("%w: the scheme %q is not allowed; use https", errTargetRefused, u.Scheme)
}
