//go:build js

package bridge

import "net/http"

// httpClient returns the client a conn makes its requests with: in the
// browser, net/http's fetch transport, whose proxies and TLS are the
// browser's.
func (p *Client) httpClient() (doer, func()) {
	if p.HTTPClient != nil {
		return p.HTTPClient, func() {}
	}
	return http.DefaultClient, func() {}
}
