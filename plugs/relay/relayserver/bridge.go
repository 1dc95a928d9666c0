//go:build !js

package relayserver

import (
	"net/http"
	"net/netip"
	"net/url"

	"github.com/coder/websocket"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
)

// The relay also serves the HTTP bridge (spec/bridge.md) at its URL, for
// clients whose WebSocket a proxy breaks (spec/relay.md §11): a request
// with a bridge kind ("k" in the query) goes to the bridge, each session
// it opens carries relay messages framed by msgconn, and from there on
// it is a carrier like a WebSocket, for any job.

// isBridge reports whether r is a bridge request: it names a kind, or
// it is a CORS preflight.
func isBridge(r *http.Request) bool {
	return r.URL.Query().Has("k") || r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// serveBridge hands r to the bridge, starting the loop that takes its
// sessions at the first request.
func (s *Server) serveBridge(w http.ResponseWriter, r *http.Request) {
	s.bridgeOnce.Do(func() {
		s.mu.Lock()
		closing := s.closing
		if !closing {
			s.bridgeLoop.Add(1)
		}
		s.mu.Unlock()
		if closing {
			s.bridge.Close()
			return
		}
		go s.acceptBridge()
	})
	s.bridge.ServeHTTP(w, r)
}

// bridgeSource is the per-IP key of a bridge request: Config.SourceIP's.
func (s *Server) bridgeSource(r *http.Request) string {
	return s.cfg.SourceIP(r).String()
}

// acceptBridge takes the bridge's sessions until it is closed, and runs
// each as a carrier of the relay protocol.
func (s *Server) acceptBridge() {
	defer s.bridgeLoop.Done()
	for {
		nc, err := s.bridge.Accept()
		if err != nil {
			return
		}
		host, source, _ := ibridge.SessionInfo(nc)
		ip, _ := netip.ParseAddr(source)
		mc := msgconn.NewFramed(nc)
		if why, text := s.admit(ip); text != "" {
			s.stats.refused[why].Add(1)
			go mc.Close(websocket.StatusTryAgainLater, "relay: "+text)
			continue
		}
		s.stats.bridged.Add(1)
		mc.SetReadLimit(int64(s.cfg.MaxFrame))
		c := &conn{mc: mc, raw: nc, ip: ip}
		s.mu.Lock()
		s.early[mc] = true
		s.mu.Unlock()
		go func() {
			if s.handshake(host, c) {
				s.release(ip, mc, false)
			}
		}()
	}
}

// bridgeURL returns the URL the bridge's sessions report as local.
func bridgeURL(urls []string) string {
	for _, u := range urls {
		if v, err := url.Parse(u); err == nil {
			return v.String()
		}
	}
	return "relay"
}
