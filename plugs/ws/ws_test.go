//go:build !js

package ws_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/testcert"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// grammar reads segments by the rules of the ws and wss plugs.
var grammar = &address.Parser{Kinds: []address.Kind{ws.Kind("ws"), ws.Kind("wss")}}

func seg(t testing.TB, s string) address.Segment {
	t.Helper()
	sg, err := grammar.ParseSegment(s, 0)
	if err != nil {
		t.Fatalf("ParseSegment(%q): %v", s, err)
	}
	return sg
}

// listen listens on s with p and closes the listener when the test ends.
func listen(t testing.TB, p *ws.Plug, s string) net.Listener {
	t.Helper()
	ln, err := p.Listen(context.Background(), seg(t, s))
	if err != nil {
		t.Fatalf("Listen(%q): %v", s, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func advertised(t testing.TB, ln net.Listener) address.Segment {
	t.Helper()
	segs := ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)
	if len(segs) == 0 {
		t.Fatalf("listener advertises nothing on the device")
	}
	return segs[0]
}

// pair dials ln with p and returns both ends, closed when the test ends.
func pair(t testing.TB, p *ws.Plug, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	client, err := p.Dial(context.Background(), advertised(t, ln))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("Accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestRoundTrip(t *testing.T) {
	for _, addr := range []string{"ws://127.0.0.1:0", "ws://[::1]:0/ms", "ws://localhost:0/"} {
		t.Run(addr, func(t *testing.T) {
			if strings.Contains(addr, "::1") && !nettest.SupportsIPv6() {
				t.Skip("no IPv6")
			}
			p := &ws.Plug{}
			ln := listen(t, p, addr)
			c, s := pair(t, p, ln)
			want := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: several messages
			go func() { c.Write(want); c.Close() }()
			got, err := io.ReadAll(s)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("server read %d bytes, %v; want %d bytes, nil", len(got), err, len(want))
			}
		})
	}
}

// TestRequestReply sends requests whose sizes sit on the reader's buffer
// edges (the 512-byte idle array, the 64 KiB message) and waits for each
// reply before the next: the reader must pass on what it read before it
// reads again, or a request that just fills a buffer would never be
// answered.
func TestRequestReply(t *testing.T) {
	p := &ws.Plug{}
	c, s := pair(t, p, listen(t, p, "ws://127.0.0.1:0"))
	go io.Copy(s, s) // echo
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	for _, n := range []int{1, 511, 512, 513, 1024, 64<<10 - 1, 64 << 10, 64<<10 + 1, 64<<10 + 512, 200 << 10} {
		req := bytes.Repeat([]byte{byte(n)}, n)
		if _, err := c.Write(req); err != nil {
			t.Fatalf("Write(%d bytes): %v", n, err)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, req) {
			t.Fatalf("reply to %d bytes: %v", n, err)
		}
	}
}

func TestAdvertise(t *testing.T) {
	p := &ws.Plug{External: []string{"example.org"}}
	ln := listen(t, p, "ws://127.0.0.1:0/path")
	port := ln.Addr().(*net.TCPAddr).Port
	got := ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)
	if want := "ws://127.0.0.1:" + itoa(port) + "/path"; len(got) != 1 || got[0].String() != want {
		t.Errorf("Advertise(device) = %v, want [%s]", got, want)
	}
	if got := ln.(multiserver.Advertiser).Advertise(multiserver.ScopeLocal); len(got) != 0 {
		t.Errorf("Advertise(local) of a loopback listener = %v, want none", got)
	}
	pub := ln.(multiserver.Advertiser).Advertise(multiserver.ScopePublic)
	if want := "ws://example.org:" + itoa(port) + "/path"; len(pub) != 1 || pub[0].String() != want {
		t.Errorf("Advertise(public) = %v, want [%s]", pub, want)
	}

	wild := listen(t, &ws.Plug{}, "ws://0.0.0.0:0")
	for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
		for _, s := range wild.(multiserver.Advertiser).Advertise(scope) {
			if strings.Contains(s.String(), "0.0.0.0") || strings.HasSuffix(s.String(), ":0") {
				t.Errorf("Advertise(%v) of 0.0.0.0:0 gives %s", scope, s)
			}
			if _, err := grammar.ParseSegment(s.String(), 0); err != nil {
				t.Errorf("advertised %s does not parse: %v", s, err)
			}
		}
	}
	if dev := wild.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice); !containsPrefix(dev, "ws://127.0.0.1:") {
		t.Errorf("Advertise(device) of 0.0.0.0 = %v, want 127.0.0.1 among them", dev)
	}
}

func containsPrefix(segs []address.Segment, prefix string) bool {
	for _, s := range segs {
		if strings.HasPrefix(s.String(), prefix) {
			return true
		}
	}
	return false
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func TestSegment(t *testing.T) {
	tests := []struct {
		scheme, host string
		port         int
		path, want   string
	}{
		{"ws", "127.0.0.1", 38989, "/", "ws://127.0.0.1:38989"},
		{"ws", "example.com", 80, "", "ws://example.com"},
		{"wss", "example.com", 443, "/a/b", "wss://example.com/a/b"},
		{"wss", "example.com", 80, "", "wss://example.com:80"},
		{"ws", "::1", 8989, "", "ws://[::1]:8989"},
		{"ws", "::1", 80, "/x", "ws://[::1]/x"},
	}
	for _, tt := range tests {
		s := ws.Segment(tt.scheme, tt.host, tt.port, tt.path)
		if s.String() != tt.want {
			t.Errorf("Segment(%q, %q, %d, %q) = %s, want %s", tt.scheme, tt.host, tt.port, tt.path, s, tt.want)
		}
		if back, err := grammar.ParseSegment(s.String(), 0); err != nil || !back.Equal(s) {
			t.Errorf("ParseSegment(%s) = %v, %v; want the same segment", s, back, err)
		}
	}
}

// TestConn runs the net.Conn conformance tests on ws and wss conns, on
// conns dialed through an HTTPClient of the user's, and through one whose
// transport is not an *http.Transport, which relay through a pipe.
func TestConn(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, tt := range []struct {
		name           string
		server, client *ws.Plug
		url            string
	}{
		{"ws", &ws.Plug{}, &ws.Plug{}, "ws://127.0.0.1:0"},
		{"wss", &ws.Plug{Scheme: "wss", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}},
			&ws.Plug{Scheme: "wss", TLSConfig: &tls.Config{RootCAs: pool}}, "wss://127.0.0.1:0"},
		{"HTTPClient", &ws.Plug{}, &ws.Plug{HTTPClient: &http.Client{Transport: &http.Transport{}}}, "ws://127.0.0.1:0"},
		{"RoundTripper", &ws.Plug{}, &ws.Plug{HTTPClient: &http.Client{Transport: roundTripper{&http.Transport{}}}}, "ws://127.0.0.1:0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				ln, err := tt.server.Listen(context.Background(), seg(t, tt.url))
				if err != nil {
					return nil, nil, nil, err
				}
				defer ln.Close()
				done := make(chan net.Conn)
				go func() { c, _ := ln.Accept(); done <- c }()
				c1, err = tt.client.Dial(context.Background(), advertised(t, ln))
				c2 = <-done
				if err != nil || c2 == nil {
					return nil, nil, nil, err
				}
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}

// roundTripper hides an *http.Transport from the plug.
type roundTripper struct{ t *http.Transport }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return r.t.RoundTrip(req) }

// TestHTTPClientSocket: a dial through an HTTPClient with an
// *http.Transport still knows its TCP conn (the plug dials through a
// clone of the transport), one through another RoundTripper does not.
func TestHTTPClientSocket(t *testing.T) {
	server := &ws.Plug{}
	ln := listen(t, server, "ws://127.0.0.1:0")
	for _, tt := range []struct {
		name string
		rt   http.RoundTripper
		tcp  bool
	}{
		{"http.Transport", &http.Transport{}, true},
		{"RoundTripper", roundTripper{&http.Transport{}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := pair(t, &ws.Plug{HTTPClient: &http.Client{Transport: tt.rt}}, ln)
			if _, tcp := c.LocalAddr().(*net.TCPAddr); tcp != tt.tcp {
				t.Errorf("LocalAddr() = %v (%T); want a *net.TCPAddr: %v", c.LocalAddr(), c.LocalAddr(), tt.tcp)
			}
		})
	}
}

func TestPlainHTTP(t *testing.T) {
	ln := listen(t, &ws.Plug{}, "ws://127.0.0.1:0/ms")
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for path, want := range map[string]int{"/ms": http.StatusUpgradeRequired, "/other": http.StatusNotFound} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %s, want %d", path, resp.Status, want)
		}
	}
}

func TestSharedServer(t *testing.T) {
	p := &ws.Plug{}
	probe := listen(t, p, "ws://127.0.0.1:0")
	port := itoa(probe.Addr().(*net.TCPAddr).Port)
	probe.Close()
	a := listen(t, p, "ws://127.0.0.1:"+port+"/a")
	b := listen(t, p, "ws://127.0.0.1:"+port+"/b")
	if _, err := p.Listen(context.Background(), seg(t, "ws://127.0.0.1:"+port+"/a")); err == nil {
		t.Fatal("a second Listen on the same path succeeded")
	}
	_, sb := pair(t, p, b)
	_, sa := pair(t, p, a)
	if sa == nil || sb == nil {
		t.Fatal("no conn")
	}
	a.Close()
	pair(t, p, b) // b still served after a closed
}

func TestReadLimit(t *testing.T) {
	p := &ws.Plug{ReadLimit: 1024}
	ln := listen(t, p, "ws://127.0.0.1:0")
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, advertised(t, ln).String(), nil)
	if err != nil {
		t.Fatalf("websocket.Dial: %v", err)
	}
	defer c.CloseNow()
	s := <-accepted
	defer s.Close()
	go c.Write(ctx, websocket.MessageBinary, make([]byte, 1025))
	if n, err := io.ReadAll(s); !errors.Is(err, websocket.ErrMessageTooBig) {
		t.Fatalf("reading an oversized message: %d bytes, %v; want ErrMessageTooBig", len(n), err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("the sender read %v, want close status 1009", err)
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool holding it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	c := testcert.New(t)
	return c.TLS, c.Pool
}

func TestWSS(t *testing.T) {
	cert, pool := selfSigned(t)
	if _, err := (&ws.Plug{Scheme: "wss"}).Listen(context.Background(), seg(t, "wss://127.0.0.1:0")); err == nil {
		t.Fatal("wss Listen without certificates succeeded")
	}
	server := &ws.Plug{Scheme: "wss", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	ln := listen(t, server, "wss://127.0.0.1:0")
	if s := advertised(t, ln).String(); !strings.HasPrefix(s, "wss://127.0.0.1:") {
		t.Fatalf("advertised %s, want wss://127.0.0.1:PORT", s)
	}
	c, s := pair(t, &ws.Plug{Scheme: "wss", TLSConfig: &tls.Config{RootCAs: pool}}, ln)
	go c.Write([]byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}

	unpinned := &ws.Plug{Scheme: "wss"}
	_, err := unpinned.Dial(context.Background(), advertised(t, ln))
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("unpinned Dial = %v, want a certificate verification error", err)
	}
}

func TestDialCancel(t *testing.T) {
	mute, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = (&ws.Plug{}).Dial(ctx, seg(t, "ws://"+mute.Addr().String()))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a mute server = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial returned after %v", d)
	}
}

func TestClose(t *testing.T) {
	p := &ws.Plug{}
	ln, err := p.Listen(context.Background(), seg(t, "ws://127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	target := advertised(t, ln)
	// A dial that nobody accepts: Close must release its handler.
	dialed := make(chan net.Conn, 1)
	go func() { c, _ := p.Dial(context.Background(), target); dialed <- c }()
	accepted := make(chan error, 1)
	time.Sleep(50 * time.Millisecond)
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	go func() { _, err := ln.Accept(); accepted <- err }()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if c := <-dialed; c != nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("the unaccepted conn is still open")
		}
		c.Close()
	}
	if _, err := p.Dial(context.Background(), target); err == nil {
		t.Error("Dial after Close succeeded")
	}
}

func TestNetwork(t *testing.T) {
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	shsT, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tr     multiserver.Transform
		listen string
	}{
		{"shs", shsT, "ws://127.0.0.1:0~shs"},
		{"noauth", noauth.Transform{}, "ws://127.0.0.1:0/x~noauth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&ws.Plug{}}, Transforms: []multiserver.Transform{tt.tr}})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := n.Listen(context.Background(), tt.listen)
			if err != nil {
				t.Fatalf("Listen(%q): %v", tt.listen, err)
			}
			defer ln.Close()
			addr := ln.Address(multiserver.ScopeDevice)
			if _, err := address.Parse(addr); err != nil || !strings.HasPrefix(addr, "ws://127.0.0.1:") {
				t.Fatalf("advertised %q (%v)", addr, err)
			}
			go func() {
				c, err := ln.Accept()
				if err == nil {
					io.Copy(c, c)
					c.Close()
				}
			}()
			c, err := n.Dial(context.Background(), addr)
			if err != nil {
				t.Fatalf("Dial(%q): %v", addr, err)
			}
			defer c.Close()
			want := bytes.Repeat([]byte{7}, 100000)
			go c.Write(want)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("echo: %v", err)
			}
		})
	}
}

// TestTextMessage: a text message is a protocol error, refused with
// status 1003 (unsupported data), as spec/ws.md says.
func TestTextMessage(t *testing.T) {
	ln := listen(t, &ws.Plug{}, "ws://127.0.0.1:0")
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, advertised(t, ln).String(), nil)
	if err != nil {
		t.Fatalf("websocket.Dial: %v", err)
	}
	defer c.CloseNow()
	s := <-accepted
	defer s.Close()
	// The sender reads, so that it answers the close handshake.
	closed := make(chan error, 1)
	go func() { _, _, err := c.Read(ctx); closed <- err }()
	go c.Write(ctx, websocket.MessageText, []byte("hello"))
	if n, err := io.ReadAll(s); err == nil {
		t.Fatalf("reading a text message: %d bytes, nil error; want an error", len(n))
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("the sender read %v, want close status 1003", err)
	}
}
