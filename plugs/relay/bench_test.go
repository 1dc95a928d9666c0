//go:build !js

package relay_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// BenchmarkThroughput sends 64 KiB writes one way through a relayed
// pairing and, for comparison, over one direct WebSocket of the same
// kind (internal/wsconn), both on loopback.
func BenchmarkThroughput(b *testing.B) {
	b.Run("relayed", func(b *testing.B) {
		r := relaytest.Start(b, relayserver.Config{})
		id := relaytest.NewIdentity(b)
		reg := relaytest.Register(b, r.URL, id, "noise")
		d, a := relaytest.Pair(b, r.URL, id, reg, "noise")
		throughput(b, d, a)
	})
	b.Run("direct", func(b *testing.B) {
		accepted := make(chan net.Conn, 1)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := &wsconn.Hijacker{ResponseWriter: w}
			ws, err := websocket.Accept(h, r, nil)
			if err != nil {
				return
			}
			accepted <- wsconn.New(ws, h.Socket(), 1<<20, h.Socket().LocalAddr(), h.Socket().RemoteAddr())
		}))
		defer ts.Close()
		var sock *wsconn.Socket
		tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			sock = wsconn.NewSocket(c)
			return sock, nil
		}}
		ws, _, err := websocket.Dial(relaytest.Context(b), "ws"+strings.TrimPrefix(ts.URL, "http"), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			b.Fatal(err)
		}
		d := wsconn.New(ws, sock, 1<<20, sock.LocalAddr(), sock.RemoteAddr())
		a := <-accepted
		defer d.Close()
		defer a.Close()
		throughput(b, d, a)
	})
}

func throughput(b *testing.B, w, r net.Conn) {
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	done := make(chan struct{})
	go func() {
		io.CopyN(io.Discard, r, int64(b.N)*int64(len(buf)))
		close(done)
	}()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// BenchmarkStack sends 64 KiB writes one way over net~noise and over
// relay:…~noise (the relay in this process), through Networks: with
// both ends reaching the relay by WebSocket ("relay"), and by the HTTP
// bridge alone ("relay-sse", "relay-poll"). The bridge stacks also
// report the bridge requests the relay served per MiB written, of both
// ends together, by kind (spec/bridge.md §2): sends with bytes (the
// writer's, and the reader's that carry the relayed stream's own
// acknowledgements), sends that only acknowledge, and downstream
// requests (event streams or polls).
func BenchmarkStack(b *testing.B) {
	for _, stack := range []string{"net:127.0.0.1:0~noise", "relay", "relay-sse", "relay-poll"} {
		b.Run(strings.SplitN(stack, ":", 2)[0], func(b *testing.B) {
			addr := stack
			carrier := ""
			var reqs *bridgeRequests
			if strings.HasPrefix(addr, "relay") {
				_, carrier, _ = strings.Cut(addr, "-")
				var r *relaytest.Relay
				if carrier != "" {
					reqs = new(bridgeRequests)
					r = relaytest.StartWrapped(b, relayserver.Config{}, reqs.wrap)
				} else {
					r = relaytest.Start(b, relayserver.Config{})
				}
				addr = "relay:" + r.URL + "~noise"
			}
			srv, sp := peerNet(b, relaytest.NewIdentity(b))
			if carrier != "" {
				sp.Carriers = []string{carrier}
			}
			ln, err := srv.Listen(relaytest.Context(b), addr)
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					accepted <- c
				}
			}()
			cli, cp := peerNet(b, relaytest.NewIdentity(b))
			if carrier != "" {
				cp.Carriers = []string{carrier}
			}
			c, err := cli.Dial(relaytest.Context(b), ln.Address(multiserver.ScopeDevice))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s := <-accepted
			defer s.Close()
			if reqs != nil {
				reqs.reset()
			}
			throughput(b, c, s)
			if reqs != nil {
				reqs.report(b, float64(b.N)/16) // 64 KiB a write
			}
		})
	}
}

// bridgeRequests counts the bridge requests a relay serves, by kind.
type bridgeRequests struct {
	data, ack, down atomic.Int64
}

func (q *bridgeRequests) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("k") {
		case "send":
			if r.ContentLength == 0 {
				q.ack.Add(1)
			} else {
				q.data.Add(1)
			}
		case "sse", "poll":
			q.down.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

func (q *bridgeRequests) reset() {
	q.data.Store(0)
	q.ack.Store(0)
	q.down.Store(0)
}

func (q *bridgeRequests) report(b *testing.B, mib float64) {
	b.ReportMetric(float64(q.data.Load())/mib, "sends/MiB")
	b.ReportMetric(float64(q.ack.Load())/mib, "acks/MiB")
	b.ReportMetric(float64(q.down.Load())/mib, "downs/MiB")
}
