package dialtrace

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptrace"
	"sync"
)

// HTTPUpgrade reports, to the hook in ctx, the TLS handshake of an HTTP
// request that upgrades its connection (a WebSocket's) as the step
// "tls", and the upgrade itself, from the moment the request has a
// connection until its answer, as the step "upgrade" on target. It
// returns the ctx to make the request with and the function to call with
// the response (nil if none) and the error. Without a hook it returns
// ctx as it is.
func HTTPUpgrade(ctx context.Context, target string) (context.Context, func(*http.Response, error)) {
	if !Enabled(ctx) {
		return ctx, func(*http.Response, error) {}
	}
	var (
		mu               sync.Mutex
		tlsDone, upgrade func(string, error)
	)
	trace := &httptrace.ClientTrace{
		TLSHandshakeStart: func() {
			mu.Lock()
			tlsDone = Start(ctx, "tls", "")
			mu.Unlock()
		},
		TLSHandshakeDone: func(s tls.ConnectionState, err error) {
			mu.Lock()
			if tlsDone != nil {
				tlsDone(tls.VersionName(s.Version), err)
				tlsDone = nil
			}
			mu.Unlock()
		},
		GotConn: func(httptrace.GotConnInfo) {
			mu.Lock()
			upgrade = Start(ctx, "upgrade", target)
			mu.Unlock()
		},
	}
	return httptrace.WithClientTrace(ctx, trace), func(resp *http.Response, err error) {
		mu.Lock()
		defer mu.Unlock()
		if upgrade == nil {
			return
		}
		status := ""
		if resp != nil {
			status = resp.Status
		}
		upgrade(status, err)
	}
}
