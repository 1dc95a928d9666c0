//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/internal/squidtest"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// pairOver registers a listener whose client reaches the relay only by
// listen, and pairs a dialer that reaches it only by dial, and returns
// both ends of the pairing.
func pairOver(t *testing.T, u, dial, listen string) (d, a *relay.Conn) {
	t.Helper()
	ctx := relaytest.Context(t)
	id := relaytest.NewIdentity(t)
	lc := &relay.Client{URL: u, Identity: id, Carriers: []string{listen}}
	reg, err := lc.Register(ctx, []string{"noise"})
	if err != nil {
		t.Fatalf("Register over %s: %v", listen, err)
	}
	t.Cleanup(func() { reg.Close() })
	dc := &relay.Client{URL: u, Identity: relaytest.NewIdentity(t), Carriers: []string{dial}}
	type result struct {
		c   *relay.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dc.Connect(ctx, id.Public(), "noise", relaytest.RandomStream())
		done <- result{c, err}
	}()
	var in *relay.Incoming
	select {
	case in = <-reg.Incoming():
	case r := <-done:
		t.Fatalf("Connect over %s returned before INCOMING: %v", dial, r.err)
	}
	a, err = lc.Accept(ctx, in)
	if err != nil {
		t.Fatalf("Accept over %s: %v", listen, err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Connect over %s: %v", dial, r.err)
	}
	t.Cleanup(func() { r.c.Close(); a.Close() })
	if reg.Carrier() != listen || a.Carrier() != listen || r.c.Carrier() != dial {
		t.Fatalf("carriers: registration %s, accepted %s, dialed %s; want %s, %s, %s",
			reg.Carrier(), a.Carrier(), r.c.Carrier(), listen, listen, dial)
	}
	return r.c, a
}

// exchange sends n random bytes each way at once and checks that each
// side reads exactly what the other wrote.
func exchange(t *testing.T, x, y net.Conn, n int) {
	t.Helper()
	send := func(c net.Conn) ([32]byte, chan error) {
		data := make([]byte, n)
		rand.Read(data)
		errc := make(chan error, 1)
		go func() {
			// Writes of odd sizes, so that messages do not line up with
			// what the carriers cut.
			for p := data; len(p) > 0; {
				k := min(len(p), 1+int(p[0])*331)
				if _, err := c.Write(p[:k]); err != nil {
					errc <- err
					return
				}
				p = p[k:]
			}
			errc <- nil
		}()
		return sha256.Sum256(data), errc
	}
	recv := func(c net.Conn) chan [32]byte {
		ch := make(chan [32]byte, 1)
		go func() {
			h := sha256.New()
			io.Copy(h, io.LimitReader(c, int64(n)))
			var sum [32]byte
			h.Sum(sum[:0])
			ch <- sum
		}()
		return ch
	}
	sx, ex := send(x)
	sy, ey := send(y)
	gotY, gotX := recv(y), recv(x)
	for _, e := range []chan error{ex, ey} {
		if err := <-e; err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	timeout := time.After(60 * time.Second)
	for _, c := range []struct {
		got  chan [32]byte
		want [32]byte
		dir  string
	}{{gotY, sx, "to the listener"}, {gotX, sy, "to the dialer"}} {
		select {
		case s := <-c.got:
			if s != c.want {
				t.Fatalf("%d bytes %s: checksum differs", n, c.dir)
			}
		case <-timeout:
			t.Fatalf("%d bytes %s: not read within 60s", n, c.dir)
		}
	}
}

// TestBridgeCarriers pairs a dialer and a listener that reach the relay
// by different carriers, WebSocket, SSE and long-poll, moves a megabyte
// each way, checksummed, and closes one side, which the other reads as
// the end.
func TestBridgeCarriers(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	for _, tc := range [][2]string{{"ws", "sse"}, {"sse", "ws"}, {"poll", "ws"}, {"ws", "poll"}, {"sse", "poll"}} {
		t.Run(tc[0]+"-"+tc[1], func(t *testing.T) {
			d, a := pairOver(t, r.URL, tc[0], tc[1])
			exchange(t, d, a, 1<<20)
			d.Close()
			a.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := a.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("after the dialer's close the listener read %d, %v; want io.EOF", n, err)
			}
		})
	}
	if st := r.Stats(); st.Bridged == 0 || st.Paired != 5 {
		t.Errorf("Stats: %d bridge sessions, %d pairings; want some and 5", st.Bridged, st.Paired)
	}
}

// front serves a relay behind a handler that can refuse WebSocket
// upgrades and event streams, as a proxy in the path would, and counts
// what reaches it.
type front struct {
	url                     string
	upgrades, sses, polls   atomic.Int32
	refuseWS, refuseStreams atomic.Bool
}

func startFront(t *testing.T) *front {
	t.Helper()
	s, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &front{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			f.upgrades.Add(1)
			if f.refuseWS.Load() {
				http.Error(w, "no WebSocket here", http.StatusForbidden)
				return
			}
		case r.URL.Query().Get("k") == "sse":
			f.sses.Add(1)
			if f.refuseStreams.Load() {
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
		case r.URL.Query().Get("k") == "poll":
			f.polls.Add(1)
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { s.Close(); ts.Close() })
	f.url = "ws" + strings.TrimPrefix(ts.URL, "http") + "/relay"
	return f
}

// TestLadderSticky: with WebSocket refused, a listener and a dialer
// settle on SSE, and only the first call of the plug tries WebSocket;
// with event streams refused too, a fresh dial falls to long-poll.
func TestLadderSticky(t *testing.T) {
	f := startFront(t)
	f.refuseWS.Store(true)
	srv, _ := peerNet(t, relaytest.NewIdentity(t))
	ln, err := srv.Listen(relaytest.Context(t), "relay:"+f.url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	cli, plug := peerNet(t, relaytest.NewIdentity(t))

	dialEcho := func(want string) {
		t.Helper()
		c, err := cli.Dial(relaytest.Context(t), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := multiserver.Info(c).Path; !got.Relayed || got.Carrier != want {
			t.Fatalf("path %+v, want relayed over %s", got, want)
		}
		msg := make([]byte, 100<<10)
		rand.Read(msg)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo over %s: %v, or other bytes", want, err)
		}
	}
	dialEcho("sse")
	dialEcho("sse")
	// The listener's registration tried WebSocket once; the client's
	// plug tried it once, at its first dial.
	if n := f.upgrades.Load(); n != 2 {
		t.Errorf("%d WebSocket upgrades reached the relay, want 2 (one per plug)", n)
	}
	if c := (&relay.Client{URL: f.url}).Carrier(); c != "" {
		t.Errorf("the process's memory says %q for a URL only Plugs dialed, want nothing", c)
	}
	_ = plug

	f.refuseStreams.Store(true)
	before := f.upgrades.Load()
	dialEcho("poll")
	if n := f.upgrades.Load(); n != before {
		t.Errorf("a dial settled on sse tried WebSocket again (%d upgrades, %d before)", n, before)
	}
	t.Logf("%d upgrades, %d event streams, %d long-polls reached the relay", f.upgrades.Load(), f.sses.Load(), f.polls.Load())
}

// TestLadderSquid: the relay behind Debian's squid. As it ships, squid
// refuses CONNECT to ports other than 443 and drops Upgrade, so the
// WebSocket fails at once and the ladder settles on SSE; with an ACL
// that refuses text/event-stream it falls to long-poll. The bytes are
// exact either way.
func TestLadderSquid(t *testing.T) {
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"shipped", "", "sse"},
		{"no-event-stream", "acl eventstream rep_mime_type -i ^text/event-stream\nhttp_reply_access deny eventstream", "poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sq := squidtest.Start(t, squidtest.Config{Extra: tc.extra})
			r := relaytest.Start(t, relayserver.Config{})
			pick := func(scheme, addr string) (*url.URL, error) { return sq.URL, nil }
			id := relaytest.NewIdentity(t)
			lc := &relay.Client{URL: r.URL, Identity: id, Proxy: pick}
			start := time.Now()
			reg, err := lc.Register(relaytest.Context(t), []string{"noise"})
			if err != nil {
				t.Fatalf("Register through squid: %v", err)
			}
			defer reg.Close()
			t.Logf("registered through squid over %s in %v", reg.Carrier(), time.Since(start).Round(time.Millisecond))
			if reg.Carrier() != tc.want {
				t.Fatalf("the ladder settled on %s, want %s", reg.Carrier(), tc.want)
			}
			ws := &relay.Client{URL: r.URL, Identity: id, Proxy: pick, Carriers: []string{"ws"}}
			_, err = ws.Register(relaytest.Context(t), []string{"noise"})
			t.Logf("ws alone through squid: %v", err)
			if !errors.Is(err, relay.ErrUnreachable) {
				t.Fatalf("ws through squid: %v, want ErrUnreachable", err)
			}

			dc := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t), Proxy: pick}
			done := make(chan *relay.Conn, 1)
			go func() {
				c, err := dc.Connect(relaytest.Context(t), id.Public(), "noise", relaytest.RandomStream())
				if err != nil {
					t.Errorf("Connect through squid: %v", err)
				}
				done <- c
			}()
			in := <-reg.Incoming()
			a, err := lc.Accept(relaytest.Context(t), in)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			d := <-done
			if d == nil {
				t.FailNow()
			}
			defer d.Close()
			if d.Carrier() != tc.want || a.Carrier() != tc.want {
				t.Fatalf("carriers %s and %s, want %s", d.Carrier(), a.Carrier(), tc.want)
			}
			exchange(t, d, a, 256<<10)
		})
	}
}

// TestBridgeResumesAcrossRelayRestart: a relayed conn whose ends reach
// the relay by SSE and long-poll goes on exactly, checksummed, when the
// relay dies halfway through a transfer and comes back.
func TestBridgeResumesAcrossRelayRestart(t *testing.T) {
	c, ln, r, port := echoBehindRelay(t, []string{"poll"}, []string{"sse"})
	defer ln.Close()
	defer c.Close()
	if p := multiserver.Info(c).Path; p.Carrier != "sse" {
		t.Fatalf("path %+v, want sse", p)
	}

	r2 := echoAcrossRestart(t, c, r, port, 1<<20, 16<<10, 40*time.Second)
	// The stream went on through the new relay, over the bridge.
	if st := r2.Stats(); st.Paired < 1 || st.Bridged < 3 {
		t.Fatalf("the relay after the restart: %d pairings, %d bridge sessions; want the stream paired again over bridge sessions", st.Paired, st.Bridged)
	}
	if p := multiserver.Info(c).Path; p.Carrier != "sse" {
		t.Fatalf("path after the resume %+v, want sse", p)
	}
}

// TestBridgeBadInput: requests to the relay's URL that are neither a
// WebSocket nor a well-formed bridge request get a clear HTTP error, and
// a bridge session that breaks the framing or the protocol is ended and
// leaves nothing behind.
func TestBridgeBadInput(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	hu := "http" + strings.TrimPrefix(r.URL, "ws")
	for _, tc := range []struct {
		method, query string
		code          int
		says          string
	}{
		{"GET", "", http.StatusUpgradeRequired, "bridge"},
		{"GET", "?k=nonsense", http.StatusBadRequest, "parameter"},
		{"GET", "?k=sse", http.StatusBadRequest, ""},
		{"POST", "?k=open&s=AAAAAAAAAAAAAAAAAAAAAA&o=0&a=0&t=0&key=" + strings.Repeat("A", 43) + "&sig=" + strings.Repeat("A", 86), http.StatusUnauthorized, ""},
		{"PUT", "?k=send", http.StatusBadRequest, ""},
	} {
		req, _ := http.NewRequest(tc.method, hu+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s %s: %d %q, want %d saying %q", tc.method, tc.query, resp.StatusCode, body, tc.code, tc.says)
		}
	}

	bu, _ := url.Parse(hu)
	bp := &ibridge.Client{Identity: relaytest.NewIdentity(t)}
	for _, tc := range []struct {
		name string
		send func(nc net.Conn, f *msgconn.Framed) error
		want func(err error) bool
	}{
		{"unknown message type", func(nc net.Conn, f *msgconn.Framed) error {
			_, err := nc.Write([]byte{9, 0, 0, 0, 0})
			return err
		}, lost},
		{"message over max_frame", func(nc net.Conn, f *msgconn.Framed) error {
			return f.Write(context.Background(), make([]byte, 5000))
		}, closedWith(websocket.StatusMessageTooBig)},
		{"garbage frame", func(nc net.Conn, f *msgconn.Framed) error {
			return f.Write(context.Background(), []byte{0x77, 1, 2, 3})
		}, denied(relay.CodeBadFrame)},
		{"cut in a header", func(nc net.Conn, f *msgconn.Framed) error {
			_, err := nc.Write([]byte{0, 0})
			nc.Close()
			return err
		}, func(error) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := relaytest.Context(t)
			nc, err := bp.DialSession(ctx, bu, false)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			f := msgconn.NewFramed(nc)
			if _, err := f.Read(ctx); err != nil { // HELLO
				t.Fatalf("HELLO: %v", err)
			}
			if err := tc.send(nc, f); err != nil {
				t.Fatal(err)
			}
			err = readUntilEnd(ctx, f)
			if !tc.want(err) {
				t.Fatalf("the session ended with %v", err)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Unauth != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := r.Stats(); st.Unauth != 0 || st.Bridged != 4 {
		t.Fatalf("after the bad sessions: %d unauthenticated, %d bridge sessions; want 0 and 4", st.Unauth, st.Bridged)
	}
}

// readUntilEnd reads messages until the carrier ends, and returns why;
// a DENIED before the end is returned as a *relay.DeniedError.
func readUntilEnd(ctx context.Context, f *msgconn.Framed) error {
	for {
		p, err := f.Read(ctx)
		if err != nil {
			return err
		}
		if fr, err := wire.Decode(p); err == nil && fr.Type == wire.FrameDenied {
			return &relay.DeniedError{Code: relay.DenyCode(fr.Code), Text: fr.Text}
		}
	}
}

func lost(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }

func closedWith(code websocket.StatusCode) func(error) bool {
	return func(err error) bool { return websocket.CloseStatus(err) == code }
}

func denied(code relay.DenyCode) func(error) bool {
	return func(err error) bool {
		var de *relay.DeniedError
		return errors.As(err, &de) && de.Code == code
	}
}

// TestBridgeEnds: the ends of spec/relay.md §3.5 and §3.6 reach a bridge
// carrier as they reach a WebSocket: an idle pairing of a WebSocket and
// a long-poll side is closed on both with 4002, and a relay that shuts
// down sends RESTARTING on a registration over SSE.
func TestBridgeEnds(t *testing.T) {
	const timeout = 300 * time.Millisecond
	r := relaytest.Start(t, relayserver.Config{IdlePairingTimeout: timeout})
	d, a := pairOver(t, r.URL, "ws", "poll")
	ended := make(chan error, 2)
	for _, c := range []net.Conn{d, a} {
		go func() {
			_, err := io.ReadAll(c)
			ended <- err
		}()
	}
	for _, side := range []string{"ws", "poll"} {
		select {
		case err := <-ended:
			if websocket.CloseStatus(err) != 4002 {
				t.Errorf("an idle pairing's side ended with %v, want status 4002", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the idle pairing's %s side still open 10s later", side)
		}
	}

	reg, err := (&relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t), Carriers: []string{"sse"}}).Register(relaytest.Context(t), []string{"noise"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-reg.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the registration over sse outlived the relay's shutdown by 10s")
	}
	var re *relay.RestartingError
	if !errors.As(reg.Err(), &re) {
		t.Fatalf("the registration over sse ended with %v, want RESTARTING", reg.Err())
	}
}
