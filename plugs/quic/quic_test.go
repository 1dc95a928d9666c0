package quic_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/quic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newPlug returns a plug with a fresh identity on the open network unless
// cfg has one.
func newPlug(t testing.TB, cfg quic.Config) *quic.Plug {
	t.Helper()
	if cfg.Identity == nil {
		cfg.Identity = newIdentity(t, keys.OpenNetwork())
	}
	p, err := quic.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newIdentity returns a fresh identity on the network of appKey.
func newIdentity(t testing.TB, appKey []byte) *keys.Identity {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), appKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// grammar reads addresses by the rules of the quic plug.
var grammar = &address.Parser{Kinds: []address.Kind{quic.Kind()}}

func seg(t testing.TB, s string) address.Segment {
	t.Helper()
	a, err := grammar.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a.Plug()
}

// listen listens on s and closes the listener when the test ends.
func listen(t testing.TB, p *quic.Plug, s string) net.Listener {
	t.Helper()
	ln, err := p.Listen(context.Background(), seg(t, s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// advertised returns the first segment ln advertises on the device.
func advertised(t testing.TB, ln net.Listener) address.Segment {
	t.Helper()
	segs := ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)
	if len(segs) == 0 {
		t.Fatalf("listener on %v advertises nothing on the device", ln.Addr())
	}
	return segs[0]
}

// serve runs handle on every stream ln accepts, until ln closes; the
// test waits for the handlers when it ends.
func serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c) })
		}
	})
}

// echo copies what it reads back, then closes.
func echo(c net.Conn) {
	io.Copy(c, c)
	c.Close()
}

func roundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("read %q, %v; want %q", b, err, msg)
	}
}

func dial(t testing.TB, p *quic.Plug, s address.Segment) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, s)
	if err != nil {
		t.Fatalf("Dial(%s): %v", s, err)
	}
	return c
}

func dialSession(t testing.TB, p *quic.Plug, s address.Segment) *quic.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := p.DialSession(ctx, s)
	if err != nil {
		t.Fatalf("DialSession(%s): %v", s, err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess.(*quic.Conn)
}

// payload returns n random bytes followed by their SHA-256.
func payload(n int) []byte {
	b := make([]byte, n, n+sha256.Size)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// verify checks that b is data followed by its SHA-256.
func verify(b []byte) error {
	if len(b) < sha256.Size {
		return fmt.Errorf("got %d bytes, want at least a checksum", len(b))
	}
	data, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(data); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("checksum mismatch over %d bytes", len(data))
	}
	return nil
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct{ name, listen string }{
		{"ipv4", "quic:127.0.0.1:0"},
		{"ipv6", "quic:::1:0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
			ln, err := server.Listen(context.Background(), seg(t, tt.listen))
			if err != nil && tt.name == "ipv6" {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			keys := make(chan ed25519.PublicKey, 1)
			serve(t, ln, func(c net.Conn) {
				k, _ := multiserver.RemoteKey(c)
				keys <- k
				echo(c)
			})
			s := advertised(t, ln)
			if !strings.HasPrefix(s.String(), strings.TrimSuffix(tt.listen, "0")) {
				t.Errorf("advertised %s for %s", s, tt.listen)
			}
			c := dial(t, client, s)
			roundTrip(t, c, "hello over "+tt.name)
			if k, ok := multiserver.RemoteKey(c); !ok || !k.Equal(server.PublicKey()) {
				t.Errorf("client's RemoteKey = %x, %v; want the server's", k, ok)
			}
			if k := <-keys; !k.Equal(client.PublicKey()) {
				t.Errorf("server's RemoteKey = %x; want the client's", k)
			}
			if _, ok := c.LocalAddr().(*net.UDPAddr); !ok || c.RemoteAddr().String() != ln.Addr().String() {
				t.Errorf("addresses %v -> %v; want UDP, to %v", c.LocalAddr(), c.RemoteAddr(), ln.Addr())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServerSpeaksFirst checks that a stream reaches the listener's
// Accept before the dialer writes anything: the stream header does it.
func TestServerSpeaksFirst(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln, func(c net.Conn) {
		io.WriteString(c, "220 ready")
		c.Close()
	})
	c := dial(t, client, advertised(t, ln))
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "220 ready" {
		t.Fatalf("read %q, %v; want the server's greeting", b, err)
	}
}

// TestCloseDelivers writes and closes at once, from either side: what
// was written arrives in full, although closing the dialed stream
// closes its connection.
func TestCloseDelivers(t *testing.T) {
	const size = 4 << 20
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	got := make(chan error, 1)
	serve(t, ln, func(c net.Conn) {
		defer c.Close()
		b, err := io.ReadAll(c)
		if err == nil {
			err = verify(b)
		}
		got <- err
	})
	for range 3 {
		c := dial(t, client, advertised(t, ln))
		if _, err := c.Write(payload(size)); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatalf("server read: %v", err)
		}
	}

	// The other way: the server writes and closes its stream; the
	// client reads it all.
	ln2 := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln2, func(c net.Conn) {
		c.Write(payload(size))
		c.Close()
	})
	c := dial(t, client, advertised(t, ln2))
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(b); err != nil {
		t.Fatal(err)
	}
}

func TestSessionStreams(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	// The server answers each stream, and also opens one back to the
	// client on the same connection.
	serve(t, ln, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		if string(buf[:n]) == "call me back" {
			sess, ok := multiserver.SessionOf(c)
			if !ok {
				return
			}
			back, err := sess.Open(context.Background())
			if err != nil {
				return
			}
			io.WriteString(back, "calling back")
			back.Close()
		}
		c.Write(buf[:n])
	})
	sess := dialSession(t, client, advertised(t, ln))
	if !sess.RemoteKey().Equal(server.PublicKey()) {
		t.Errorf("session RemoteKey = %x; want the server's", sess.RemoteKey())
	}
	for i := range 10 {
		s, err := sess.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := multiserver.SessionOf(s); !ok || got != multiserver.Session(sess) {
			t.Fatalf("SessionOf(stream) = %v, %v; want the session", got, ok)
		}
		if k, ok := multiserver.RemoteKey(s); !ok || !k.Equal(server.PublicKey()) {
			t.Fatalf("RemoteKey(stream) = %x, %v", k, ok)
		}
		roundTrip(t, s, fmt.Sprintf("stream %d", i))
		s.Close()
	}
	s, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	io.WriteString(s, "call me back")
	back, err := sess.Accept()
	if err != nil {
		t.Fatal(err)
	}
	back.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(back); err != nil || string(b) != "calling back" {
		t.Fatalf("stream from the server: %q, %v", b, err)
	}
	back.Close()

	// After Close, the session and its streams report net.ErrClosed.
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open after Close = %v, want net.ErrClosed", err)
	}
	if _, err := sess.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on a stream of a closed session = %v, want net.ErrClosed", err)
	}
	select {
	case <-sess.Done():
	default:
		t.Error("Done is open after Close")
	}
}

// TestListenerCloseEndsConns checks that closing the listener closes its
// connections: the dialer's streams end and its session reports so.
// TestListenerCloseEndsConns checks that Close leaves a stream Accept
// returned open, and closes its connection, gracefully, once the stream
// is closed.
func TestListenerCloseEndsConns(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln, err := server.Listen(context.Background(), seg(t, "quic:127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	sess := dialSession(t, client, advertised(t, ln))
	s, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	io.WriteString(sc, "bye")
	// The client reads to the end, as a peer must for a graceful close.
	done := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(s)
		if err == nil && string(b) != "bye!" {
			err = fmt.Errorf("read %q, want bye!", b)
		}
		done <- err
	}()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(sc, "!"); err != nil {
		t.Fatalf("Write on an accepted stream after Close: %v", err)
	}
	// The GOAWAY comes on a stream of its own, soon.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s2, err := sess.Open(context.Background())
		if err == nil {
			s2.Close()
		}
		if errors.Is(err, net.ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Open after the listener closed = %v, want net.ErrClosed", err)
		}
	}
	sc.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-sess.Done()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	sh := ln.(interface{ Shutdown(context.Context) error })
	if err := sh.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after the last connection ended = %v", err)
	}
}

func TestAdvertise(t *testing.T) {
	p := newPlug(t, quic.Config{External: []string{"example.org"}})
	key := address.EncodeKey(p.PublicKey())
	ln := listen(t, p, "quic:0.0.0.0:0")
	port := ln.Addr().(*net.UDPAddr).Port
	ad := ln.(multiserver.Advertiser)
	dev := ad.Advertise(multiserver.ScopeDevice)
	want := fmt.Sprintf("quic:127.0.0.1:%d:%s", port, key)
	found := false
	for _, s := range dev {
		found = found || s.String() == want
	}
	if !found {
		t.Errorf("Advertise(device) = %v, want it to hold %s", dev, want)
	}
	pub := ad.Advertise(multiserver.ScopePublic)
	if len(pub) != 1 || pub[0].String() != fmt.Sprintf("quic:example.org:%d:%s", port, key) {
		t.Errorf("Advertise(public) = %v, want the external name", pub)
	}

	// A listen address may carry the plug's own key, and no other.
	ln2 := listen(t, p, "quic:127.0.0.1:0:"+key)
	if s := advertised(t, ln2); s.Fields[len(s.Fields)-1] != key {
		t.Errorf("advertised %s, want key %s", s, key)
	}
	other := newPlug(t, quic.Config{})
	if _, err := other.Listen(context.Background(), seg(t, "quic:127.0.0.1:0:"+key)); err == nil || !strings.Contains(err.Error(), "this plug's key") {
		t.Errorf("Listen with another key = %v, want an error", err)
	}
	// localhost is for the device only.
	ln3 := listen(t, p, "quic:localhost:0")
	if segs := ln3.(multiserver.Advertiser).Advertise(multiserver.ScopeLocal); segs != nil {
		t.Errorf("localhost listener advertises %v locally", segs)
	}
}

func TestSegment(t *testing.T) {
	k := ed25519.PublicKey(bytes.Repeat([]byte{0xfb}, 32))
	for _, tt := range []struct {
		host string
		port int
		key  ed25519.PublicKey
		want string
	}{
		{"203.0.113.5", 8008, k, "quic:203.0.113.5:8008:+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s="},
		{"::1", 1, k, "quic:::1:1:+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s="},
		{"0.0.0.0", 0, nil, "quic:0.0.0.0:0"},
	} {
		s := quic.Segment(tt.host, tt.port, tt.key)
		if s.String() != tt.want {
			t.Errorf("Segment(%q, %d) = %s, want %s", tt.host, tt.port, s, tt.want)
		}
		if _, err := grammar.ParseAddr(s.String()); err != nil {
			t.Errorf("Segment %s does not parse: %v", s, err)
		}
	}
}

func TestDialErrors(t *testing.T) {
	p := newPlug(t, quic.Config{})
	ctx := context.Background()
	if _, err := p.Dial(ctx, seg(t, "quic:127.0.0.1:1")); err == nil || !strings.Contains(err.Error(), "has no key") {
		t.Errorf("Dial without a key = %v", err)
	}
	// Nothing answers: the context ends the dial.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	s := quic.Segment("127.0.0.1", pc.LocalAddr().(*net.UDPAddr).Port, p.PublicKey())
	if _, err := p.Dial(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a silent port = %v, want the context's deadline", err)
	}
}

func TestConfig(t *testing.T) {
	id := newIdentity(t, keys.OpenNetwork())
	for _, tt := range []struct {
		name string
		cfg  quic.Config
		msg  string
	}{
		{"no identity", quic.Config{}, "Config.Identity is nil"},
		{"zero identity", quic.Config{Identity: &keys.Identity{}}, "Config.Identity is nil or empty"},
		{"negative idle", quic.Config{Identity: id, IdleTimeout: -1}, "IdleTimeout"},
		{"negative window", quic.Config{Identity: id, MaxStreamReceiveWindow: -1}, "MaxStreamReceiveWindow"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := quic.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "quic: ") {
				t.Fatalf("New = %v, want an error with %q", err, tt.msg)
			}
		})
	}
}
