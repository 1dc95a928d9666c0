// Package transformtest is the handshake conformance suite that every
// secure transform (shs, noise) runs from its tests: [Run] checks what a
// handshake must do whatever its wire format, the way package frametest
// checks the framed conns that follow it.
//
// A transform describes itself with a [Transform]: its handshake
// functions over a raw net.Conn, the size of the client's first message,
// and the sentinel errors its server returns for each kind of bad peer.
// Tests of what only one transform has (vectors, Authorize, tampering
// with one byte of its format, the client's side of a bad reply) stay in
// its package.
//
// # Cases
//
//   - Success over net.Pipe and TCP: both sides learn the other's key
//     ([multiserver.RemoteKey]) and data flows both ways; and the same
//     through a Network, over the transform's [multiserver.Transform].
//   - A nil or zero identity: New, Client and Server refuse it.
//   - Wrong server key: the server refuses the client's proof
//     ([Transform.WrongServerKey]) and hangs up, and the client sees the
//     hang-up; through a Network, the error matches
//     [multiserver.ErrHandshake].
//   - Wrong app key: the server refuses the first message
//     ([Transform.WrongAppKey]); the client sees the hang-up.
//   - Garbage as first message, at once; a truncated first message then a
//     hang-up: io.EOF or io.ErrUnexpectedEOF.
//   - A silent peer: the server gives up after its first-message timeout;
//     a peer that sends a byte at a time: at the context's deadline.
//   - Replay: a client's whole side of an earlier handshake fails
//     ([Transform.Replay]), since the server's fresh ephemeral key changes
//     every later key; its first message alone gets no conn.
//   - Cancel: a context canceled before or during a blocked handshake
//     ends it promptly, on either side.
//
// Every case checks that it leaves no goroutine behind.
//
// The quic plug does not run the suite: it is a plug, not a transform.
// Its handshake is TLS inside quic-go, over UDP, with no net.Conn, first
// message or first-message timeout of ours to test; plugs/quic tests its
// own refusals (wrong key, wrong app key, garbage datagrams).
package transformtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/frametest"
	"github.com/f7d52a8e/multiserver/keys"
)

// Transform is what [Run] needs from a secure transform's package.
type Transform struct {
	// Name is the transform's name and address segment: "shs", "noise".
	Name string
	// New returns the transform's [multiserver.Transform] for id. It must
	// refuse a nil id.
	New func(id *keys.Identity) (multiserver.Transform, error)
	// Client runs the client side of the handshake on c as id, expecting
	// the server to prove server. On error it returns a nil conn and
	// leaves c open.
	Client func(ctx context.Context, c net.Conn, id *keys.Identity, server ed25519.PublicKey) (net.Conn, error)
	// Server runs the server side on c as id, with firstMessage as its
	// first-message timeout (0: the default). On error it returns a nil
	// conn and leaves c open.
	Server func(ctx context.Context, c net.Conn, id *keys.Identity, firstMessage time.Duration) (net.Conn, error)
	// FirstMessageSize is the size on the wire of the client's first
	// message, framing included.
	FirstMessageSize int
	// DefaultFirstMessageTimeout is the server's first-message timeout
	// when Server is given 0.
	DefaultFirstMessageTimeout time.Duration
	// WrongServerKey is what the server's error matches when the client
	// expects another server key.
	WrongServerKey error
	// WrongAppKey is what the server's error matches when the client is
	// on another network; the server must see it in the first message.
	WrongAppKey error
	// Garbage is what the server's error matches when the first message
	// is random bytes.
	Garbage error
	// Replay is what the server's error matches when a client's whole
	// side of an earlier handshake is replayed to it.
	Replay error
}

// AppKey is the app key of the suite's identities; OtherAppKey is
// another network's.
var (
	AppKey      = bytes.Repeat([]byte{0xa5}, keys.AppKeySize)
	OtherAppKey = bytes.Repeat([]byte{0x5a}, keys.AppKeySize)
)

// Identity returns the identity with a seed of 32 bytes b on appKey.
func Identity(b byte, appKey []byte) *keys.Identity {
	id, err := keys.NewIdentity(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize)), appKey)
	if err != nil {
		panic(err)
	}
	return id
}

// The suite's parties: the client, the server, and a key nobody serves.
var (
	client = Identity(1, AppKey)
	server = Identity(2, AppKey)
	other  = Identity(3, AppKey)
)

// Run runs the suite on tr, each case in its own subtest that checks for
// leaked goroutines.
func Run(t *testing.T, tr Transform) {
	s := suite{tr}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Success", s.success},
		{"ThroughNetwork", s.throughNetwork},
		{"NilIdentity", s.nilIdentity},
		{"WrongServerKey", s.wrongServerKey},
		{"WrongServerKeyThroughNetwork", s.wrongServerKeyThroughNetwork},
		{"WrongAppKey", s.wrongAppKey},
		{"Garbage", s.garbage},
		{"Truncated", s.truncated},
		{"SilentPeer", s.silentPeer},
		{"FirstMessageTimeoutDefault", s.firstMessageDefault},
		{"FirstMessageTimeoutCleared", s.firstMessageCleared},
		{"SlowPeerDeadline", s.slowPeerDeadline},
		{"Replay", s.replay},
		{"Cancel", s.cancel},
	} {
		t.Run(c.name, func(t *testing.T) {
			frametest.NoLeak(t)
			c.fn(t)
		})
	}
}

type suite struct{ tr Transform }

// result is what one side's handshake returned.
type result struct {
	conn net.Conn
	err  error
}

// handshake runs Client on c and Server on s at once, within 10s. Like a
// real caller, each side closes its raw conn when its handshake fails, so
// that the peer sees the hang-up; conns that succeed are closed when t
// ends.
func (s suite) handshake(t *testing.T, c, sv net.Conn, cid, sid *keys.Identity, want ed25519.PublicKey) (cr, sr result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan result)
	go func() {
		conn, err := s.tr.Server(ctx, sv, sid, 0)
		if err != nil {
			sv.Close()
		}
		done <- result{conn, err}
	}()
	conn, err := s.tr.Client(ctx, c, cid, want)
	if err != nil {
		c.Close()
	}
	cr, sr = result{conn, err}, <-done
	// Hang up the raw conns first: over net.Pipe, a Close that sends the
	// end of stream would wait for a peer that is closing too.
	t.Cleanup(func() {
		c.Close()
		sv.Close()
		for _, r := range []result{cr, sr} {
			if r.conn != nil {
				r.conn.Close()
			}
		}
	})
	for _, r := range []result{cr, sr} {
		if errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("handshake timed out: %v", r.err)
		}
	}
	return cr, sr
}

func (s suite) success(t *testing.T) {
	for _, p := range []struct {
		name string
		pipe func(testing.TB) (net.Conn, net.Conn)
	}{{"pipe", frametest.MemPipe}, {"tcp", frametest.TCPPipe}} {
		t.Run(p.name, func(t *testing.T) {
			c, sv := p.pipe(t)
			cr, sr := s.handshake(t, c, sv, client, server, server.Public())
			if cr.err != nil || sr.err != nil {
				t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
			}
			wantKey(t, "client", cr.conn, server.Public())
			wantKey(t, "server", sr.conn, client.Public())
			talk(t, cr.conn, sr.conn, "ping")
			talk(t, sr.conn, cr.conn, "pong")
		})
	}
}

func wantKey(t *testing.T, side string, c net.Conn, want ed25519.PublicKey) {
	t.Helper()
	if got, ok := multiserver.RemoteKey(c); !ok || !got.Equal(want) {
		t.Errorf("%s's RemoteKey = %x, %v; want %x", side, got, ok, want)
	}
}

// talk sends msg from a to b.
func talk(t *testing.T, a, b net.Conn, msg string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := a.Write([]byte(msg)); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(b, got); err != nil || string(got) != msg {
		t.Errorf("read %q, %v; want %q", got, err, msg)
	}
	if err := <-errc; err != nil {
		t.Errorf("write: %v", err)
	}
}

// network returns a Network on plug with the transform as id.
func (s suite) network(t *testing.T, plug *pipePlug, id *keys.Identity) *multiserver.Network {
	t.Helper()
	tr, err := s.tr.New(id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{plug}, Transforms: []multiserver.Transform{tr}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listen serves the transform as server on plug and returns the address
// of the listener, without a key.
func (s suite) listen(t *testing.T, plug *pipePlug) string {
	t.Helper()
	n := s.network(t, plug, server)
	ln, err := n.Listen(context.Background(), "pipe:suite~"+s.tr.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}
	}()
	return "pipe:suite~" + s.tr.Name + ":"
}

// throughNetwork dials the transform's [multiserver.Transform] through a
// Network, which names the peer's key.
func (s suite) throughNetwork(t *testing.T) {
	plug := newPipePlug()
	addr := s.listen(t, plug)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.network(t, plug, client).Dial(ctx, addr+address.EncodeKey(server.Public()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantKey(t, "client", c, server.Public())
	talk(t, c, c, "echo")
}

// nilIdentity: New, Client and Server refuse a nil Identity, and the
// zero one, which keys.NewIdentity did not make.
func (s suite) nilIdentity(t *testing.T) {
	for _, id := range []*keys.Identity{nil, {}} {
		if tr, err := s.tr.New(id); err == nil || tr != nil {
			t.Errorf("New(%#v) = %v, %v; want an error", id, tr, err)
		}
		c, sv := frametest.MemPipe(t)
		if _, err := s.tr.Client(context.Background(), c, id, server.Public()); err == nil {
			t.Errorf("Client accepted identity %#v", id)
		}
		if _, err := s.tr.Server(context.Background(), sv, id, 0); err == nil {
			t.Errorf("Server accepted identity %#v", id)
		}
	}
}

// wantHangup checks that err tells of a peer that hung up.
func wantHangup(t *testing.T, side string, err error) {
	t.Helper()
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%s's error %v does not wrap io.EOF or io.ErrUnexpectedEOF", side, err)
	}
}

func wantIs(t *testing.T, side string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s's error = %v, want %v", side, err, target)
	}
}

// wrongServerKey: the client expects another key than the server's. The
// server refuses the client's proof, which does not verify for it, and
// hangs up; the client sees the hang-up.
func (s suite) wrongServerKey(t *testing.T) {
	c, sv := frametest.MemPipe(t)
	cr, sr := s.handshake(t, c, sv, client, server, other.Public())
	if cr.err == nil || sr.err == nil {
		t.Fatalf("handshake: client %v, server %v; want both to fail", cr.err, sr.err)
	}
	wantIs(t, "server", sr.err, s.tr.WrongServerKey)
	wantHangup(t, "client", cr.err)
}

// wrongServerKeyThroughNetwork: through a Network, the failure is a
// handshake error.
func (s suite) wrongServerKeyThroughNetwork(t *testing.T) {
	plug := newPipePlug()
	addr := s.listen(t, plug)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.network(t, plug, client).Dial(ctx, addr+address.EncodeKey(other.Public()))
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded with the wrong server key")
	}
	var he *multiserver.HandshakeError
	if !errors.Is(err, multiserver.ErrHandshake) || !errors.As(err, &he) || he.Transform != s.tr.Name {
		t.Errorf("Dial = %v, want a %s HandshakeError", err, s.tr.Name)
	}
}

// wrongAppKey: a client on another network. The server sees it in the
// first message; the client sees the hang-up.
func (s suite) wrongAppKey(t *testing.T) {
	c, sv := frametest.MemPipe(t)
	cr, sr := s.handshake(t, c, sv, Identity(1, OtherAppKey), server, server.Public())
	if cr.err == nil || sr.err == nil {
		t.Fatalf("handshake: client %v, server %v; want both to fail", cr.err, sr.err)
	}
	wantIs(t, "server", sr.err, s.tr.WrongAppKey)
	wantHangup(t, "client", cr.err)
}

// serve runs Server on a pipe whose peer writes wire, then reads until
// the server hangs up, and, if hangUp, closes its side for writing; it
// returns Server's error.
func (s suite) serve(ctx context.Context, t *testing.T, wire []byte, hangUp bool) error {
	t.Helper()
	c, sv := frametest.TCPPipe(t)
	go func() {
		c.Write(wire)
		if hangUp {
			c.(*net.TCPConn).CloseWrite()
		}
	}()
	drained := make(chan struct{})
	go func() { io.Copy(io.Discard, c); close(drained) }()
	conn, err := s.tr.Server(ctx, sv, server, 0)
	if err == nil {
		conn.Close()
		t.Errorf("Server accepted %d bytes of a bad client", len(wire))
	}
	sv.Close()
	<-drained
	return err
}

func (s suite) garbage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.serve(ctx, t, frametest.RandomBytes(7, s.tr.FirstMessageSize), false)
	wantIs(t, "server", err, s.tr.Garbage)
	if frametest.IsTimeout(err) {
		t.Errorf("server's error %v is a timeout, want it to fail at once", err)
	}
}

// truncated sends the start of a real first message, then hangs up.
func (s suite) truncated(t *testing.T) {
	msg1 := s.clientWire(t)[:s.tr.FirstMessageSize]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range []int{0, 1, len(msg1) / 2, len(msg1) - 1} {
		err := s.serve(ctx, t, msg1[:n], true)
		wantHangup(t, "server", err)
	}
}

// silentPeer connects and sends nothing: the server gives up after its
// first-message timeout, long before the handshake's context ends.
func (s suite) silentPeer(t *testing.T) {
	_, sv := frametest.TCPPipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := s.tr.Server(ctx, sv, server, timeout)
	if d := time.Since(start); d < timeout || d > 3*time.Second {
		t.Errorf("Server gave up after %v, want about %v", d, timeout)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !frametest.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Server = %v, want the first message's timeout, matching os.ErrDeadlineExceeded", err)
	}
}

// firstMessageDefault checks the default first-message timeout, and that
// a context ending sooner still wins, in exact time.
func (s suite) firstMessageDefault(t *testing.T) {
	for _, tt := range []struct {
		name       string
		ctxTimeout time.Duration
		want       time.Duration
	}{
		{"default", 2 * s.tr.DefaultFirstMessageTimeout, s.tr.DefaultFirstMessageTimeout},
		{"context first", s.tr.DefaultFirstMessageTimeout / 5, s.tr.DefaultFirstMessageTimeout / 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, sv := net.Pipe()
				defer c.Close()
				defer sv.Close()
				ctx, cancel := context.WithTimeout(context.Background(), tt.ctxTimeout)
				defer cancel()
				start := time.Now()
				_, err := s.tr.Server(ctx, sv, server, 0)
				if d := time.Since(start); d != tt.want {
					t.Errorf("Server gave up after %v, want %v", d, tt.want)
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Server = %v, want os.ErrDeadlineExceeded", err)
				}
			})
		})
	}
}

// firstMessageCleared checks that the first message's deadline does not
// outlive the handshake: the conns still work after it passed.
func (s suite) firstMessageCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, sv := net.Pipe()
		defer c.Close()
		defer sv.Close()
		ctx := context.Background()
		done := make(chan result)
		go func() {
			conn, err := s.tr.Server(ctx, sv, server, 100*time.Millisecond)
			done <- result{conn, err}
		}()
		cc, err := s.tr.Client(ctx, c, client, server.Public())
		sr := <-done
		if err != nil || sr.err != nil {
			t.Fatalf("handshake: client %v, server %v", err, sr.err)
		}
		defer cc.Close()
		defer sr.conn.Close()
		time.Sleep(time.Second)
		talk(t, cc, sr.conn, "hi")
	})
}

// slowPeerDeadline feeds the server a real first message a byte at a
// time, under a long first-message timeout: the handshake ends at the
// context's deadline.
func (s suite) slowPeerDeadline(t *testing.T) {
	msg1 := s.clientWire(t)[:s.tr.FirstMessageSize]
	c, sv := frametest.TCPPipe(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range msg1 {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	_, err := s.tr.Server(ctx, sv, server, time.Minute)
	if d := time.Since(start); d > timeout+3*time.Second {
		t.Errorf("Server took %v, its deadline was %v", d, timeout)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) || !frametest.IsTimeout(err) {
		t.Errorf("Server = %v, want a timeout matching the context's and the conn's deadline errors", err)
	}
}

// clientWire returns the client's side of a successful handshake: all it
// wrote before Client returned.
func (s suite) clientWire(t *testing.T) []byte {
	t.Helper()
	c, sv := frametest.MemPipe(t)
	rc := &frametest.RecordConn{Conn: c}
	cr, sr := s.handshake(t, rc, sv, client, server, server.Public())
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
	}
	return rc.Written()
}

// replay plays a client's side of an earlier handshake to the server: the
// server answers with fresh ephemeral keys, so the old messages that
// follow the first do not fit and the handshake fails. The first message
// alone, replayed, gets no conn either: the server waits for what only
// the real client can send.
func (s suite) replay(t *testing.T) {
	wire := s.clientWire(t)
	t.Run("whole", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.serve(ctx, t, wire, false)
		wantIs(t, "server", err, s.tr.Replay)
		if frametest.IsTimeout(err) {
			t.Errorf("server's error %v is a timeout, want it to fail at once", err)
		}
	})
	t.Run("first message", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := s.serve(ctx, t, wire[:s.tr.FirstMessageSize], false)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Server = %v, want it to wait until the deadline", err)
		}
	})
}

// cancel ends blocked handshakes with their context, on both sides.
func (s suite) cancel(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(ctx context.Context, c net.Conn) error
	}{
		{"client", func(ctx context.Context, c net.Conn) error {
			_, err := s.tr.Client(ctx, c, client, server.Public())
			return err
		}},
		{"server", func(ctx context.Context, c net.Conn) error {
			_, err := s.tr.Server(ctx, c, server, -1)
			return err
		}},
	} {
		for _, before := range []bool{true, false} {
			name := tt.name + "/during"
			if before {
				name = tt.name + "/before"
			}
			t.Run(name, func(t *testing.T) {
				c, _ := frametest.MemPipe(t) // nobody answers
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if before {
					cancel()
				} else {
					time.AfterFunc(50*time.Millisecond, cancel)
				}
				start := time.Now()
				err := tt.run(ctx, c)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("handshake = %v, want context.Canceled", err)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("handshake took %v after the cancel", d)
				}
			})
		}
	}
}
