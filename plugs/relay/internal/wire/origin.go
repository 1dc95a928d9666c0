package wire

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Origin returns the origin a client signs for the relay URL rawURL
// (spec/relay.md §3.2): "ws://host[:port]" or "wss://host[:port]", in
// lower case, http written ws and https wss, the default port left out.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("relay: %w", err)
	}
	scheme := map[string]string{"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}[strings.ToLower(u.Scheme)]
	if scheme == "" || u.Host == "" {
		return "", fmt.Errorf("relay: %q is not a ws, wss, http or https URL with a host", rawURL)
	}
	return HostOrigin(scheme, u.Host), nil
}

// HostOrigin normalises scheme ("ws" or "wss") and host[:port], as a
// Host header or a URL gives it, into an origin.
func HostOrigin(scheme, hostport string) string {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "ws" && port == "80" || scheme == "wss" && port == "443" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}
