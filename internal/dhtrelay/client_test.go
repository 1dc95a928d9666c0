package dhtrelay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/interop/hstest"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.Logger == nil && testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Key == nil {
		cfg.Key = newKey(t)
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = 3 * time.Second
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends n random bytes on c while reading the echo, closes its
// write side, and checks that the echo is the same bytes and then EOF.
func echo(t testing.TB, c *Conn, n int) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the echo: %v (after %d bytes)", err, len(got))
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("echo of %d bytes: got %d bytes, checksums differ", n, len(got))
	}
}

func dial(t testing.TB, c *Client, key ed25519.PublicKey) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.Dial(ctx, key)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return conn
}

func TestDialEcho(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay})
	conn := dial(t, c, n.PublicKey)
	defer conn.Close()
	if !bytes.Equal(conn.RemoteKey(), n.PublicKey) {
		t.Fatalf("RemoteKey %x, want %x", conn.RemoteKey(), n.PublicKey)
	}
	echo(t, conn, 1<<20)
}

func TestDialRepeat(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay})
	ok := 0
	for i := 0; i < 10; i++ {
		conn := dial(t, c, n.PublicKey)
		echo(t, conn, 4<<10)
		conn.Close()
		ok++
	}
	t.Logf("%d of 10 dials echoed; %d stalled attempts were made again", ok, c.retries.Load())
}

// countingClient counts the TCP connections its Transport dials.
func countingClient(dials *atomic.Int64, wrap func(net.Conn) net.Conn) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			c, err := d.DialContext(ctx, network, addr)
			if err != nil || wrap == nil {
				return c, err
			}
			return wrap(c), nil
		},
	}}
}

func TestConcurrentDialsShareSession(t *testing.T) {
	n := sharedNet(t)
	var dials atomic.Int64
	c := newClient(t, Config{URL: n.Relay, HTTPClient: countingClient(&dials, nil)})
	// Hold the session open while the others dial.
	first := dial(t, c, n.PublicKey)
	defer first.Close()
	var wg sync.WaitGroup
	conns := make([]*Conn, 3)
	errs := make([]error, 3)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conns[i], errs[i] = c.Dial(ctx, n.PublicKey)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer conns[i].Close()
	}
	for _, conn := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); echo(t, conn, 64<<10) }()
	}
	wg.Wait()
	echo(t, first, 1<<10)
	if d := dials.Load(); d != 1 {
		t.Fatalf("%d WebSocket connections for 4 dials on one session, want 1", d)
	}
}

func TestPeerNotFound(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay})
	unknown := newKey(t).Public().(ed25519.PublicKey)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := c.Dial(ctx, unknown)
	if err == nil {
		conn.Close()
		t.Fatal("dialing an unknown key succeeded")
	}
	if !errors.Is(err, ErrPeerNotFound) {
		t.Fatalf("dialing an unknown key: %v, want ErrPeerNotFound", err)
	}
	var re *RelayError
	if !errors.As(err, &re) || re.Code != "PEER_NOT_FOUND" {
		t.Fatalf("error %v is not a RelayError with code PEER_NOT_FOUND", err)
	}
	t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
	// The session stays usable.
	conn = dial(t, c, n.PublicKey)
	echo(t, conn, 1<<10)
	conn.Close()
}

// TestRefused: a peer whose firewall refuses us fails the dial with
// ErrRefused.
func TestRefused(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.Dial(ctx, n.RefusingKey)
	if err == nil {
		conn.Close()
		t.Fatal("a peer whose firewall refuses everyone let us in")
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("dialing a refusing peer: %v, want ErrRefused", err)
	}
	t.Logf("%v", err)
}

func TestRelayUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String()
	ln.Close()
	c := newClient(t, Config{URL: url})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Dial(ctx, newKey(t).Public().(ed25519.PublicKey))
	if !errors.Is(err, ErrRelayUnreachable) {
		t.Fatalf("dial through a closed port: %v, want ErrRelayUnreachable", err)
	}
}

func TestDialContextCancel(t *testing.T) {
	n := sharedNet(t)
	c := newClient(t, Config{URL: n.Relay})
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	conn, err := c.Dial(ctx, n.PublicKey)
	if err == nil {
		conn.Close()
		t.Skip("the dial beat a 1ms context")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial with a passed context: %v, want context.DeadlineExceeded", err)
	}
}

func TestRelayKilled(t *testing.T) {
	n := hstest.StartT(t)
	c := newClient(t, Config{URL: n.Relay})
	conn := dial(t, c, n.PublicKey)
	defer conn.Close()
	echo1 := make([]byte, 1<<10)
	if _, err := conn.Write(echo1); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, echo1); err != nil {
		t.Fatal(err)
	}
	// Keep writing and reading; kill the relay in the middle.
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 16<<10)
		for {
			if _, err := conn.Write(buf); err != nil {
				werr <- err
				return
			}
		}
	}()
	time.AfterFunc(200*time.Millisecond, n.Kill)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	if err == nil || !errors.Is(err, ErrRelayGone) {
		t.Fatalf("read after the relay was killed: %v, want ErrRelayGone", err)
	}
	select {
	case err := <-werr:
		if !errors.Is(err, ErrRelayGone) {
			t.Fatalf("write after the relay was killed: %v, want ErrRelayGone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write still blocked 10s after the relay was killed")
	}
	t.Logf("read: %v", err)
}

// recorder keeps every byte that crosses a conn, each way. A write is
// recorded under the lock it is made under, so that the recording keeps
// the order of the wire when several goroutines write (the HTTP request
// and the first WebSocket frame are written by different ones).
type recorder struct {
	net.Conn
	rec *recording
}

type recording struct {
	inMu, outMu sync.Mutex
	in, out     bytes.Buffer
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.rec.inMu.Lock()
	r.rec.in.Write(p[:n])
	r.rec.inMu.Unlock()
	return n, err
}

func (r recorder) Write(p []byte) (int, error) {
	r.rec.outMu.Lock()
	defer r.rec.outMu.Unlock()
	n, err := r.Conn.Write(p)
	r.rec.out.Write(p[:n])
	return n, err
}

// unmask returns what a WebSocket client sent, b, with the HTTP request
// and the frame headers as they are and every payload unmasked (RFC 6455
// §5.3), so that the relay's view of it can be searched.
func unmask(t *testing.T, b []byte) []byte {
	t.Helper()
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatal("no HTTP request in the recording")
	}
	out := append([]byte(nil), b[:end+4]...)
	b = b[end+4:]
	for len(b) >= 2 {
		h := 2
		n := int(b[1] & 0x7f)
		switch n {
		case 126:
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if b[1]&0x80 == 0 || len(b) < h+4+n {
			t.Fatalf("recorded client frame cut or unmasked (%d bytes left)", len(b))
		}
		mask := b[h : h+4]
		out = append(out, b[:h]...)
		for i, c := range b[h+4 : h+4+n] {
			out = append(out, c^mask[i%4])
		}
		b = b[h+4+n:]
	}
	return out
}

// TestRelayLearnsNoSecret records the relay link of a dial that echoes a
// payload and checks that neither our secret key nor its seed, nor any 16
// bytes of the payload, crossed it.
func TestRelayLearnsNoSecret(t *testing.T) {
	n := sharedNet(t)
	var (
		r     recording
		dials atomic.Int64
	)
	key := newKey(t)
	c := newClient(t, Config{URL: n.Relay, Key: key, HTTPClient: countingClient(&dials, func(c net.Conn) net.Conn {
		return recorder{Conn: c, rec: &r}
	})})
	conn := dial(t, c, n.PublicKey)
	payload := make([]byte, 64<<10)
	rand.Read(payload)
	go conn.Write(payload)
	got := make([]byte, len(payload))
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	c.Close()
	if !bytes.Equal(got, payload) {
		t.Fatal("echo differs")
	}
	r.inMu.Lock()
	r.outMu.Lock()
	rec := append(unmask(t, r.out.Bytes()), r.in.Bytes()...)
	r.outMu.Unlock()
	r.inMu.Unlock()
	if len(rec) < len(payload) {
		t.Fatalf("recorded %d bytes, fewer than the payload", len(rec))
	}
	if !bytes.Contains(rec, key.Public().(ed25519.PublicKey)) {
		t.Fatal("the recording does not hold our public key: it recorded the wrong thing")
	}
	for what, secret := range map[string][]byte{"secret key": key, "seed": key.Seed()} {
		if bytes.Contains(rec, secret) {
			t.Fatalf("our %s crossed the relay link", what)
		}
	}
	windows := make(map[[16]byte]bool, len(rec))
	for i := 0; i+16 <= len(rec); i++ {
		windows[[16]byte(rec[i:i+16])] = true
	}
	for i := 0; i+16 <= len(payload); i += 16 {
		if windows[[16]byte(payload[i:i+16])] {
			t.Fatalf("payload bytes %d-%d crossed the relay link in the clear", i, i+16)
		}
	}
	t.Logf("%d bytes recorded on the relay link; no secret and no 16 bytes of the payload in them", len(rec))
}

func TestAddrs(t *testing.T) {
	n := sharedNet(t)
	key := newKey(t)
	c := newClient(t, Config{URL: n.Relay, Key: key})
	conn := dial(t, c, n.PublicKey)
	defer conn.Close()
	for what, a := range map[string]struct {
		addr net.Addr
		key  []byte
	}{"local": {conn.LocalAddr(), key.Public().(ed25519.PublicKey)}, "remote": {conn.RemoteAddr(), n.PublicKey}} {
		want := base64.StdEncoding.EncodeToString(a.key)
		if a.addr.Network() != "hyperswarm" || a.addr.String() != want {
			t.Errorf("%s address %s %s, want hyperswarm %s", what, a.addr.Network(), a.addr, want)
		}
	}
}
