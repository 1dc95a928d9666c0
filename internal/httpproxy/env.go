package httpproxy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
)

// FromEnvironment returns the proxy that HTTPS_PROXY names for a
// connection to addr (host:port), or nil if there is none or NO_PROXY
// excludes addr. "localhost" and loopback addresses are never proxied.
// The lowercase variables win over the uppercase ones, and the
// environment is read on every call (net/http reads it once per process).
//
// The rules are those of net/http's ProxyFromEnvironment for an https
// request, whatever the tunnel will carry (see the package doc): a value
// without a scheme is an http:// proxy; NO_PROXY is a comma-separated list
// of "*", IP addresses, CIDR prefixes and domain names, each optionally
// with a port; "example.org" matches it and its subdomains, ".example.org"
// and "*.example.org" only its subdomains. Unlike net/http, host names are
// compared as written, without IDNA conversion.
func FromEnvironment(addr string) (*url.URL, error) {
	return ForScheme("https", addr)
}

// ForScheme is [FromEnvironment] for a request of the given URL scheme,
// as net/http picks: "http" and "ws" read HTTP_PROXY (or http_proxy),
// every other scheme HTTPS_PROXY. The ws plug uses it, so that ws:// and
// wss:// URLs go through the proxy a browser or curl would use for them.
func ForScheme(scheme, addr string) (*url.URL, error) {
	name := "HTTPS_PROXY"
	if scheme == "http" || scheme == "ws" {
		name = "HTTP_PROXY"
	}
	v := getenv(strings.ToLower(name), name)
	if v == "" {
		return nil, nil
	}
	if !useProxy(addr, getenv("no_proxy", "NO_PROXY")) {
		return nil, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u2, err2 := url.Parse("http://" + v); err2 == nil {
			return u2, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("httpproxy: invalid %s %q: %w", name, v, err)
	}
	return u, nil
}

func getenv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// useProxy reports whether a connection to addr goes through the proxy
// under noProxy, the value of NO_PROXY.
func useProxy(addr, noProxy string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	host = strings.ToLower(host)
	ip, ipErr := netip.ParseAddr(host)
	if host == "localhost" || ipErr == nil && ip.IsLoopback() {
		return false
	}
	for _, p := range strings.Split(noProxy, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "*" {
			return false
		}
		if prefix, err := netip.ParsePrefix(p); err == nil {
			if ipErr == nil && prefix.Contains(ip.Unmap()) {
				return false
			}
			continue
		}
		phost, pport, err := net.SplitHostPort(p)
		if err != nil {
			phost, pport = p, ""
		}
		if phost == "" || pport != "" && pport != port {
			continue
		}
		if pip, err := netip.ParseAddr(phost); err == nil {
			if ipErr == nil && pip.Unmap() == ip.Unmap() {
				return false
			}
			continue
		}
		if ipErr == nil {
			continue // a name never matches an address
		}
		phost = strings.TrimPrefix(phost, "*")
		if strings.HasSuffix(host, "."+strings.TrimPrefix(phost, ".")) || !strings.HasPrefix(phost, ".") && host == phost {
			return false
		}
	}
	return true
}
