package httpproxy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	xproxy "golang.org/x/net/http/httpproxy"
)

// FromEnvironment returns the proxy that HTTPS_PROXY names for a
// connection to addr (host:port), or nil if there is none or NO_PROXY
// excludes addr. "localhost" and loopback addresses are never proxied.
// The environment is read on every call (net/http reads it once per
// process).
//
// The rules are net/http's, from golang.org/x/net/http/httpproxy, for an
// https request, whatever the tunnel will carry (see the package doc):
// the lowercase variables win over the uppercase ones; a value without a
// scheme is an http:// proxy; NO_PROXY is a comma-separated list of "*",
// IP addresses, CIDR prefixes and domain names (international names
// compared in punycode), each optionally with a port; "example.org"
// matches it and its subdomains, ".example.org" and "*.example.org" only
// its subdomains.
//
// A value that is not a URL at all is an error rather than a direct
// dial, and the error names the variable but not its value, which may
// hold a password.
func FromEnvironment(addr string) (*url.URL, error) {
	return ForScheme("https", addr)
}

// ForScheme is [FromEnvironment] for a request of the given URL scheme,
// as net/http picks: "http" and "ws" read HTTP_PROXY (or http_proxy),
// every other scheme HTTPS_PROXY. The ws plug uses it, so that ws:// and
// wss:// URLs go through the proxy a browser or curl would use for them.
//
// In a CGI program (REQUEST_METHOD is set) HTTP_PROXY may come from a
// client's "Proxy:" request header, so, as in net/http, a set HTTP_PROXY
// is then an error for "http" and "ws"; HTTPS_PROXY still applies.
func ForScheme(scheme, addr string) (*url.URL, error) {
	return forScheme(xproxy.FromEnvironment(), scheme, addr)
}

// forScheme is [ForScheme] with the environment's settings in cfg.
func forScheme(cfg *xproxy.Config, scheme, addr string) (*url.URL, error) {
	req, name, value := "https", "HTTPS_PROXY", cfg.HTTPSProxy
	if scheme == "http" || scheme == "ws" {
		req, name, value = "http", "HTTP_PROXY", cfg.HTTPProxy
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || value == "" || neverProxied(host) {
		return nil, nil
	}
	// x/net ignores a value it cannot read; refuse it instead, so that a
	// mistyped proxy setting does not turn into a direct connection.
	if !isProxyURL(value) {
		return nil, fmt.Errorf("httpproxy: %s is not a proxy URL", name)
	}
	u, err := cfg.ProxyFunc()(&url.URL{Scheme: req, Host: addr})
	if err != nil {
		return nil, fmt.Errorf("httpproxy: %w", err)
	}
	return u, nil
}

// isProxyURL reports whether x/net reads v as a proxy URL: either as it
// is or with "http://" in front.
func isProxyURL(v string) bool {
	_, err := url.Parse(v)
	_, err2 := url.Parse("http://" + v)
	return err == nil || err2 == nil
}

// neverProxied reports whether host is localhost or a loopback address,
// which are dialed directly whatever the environment says.
func neverProxied(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
