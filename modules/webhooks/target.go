package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// maxURLLength is the size of WebhookSubscriptions.Url.
const maxURLLength = 512

// errTargetRefused wraps every refusal of a target address.
var errTargetRefused = errors.New("webhook target refused")

// blockedPrefixes are reserved ranges that netip's Is* methods do not
// cover. They include carrier-grade NAT, benchmarking, documentation,
// deprecated relay and site-local ranges, and the IPv6 forms that can embed
// an IPv4 address (IPv4-compatible, NAT64, 6to4, Teredo).
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
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("fec0::/10"),
}

// checkAddress rejects loopback, private, link-local (which contains the
// cloud metadata address), multicast, unspecified and reserved addresses.
func checkAddress(addr netip.Addr) error {
	if en, _ := addressReason(addr); en != "" {
		return fmt.Errorf("%w: %s", errTargetRefused, en)
	}

	return nil
}

// addressReason returns why addr may not be reached, in English and
// Brazilian Portuguese, or empty strings when it may.
func addressReason(addr netip.Addr) (en, pt string) {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return addr.String() + " is a loopback address", addr.String() + " é um endereço de loopback"
	case addr.IsPrivate():
		return addr.String() + " is a private address", addr.String() + " é um endereço privado"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return addr.String() + " is a link-local address", addr.String() + " é um endereço link-local"
	case addr.IsUnspecified(), addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return addr.String() + " is not a unicast address", addr.String() + " não é um endereço unicast"
	}

	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return fmt.Sprintf("%s is in the reserved range %s", addr, p), fmt.Sprintf("%s está na faixa reservada %s", addr, p)
		}
	}

	return "", ""
}

// URLProblem is the reason a subscription URL is rejected, in English
// and Brazilian Portuguese.
type URLProblem struct {
	EN, PT string
}

// Error returns the English text.
func (p *URLProblem) Error() string { return p.EN }

func urlProblem(en, pt string, args ...any) *URLProblem {
	return &URLProblem{EN: fmt.Sprintf(en, args...), PT: fmt.Sprintf(pt, args...)}
}

// ValidateURL checks a subscription URL when it is created and returns
// it in canonical form: lower-case scheme and host, without the default
// port. It accepts absolute https (or http when insecure targets are
// allowed) URLs of at most 512 characters, with no user name or password,
// whose host is not a name or literal address that is rejected anyway.
// The address a name resolves to is checked again at every send. Errors
// are *URLProblem.
func ValidateURL(raw string, allowInsecure bool) (string, error) {
	if len(raw) > maxURLLength {
		return "", urlProblem("the URL has %d characters, over the limit of %d", "a URL tem %d caracteres, acima do limite de %d", len(raw), maxURLLength)
	}

	if strings.TrimSpace(raw) != raw {
		return "", urlProblem("the URL starts or ends with spaces; remove them", "a URL começa ou termina com espaços; remova-os")
	}

	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return "", urlProblem("the URL is not an absolute https URL such as https://crm.example.com/hooks/dataflow",
			"a URL não é uma URL https absoluta como https://crm.example.com/hooks/dataflow")
	}

	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowInsecure:
	case u.Scheme == "http":
		return "", urlProblem("the URL uses plain http; use https (Webhooks:AllowInsecureTargets=true allows http, for tests only)",
			"a URL usa http simples; use https (Webhooks:AllowInsecureTargets=true permite http, só para testes)")
	default:
		return "", urlProblem("the URL scheme %q is not supported; use https", "o esquema %q da URL não é suportado; use https", u.Scheme)
	}

	if u.User != nil {
		return "", urlProblem("the URL contains a user name or password; remove them and verify the webhook signature instead",
			"a URL contém usuário ou senha; remova-os e verifique a assinatura do webhook no lugar deles")
	}

	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return "", urlProblem("the URL has a #fragment, which is never sent; remove it", "a URL tem um #fragmento, que nunca é enviado; remova-o")
	}

	host, port := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
	if host == "" {
		return "", urlProblem("the URL has no host name", "a URL não tem nome de host")
	}

	for _, r := range host {
		if r > unicode.MaxASCII {
			return "", urlProblem("the URL host %q has non-ASCII characters; write an international name in its xn-- (punycode) form",
				"o host %q da URL tem caracteres fora do ASCII; escreva um nome internacional na forma xn-- (punycode)", host)
		}
	}

	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", urlProblem("the URL port %q is not a number from 1 to 65535", "a porta %q da URL não é um número de 1 a 65535", port)
		}

		if (u.Scheme == "https" && n == 443) || (u.Scheme == "http" && n == 80) {
			port = ""
		}
	}

	if strings.Contains(host, "%") {
		return "", urlProblem("the URL host has an IPv6 zone; use a host name", "o host da URL tem uma zona IPv6; use um nome de host")
	}

	u.ForceQuery = false
	u.Host = host
	if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	}
	if port != "" {
		u.Host += ":" + port
	}

	if !allowInsecure {
		if err := checkHost(host); err != nil {
			return "", err
		}
	}

	return u.String(), nil
}

// checkHost rejects loopback names and literal addresses that may not be
// reached, including IPv4 written as one number or in hex or octal parts,
// which some resolvers accept.
func checkHost(host string) error {
	name := strings.TrimSuffix(host, ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return urlProblem("the URL points at %s, a loopback name; use a public host name",
			"a URL aponta para %s, um nome de loopback; use um nome de host público", host)
	}

	if addr, err := netip.ParseAddr(name); err == nil {
		if en, pt := addressReason(addr); en != "" {
			return &URLProblem{
				EN: "the URL host is not allowed: " + en + "; use a public address or host name",
				PT: "o host da URL não é permitido: " + pt + "; use um endereço ou nome de host público",
			}
		}

		return nil
	}

	labels := strings.Split(name, ".")
	last := labels[len(labels)-1]
	if last != "" && (strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x")) {
		return urlProblem("the URL host %s looks like an IP address in a non-standard form; write the address as four decimal numbers, such as 203.0.113.7, or use a host name",
			"o host %s da URL parece um endereço IP em forma não padrão; escreva o endereço como quatro números decimais, como 203.0.113.7, ou use um nome de host", host)
	}

	return nil
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
