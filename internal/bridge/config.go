package bridge

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
)

// Defaults of the client's and the server's settings.
const (
	DefaultWindow         = 1 << 20
	DefaultMaxBody        = 1 << 20
	DefaultMaxSessions    = 1024
	DefaultMaxPerSource   = 32
	DefaultSessionTimeout = 30 * time.Second
	DefaultPollHold       = 25 * time.Second
	DefaultSSEBytes       = 1 << 20
	DefaultSSETime        = 2 * time.Minute
	DefaultHeartbeat      = 15 * time.Second
)

// Client opens bridge sessions (spec/bridge.md §2) and returns them as
// byte streams. Set its fields before first use; a Client must not be
// copied after it.
type Client struct {
	// Identity signs the requests. Required.
	Identity *keys.Identity
	// TLSConfig configures https; nil uses the system roots. Ignored
	// when HTTPClient is set.
	TLSConfig *tls.Config
	// Proxy returns the HTTP proxy to reach addr (host:port) through for
	// a URL of scheme "http" or "https", or nil for none. If nil, the
	// environment decides as net/http does. Ignored when HTTPClient is
	// set.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient makes the requests, if set. If nil, the sessions the
	// Client opens share one transport, made at the first dial with
	// TLSConfig and Proxy, which keeps a few idle connections per server
	// and closes them when the last of those sessions closes.
	HTTPClient *http.Client
	// Window is the most bytes a session buffers each way, sent and not
	// acknowledged. If zero, DefaultWindow.
	Window int
	// SessionTimeout is how long a session retries before it fails. If
	// zero, DefaultSessionTimeout.
	SessionTimeout time.Duration
	// Logger gets debug records of retries. If nil, nothing is logged.
	Logger *slog.Logger

	firstBackoff time.Duration // the first wait before a retry; if zero, 250ms (tests shorten it)

	mu          sync.Mutex
	client      *http.Client // the sessions' transport, unless HTTPClient
	clientConns int          // the sessions that use client
}

func (p *Client) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// URLAddr is the address of a bridge conn's server: its URL.
type URLAddr string

// Network returns "bridge".
func (a URLAddr) Network() string { return "bridge" }
func (a URLAddr) String() string  { return string(a) }
