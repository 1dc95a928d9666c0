package relay

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// Origin returns the origin a client signs for the relay URL rawURL
// (spec/relay.md §3.2): "ws://host[:port]" or "wss://host[:port]", in
// lower case, http written ws and https wss, the default port left out.
func Origin(rawURL string) (string, error) {
	return wire.Origin(rawURL)
}

// wsURL returns rawURL with an http scheme written ws and https wss.
func wsURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("relay: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("relay: %q is not a ws, wss, http or https URL", rawURL)
	}
	return u.String(), nil
}
