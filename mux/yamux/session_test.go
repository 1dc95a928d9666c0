package yamux_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// TestHTTP serves net/http over a Session, with a client whose transport
// opens streams.
func TestHTTP(t *testing.T) {
	client, server := tcpSessions(t, nil)
	served := make(chan error, 1)
	go func() {
		served <- http.Serve(server, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
		}))
	}()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return client.Open(ctx) },
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := range 3 {
		resp, err := hc.Post("http://peer/echo", "text/plain", strings.NewReader(fmt.Sprint("body", i)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprint("POST /echo body", i); string(b) != want || err != nil {
			t.Fatalf("response %q, %v; want %q", b, err, want)
		}
	}
	tr.CloseIdleConnections()
	server.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		t.Errorf("http.Serve returned %v, want net.ErrClosed", err)
	}
}

func TestAcceptAfterClose(t *testing.T) {
	_, server := tcpSessions(t, nil)
	accepted := make(chan error, 1)
	go func() {
		_, err := server.Accept()
		accepted <- err
	}()
	server.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := server.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := server.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open after Close: %v, want net.ErrClosed", err)
	}
	if err := server.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenAfterRemoteClose(t *testing.T) {
	client, server := tcpSessions(t, nil)
	client.Close()
	waitDone(t, server, 5*time.Second)
	_, err := server.Open(context.Background())
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open after the peer closed: %v, want net.ErrClosed", err)
	}
	if _, err := server.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after the peer closed: %v, want net.ErrClosed", err)
	}
}

// TestCloseFlushes closes a session right after writing to a stream: the
// peer still reads everything.
func TestCloseFlushes(t *testing.T) {
	client, server := tcpSessions(t, nil)
	data := payload(1 << 20)
	got := make(chan []byte, 1)
	go func() {
		s, err := server.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, err := io.ReadAll(s)
		if err != nil {
			t.Errorf("peer read: %v", err)
		}
		got <- b
	}()
	c, err := client.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	client.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("peer read %d bytes, want %d", len(b), len(data))
	}
	waitDone(t, server, 5*time.Second)
}

// keyConn is a conn that says it has authenticated a peer.
type keyConn struct {
	net.Conn
	key ed25519.PublicKey
}

func (c keyConn) RemoteKey() ed25519.PublicKey { return c.key }

func TestRemoteKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	a, b := tcpPair(t)
	client, server := sessions(t, keyConn{a, pub}, b, nil)
	c, s := streamPair(t, client, server)
	defer c.Close()
	defer s.Close()

	if k, ok := multiserver.RemoteKey(c); !ok || !k.Equal(pub) {
		t.Errorf("RemoteKey(stream over a keyed conn) = %x, %v; want %x", k, ok, pub)
	}
	if k := client.RemoteKey(); !k.Equal(pub) {
		t.Errorf("Session.RemoteKey = %x, want %x", k, pub)
	}
	if k, ok := multiserver.RemoteKey(s); ok || k != nil {
		t.Errorf("RemoteKey(stream over a plain conn) = %x, %v; want nil, false", k, ok)
	}
	if server.RemoteKey() != nil {
		t.Errorf("Session.RemoteKey over a plain conn = %x, want nil", server.RemoteKey())
	}
	if server.NetConn() != b {
		t.Error("NetConn is not the conn given to Server")
	}
	if sess, ok := multiserver.SessionOf(c); !ok || sess != client {
		t.Errorf("SessionOf(stream) = %v, %v; want the client session", sess, ok)
	}
}

func TestSessionMemory(t *testing.T) {
	cfg := &yamux.Config{MaxSessionMemory: 4 * yamux.InitialStreamWindow}
	client, server := tcpSessions(t, cfg)
	var open []net.Conn
	for range 4 {
		c, s := streamPair(t, client, server)
		open = append(open, c, s)
	}
	if _, err := client.Open(context.Background()); !errors.Is(err, yamux.ErrSessionMemory) {
		t.Fatalf("Open beyond MaxSessionMemory: %v, want ErrSessionMemory", err)
	}
	// Once a stream is closed on both sides, its memory is back.
	open[0].Close()
	open[1].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := client.Open(context.Background())
		if err == nil {
			c.Close()
			break
		}
		if !errors.Is(err, yamux.ErrSessionMemory) || time.Now().After(deadline) {
			t.Fatalf("Open after a stream closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range open[2:] {
		c.Close()
	}
}

func TestMaxIncomingStreams(t *testing.T) {
	a, b := tcpPair(t)
	client, err := yamux.Client(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(b, &yamux.Config{MaxIncomingStreams: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	for i := range 3 {
		c, err := client.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i < 2 {
			if _, err := server.Accept(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamReset) {
			t.Errorf("Read on a stream beyond MaxIncomingStreams: %v, want ErrStreamReset", err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  yamux.Config
	}{
		{"small window", yamux.Config{MaxStreamWindow: 1000}},
		{"huge window", yamux.Config{MaxStreamWindow: 1 << 40}},
		{"small session memory", yamux.Config{MaxSessionMemory: 1000}},
		{"negative backlog", yamux.Config{AcceptBacklog: -1}},
		{"negative keepalive timeout", yamux.Config{KeepAliveTimeout: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			if s, err := yamux.Client(a, &tt.cfg); err == nil {
				s.Close()
				t.Errorf("Client(%+v) succeeded", tt.cfg)
			}
		})
	}
}

// TestMuxer runs sessions through a multiserver.Network.
func TestMuxer(t *testing.T) {
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{mem.New()},
		Transforms: []multiserver.Transform{noauth.Transform{}},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ln, err := n.Listen(ctx, "mem:muxer~noauth~yamux")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	addr := ln.Address(multiserver.ScopeDevice)
	if addr != "mem:muxer~noauth~yamux" {
		t.Fatalf("Address() = %q, want the muxer advertised", addr)
	}
	sess, err := n.DialSession(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, ok := sess.(*yamux.Session); !ok {
		t.Fatalf("DialSession gave a %T, want *yamux.Session", sess)
	}
	for i := range 3 {
		c, err := sess.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprint("stream ", i)
		io.WriteString(c, msg)
		c.(*yamux.Stream).CloseWrite()
		if b, err := io.ReadAll(c); string(b) != msg || err != nil {
			t.Errorf("echo %q, %v; want %q", b, err, msg)
		}
		c.Close()
	}
}
