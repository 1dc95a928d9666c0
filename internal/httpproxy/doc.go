// Package httpproxy dials TCP connections through an HTTP CONNECT proxy.
//
// [Dial] opens a tunnel to a host and port through a proxy given as a URL
// ("http://user:pass@proxy.example:3128"); [FromEnvironment] says which
// proxy, if any, the environment (HTTPS_PROXY, NO_PROXY) picks for an
// address. Plugs that reach the network (net, ws, wss) use both.
//
// # Which variable applies
//
// A CONNECT tunnel carries opaque bytes, as an https request does, so
// [FromEnvironment] reads HTTPS_PROXY (or https_proxy) whatever runs inside
// the tunnel; HTTP_PROXY is not consulted ([ForScheme] reads it for ws://).
// The variables are read by golang.org/x/net/http/httpproxy, the code
// behind net/http's ProxyFromEnvironment, so upper and lower case, NO_PROXY
// and the CGI guard (HTTP_PROXY is refused when REQUEST_METHOD is set) work
// as they do for net/http. As in net/http, "localhost" and loopback
// addresses are never proxied from the environment: a test that wants a
// proxy on loopback passes its URL to [Dial] explicitly.
//
// # Proxies
//
// http:// proxies are spoken to in plain text; https:// proxies over TLS,
// verified against the system's roots with the proxy's host name. A URL
// with no scheme is refused here (the environment's "host:port" values
// are read as http:// by [FromEnvironment]). Credentials in the URL are
// sent as Proxy-Authorization Basic, and never shown: errors name the
// proxy by host and port ([ProxyError.Proxy]) or by its URL's Redacted
// form, and a proxy variable that does not parse is named, not quoted.
package httpproxy
