package multiserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/unix"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hello is a minimal real transform: each side sends one byte 'h' and
// expects one back. It lets the core be tested without a cipher.
type hello struct{}

func (hello) Name() string { return "hello" }

func (hello) Client(ctx context.Context, c net.Conn, _ address.Segment) (net.Conn, error) {
	if _, err := c.Write([]byte{'h'}); err != nil {
		return nil, err
	}
	return c, expect(c)
}

func (hello) Server(ctx context.Context, c net.Conn) (net.Conn, error) {
	if err := expect(c); err != nil {
		return nil, err
	}
	_, err := c.Write([]byte{'h'})
	return c, err
}

func expect(c net.Conn) error {
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != 'h' {
		return fmt.Errorf("hello: got %q", b[0])
	}
	return nil
}

func newNetwork(t *testing.T, cfg multiserver.Config) *multiserver.Network {
	t.Helper()
	if cfg.Plugs == nil {
		cfg.Plugs = []multiserver.Plug{&tcp.Plug{}, &unix.Plug{}, mem.New()}
	}
	if cfg.Transforms == nil {
		cfg.Transforms = []multiserver.Transform{noauth.Transform{}, hello{}}
	}
	n, err := multiserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func listen(t *testing.T, n *multiserver.Network, addr string) *multiserver.Listener {
	t.Helper()
	ln, err := n.Listen(context.Background(), addr)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echo serves ln, echoing every conn, until ln closes.
func echo(t *testing.T, ln net.Listener) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func TestListenServesEveryStack(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	sock := t.TempDir() + "/s.sock"
	ln := listen(t, n, "net:127.0.0.1:0~hello;unix:"+sock+"~noauth;mem:a~noauth;net:::1:0~noauth")
	echo(t, ln)
	adv := ln.Address(multiserver.ScopeDevice)
	list, err := address.Parse(adv)
	if err != nil {
		t.Fatalf("Address() = %q: %v", adv, err)
	}
	if len(list) != 4 {
		t.Fatalf("Address() = %q, want 4 addresses", adv)
	}
	for _, a := range list {
		if host, port, err := address.HostPort(a.Plug()); a.Plug().Name == "net" && (err != nil || port == 0 || host == "") {
			t.Errorf("advertised %q has no real port", a)
		}
		c, err := n.Dial(context.Background(), a.String())
		if err != nil {
			t.Fatalf("Dial(%q): %v", a, err)
		}
		roundTrip(t, c, "through "+a.String())
		c.Close()
	}
	if got := ln.Address(multiserver.ScopePublic); got != "" {
		t.Errorf("Address(public) = %q, want nothing for loopback stacks", got)
	}
}

func TestDialSkipsWhatItCannotSpeak(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "net:127.0.0.1:0~noauth")
	echo(t, ln)
	addr := "foo:bar;net:127.0.0.1:1~noise:" + strings.Repeat("A", 43) + "=;" + ln.Address(multiserver.ScopeDevice)
	c, err := n.Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	roundTrip(t, c, "hi")
	c.Close()
}

// A layer the Network has no plug or transform for is unsupported,
// whether or not some other package knows it; a layer it has but with
// fields its plug refuses is malformed, a ParseError.
func TestDialNoSupportedAddress(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	_, err := n.Dial(context.Background(), "foo:bar;mem:a:b;ws://example.org~noauth;net:h:1~shs:KEY")
	if !errors.Is(err, multiserver.ErrUnsupportedAddress) {
		t.Fatalf("Dial error = %v, want ErrUnsupportedAddress", err)
	}
	var pe *address.ParseError
	if !errors.As(err, &pe) || pe.Input != "mem:a:b" {
		t.Errorf("Dial error = %v, want it to hold the ParseError of mem:a:b", err)
	}
	for _, want := range []string{`no plug "foo"`, "want mem:NAME", `no plug "ws"`, `no transform "shs"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Dial error %q does not mention %q", err, want)
		}
	}
}

// A Network parses by the rules of the layers it is configured with: a
// SegmentChecker's own (mem), any fields for one that is not (hello).
func TestNetworkGrammar(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ctx := context.Background()
	var pe *address.ParseError
	if _, err := n.Listen(ctx, "mem:a:b~hello"); !errors.As(err, &pe) || !strings.Contains(pe.Msg, "want mem:NAME") {
		t.Errorf("Listen(mem:a:b) = %v, want the mem plug's ParseError", err)
	}
	ln, err := n.Listen(ctx, "mem:grammar~hello:any:fields")
	if err != nil {
		t.Fatalf("Listen with a transform that takes any fields: %v", err)
	}
	ln.Close()
	_, err = n.Listen(ctx, "mem:x~noauth;ws://127.0.0.1:0~noauth")
	if !errors.Is(err, multiserver.ErrUnsupportedAddress) || errors.As(err, &pe) || !strings.Contains(err.Error(), `no plug "ws"`) {
		t.Errorf("Listen(ws) without a ws plug = %v, want ErrUnsupportedAddress naming ws and no ParseError", err)
	}
}

// silent accepts TCP connections and never answers, so handshakes over it
// hang until their deadline.
func silent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return fmt.Sprintf("net:127.0.0.1:%d~hello", l.Addr().(*net.TCPAddr).Port)
}

func TestDialRacesPastAHangingAddress(t *testing.T) {
	// The first address hangs for the whole handshake timeout; racing must
	// start the second after the stagger and let it win well before.
	n := newNetwork(t, multiserver.Config{HandshakeTimeout: time.Minute, DialStagger: 20 * time.Millisecond})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	echo(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, silent(t)+";"+ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	roundTrip(t, c, "raced")
	c.Close()
}

func TestDialReportsEveryFailure(t *testing.T) {
	n := newNetwork(t, multiserver.Config{HandshakeTimeout: 100 * time.Millisecond})
	hang := silent(t)
	refused := "net:127.0.0.1:1~hello"
	_, err := n.Dial(context.Background(), hang+";"+refused)
	var des []*multiserver.DialError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var de *multiserver.DialError
		if errors.As(e, &de) {
			des = append(des, de)
		}
	}
	if len(des) != 2 {
		t.Fatalf("Dial error = %v, want one DialError per address", err)
	}
	layers := map[string]string{}
	for _, de := range des {
		layers[de.Addr] = de.Layer
	}
	if layers[hang] != "hello" || layers[refused] != "net" {
		t.Errorf("failed layers = %v, want hello for %s and net for %s", layers, hang, refused)
	}
	if !errors.Is(err, multiserver.ErrHandshake) {
		t.Errorf("Dial error = %v, want it to match ErrHandshake", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Errorf("Dial error = %v, want a net.Error inside", err)
	}
}

// countingPlug is the real tcp plug, counting its dials.
type countingPlug struct {
	tcp.Plug
	dials atomic.Int32
}

func (p *countingPlug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	p.dials.Add(1)
	return p.Plug.Dial(ctx, s)
}

func TestDialRemembersWhatWorked(t *testing.T) {
	server := newNetwork(t, multiserver.Config{})
	ln := listen(t, server, "net:127.0.0.1:0~hello")
	echo(t, ln)
	p := &countingPlug{}
	client := newNetwork(t, multiserver.Config{
		Plugs:       []multiserver.Plug{p},
		DialStagger: -1,
	})
	addr := "net:127.0.0.1:1~hello:" + strings.Repeat("B", 43) + "=;" + ln.Address(multiserver.ScopeDevice)
	for i, want := range []int32{2, 3} {
		c, err := client.Dial(context.Background(), addr)
		if err != nil {
			t.Fatalf("Dial %d: %v", i, err)
		}
		c.Close()
		if got := p.dials.Load(); got != want {
			t.Fatalf("after dial %d, %d plug dials, want %d", i, got, want)
		}
	}
}

func TestFailedHandshakesNeverSurface(t *testing.T) {
	n := newNetwork(t, multiserver.Config{HandshakeTimeout: 200 * time.Millisecond})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	host := ln.Addr().String()
	port := host[strings.LastIndexByte(host, ':')+1 : strings.IndexByte(host, '~')]
	// A garbage peer, a silent peer and a peer that hangs up at once.
	for _, junk := range []string{"x", "", "close"} {
		raw, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		switch junk {
		case "close":
			raw.Close()
		case "x":
			raw.Write([]byte(junk))
		}
	}
	go func() {
		c, err := n.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
		if err == nil {
			c.Write([]byte("good"))
			defer c.Close()
			io.ReadAll(c)
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "good" {
		t.Fatalf("first accepted conn read %q, %v; want the good peer", got, err)
	}
}

func TestAcceptAfterClose(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln, err := n.Listen(context.Background(), "mem:x~noauth;net:127.0.0.1:0~noauth")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { _, err := ln.Accept(); errc <- err }()
	ln.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestListenFailsWhole(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	for _, addr := range []string{
		"mem:a~noauth;mem:a~noauth",      // second cannot bind
		"mem:a~noauth;net:127.0.0.1:0~x", // unknown transform
		"mem:a~noauth;quux:1",            // does not parse
	} {
		if ln, err := n.Listen(context.Background(), addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	ln := listen(t, n, "mem:a~noauth") // the failed Listens released mem:a
	ln.Close()
}

func TestNoauthRefusedInPublicScope(t *testing.T) {
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{External: []string{"example.org"}}}})
	ln, err := n.Listen(context.Background(), "net:127.0.0.1:0~noauth")
	if err == nil {
		ln.Close()
		t.Fatal("Listen served noauth on a publicly advertised address")
	}
	ln = listen(t, n, "net:127.0.0.1:0~hello")
	if got := ln.Address(multiserver.ScopePublic); !strings.HasPrefix(got, "net:example.org:") {
		t.Errorf("Address(public) = %q, want the external host", got)
	}
}

func TestNewRefusesDuplicates(t *testing.T) {
	if _, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}, &tcp.Plug{}}}); err == nil {
		t.Error("New accepted two plugs named net")
	}
	if _, err := multiserver.New(multiserver.Config{Transforms: []multiserver.Transform{hello{}, hello{}}}); err == nil {
		t.Error("New accepted two transforms named hello")
	}
}

func TestHandshakeTimeout(t *testing.T) {
	n := newNetwork(t, multiserver.Config{HandshakeTimeout: 100 * time.Millisecond})
	_, err := n.Dial(context.Background(), silent(t))
	var he *multiserver.HandshakeError
	if !errors.As(err, &he) || !he.Timeout() {
		t.Fatalf("Dial = %v, want a HandshakeError that timed out", err)
	}
}

func TestDialHonoursContext(t *testing.T) {
	n := newNetwork(t, multiserver.Config{HandshakeTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := n.Dial(ctx, silent(t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v, want context.Canceled", err)
	}
}

func TestConnConformance(t *testing.T) {
	for _, plug := range []string{"mem", "net", "unix"} {
		t.Run(plug, func(t *testing.T) {
			n := newNetwork(t, multiserver.Config{})
			addr := map[string]string{
				"mem":  "mem:c~noauth",
				"net":  "net:127.0.0.1:0~hello",
				"unix": "unix:" + t.TempDir() + "/c.sock~noauth",
			}[plug]
			ln := listen(t, n, addr)
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				type res struct {
					c   net.Conn
					err error
				}
				ch := make(chan res)
				go func() { c, err := ln.Accept(); ch <- res{c, err} }()
				c1, err = n.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
				r := <-ch
				if err != nil || r.err != nil {
					if r.c != nil {
						r.c.Close()
					}
					return nil, nil, nil, errors.Join(err, r.err)
				}
				return c1, r.c, func() { c1.Close(); r.c.Close() }, nil
			})
		})
	}
}

func TestRemoteKeyWithoutAuthentication(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	if k, ok := multiserver.RemoteKey(c1); ok || k != nil {
		t.Errorf("RemoteKey(pipe) = %x, %v; want none", k, ok)
	}
}

func TestScopeNames(t *testing.T) {
	for _, s := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
		got, err := multiserver.ParseScope(s.String())
		if err != nil || got != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := multiserver.ParseScope("galaxy"); err == nil {
		t.Error("ParseScope accepted galaxy")
	}
}

func TestPlugDialBounded(t *testing.T) {
	// A WebSocket upgrade to a server that never answers is a handshake
	// too: HandshakeTimeout ends it even when ctx has no deadline.
	n := newNetwork(t, multiserver.Config{
		Plugs:            []multiserver.Plug{&ws.Plug{}},
		HandshakeTimeout: 100 * time.Millisecond,
	})
	hang := silent(t)
	port := hang[strings.LastIndexByte(hang[:strings.IndexByte(hang, '~')], ':')+1 : strings.IndexByte(hang, '~')]
	done := make(chan error, 1)
	go func() {
		_, err := n.Dial(context.Background(), "ws://127.0.0.1:"+port+"~noauth")
		done <- err
	}()
	select {
	case err := <-done:
		var de *multiserver.DialError
		if !errors.As(err, &de) || de.Layer != "ws" {
			t.Fatalf("Dial = %v, want a DialError at the ws layer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dial to a silent WebSocket server did not end")
	}
}
