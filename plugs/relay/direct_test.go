//go:build !js

package relay_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// serveSTUN serves r's STUN responder on two loopback UDP ports until
// the test ends, and returns them as host:port.
func serveSTUN(t *testing.T, r *relaytest.Relay) []string {
	t.Helper()
	var out []string
	for range 2 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { r.ServeSTUN(pc); close(done) }()
		t.Cleanup(func() { pc.Close(); <-done })
		out = append(out, pc.LocalAddr().String())
	}
	return out
}

func directNetwork(t *testing.T, id *keys.Identity, d *relay.Direct) *multiserver.Network {
	t.Helper()
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, Direct: d}},
		Transforms: []multiserver.Transform{nz},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitPath waits until c's path is direct (or relayed, as want says),
// or fails t after d.
func waitPath(t *testing.T, c net.Conn, relayed bool, d time.Duration) multiserver.Path {
	t.Helper()
	deadline := time.After(d)
	for {
		ch := multiserver.PathChanged(c)
		p := multiserver.Info(c).Path
		if p.Relayed == relayed {
			return p
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("path still %+v after %v", p, d)
		}
	}
}

// pairDirect serves an echo through r with Direct d on the listener's
// side and dials it with Direct dd: the dialed conn and the accepted.
func pairDirect(t *testing.T, r *relaytest.Relay, d, dd *relay.Direct) (c, a net.Conn) {
	t.Helper()
	c, a, _ = pairNets(t, r, directNetwork(t, relaytest.NewIdentity(t), d), directNetwork(t, relaytest.NewIdentity(t), dd))
	return c, a
}

// pairNets serves an echo through r on network ln and dials it from
// network dn: the dialed conn, the accepted, and a channel closed once
// the echo has ended and closed its side.
func pairNets(t *testing.T, r *relaytest.Relay, ln, dn *multiserver.Network) (c, a net.Conn, echoed <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := ln.Listen(ctx, "relay:"+r.URL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		io.Copy(c, c)
		c.Close()
	}()
	c, err = dn.Dial(ctx, l.Address(multiserver.ScopeDevice))
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		<-done
		l.Close()
	})
	// Dial returns the relayed conn without waiting for the punch; on
	// loopback the punch may still finish during the transform's
	// handshake, before Dial returns, so a direct path here is no error.
	if p := multiserver.Info(c).Path; !p.Relayed {
		t.Logf("path at first %+v: the punch finished during the handshake", p)
	}
	a = <-accepted
	if a == nil {
		t.Fatal("Accept failed")
	}
	return c, a, done
}

// echoCheck writes random bytes to c and reads the echo until stop is
// closed and at least min more bytes went after that; it returns
// whether what came back is what went.
func echoCheck(c net.Conn, stop <-chan struct{}, after int) (bool, error) {
	sent, got := sha256.New(), sha256.New()
	var total int64
	errc := make(chan error, 1)
	go func() {
		big := make([]byte, 32<<10)
		extra := -1
		for {
			select {
			case <-stop:
				if extra < 0 {
					extra = 0
				}
			default:
			}
			if extra >= after {
				break
			}
			buf := big[:1+mrand.N(len(big))] // writes of random sizes
			rand.Read(buf)
			sent.Write(buf)
			if _, err := c.Write(buf); err != nil {
				errc <- err
				return
			}
			total += int64(len(buf))
			if extra >= 0 {
				extra += len(buf)
			}
			time.Sleep(time.Millisecond)
		}
		errc <- nil
	}()
	var n int64
	buf := make([]byte, 64<<10)
	for {
		select {
		case err := <-errc:
			if err != nil {
				return false, err
			}
			_, err = io.CopyN(got, c, total-n)
			return string(got.Sum(nil)) == string(sent.Sum(nil)), err
		default:
		}
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		m, err := c.Read(buf)
		got.Write(buf[:m])
		n += int64(m)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return false, err
		}
		c.SetReadDeadline(time.Time{})
	}
}

func loopbackDirect(t *testing.T, r *relaytest.Relay) *relay.Direct {
	return &relay.Direct{
		STUN:      serveSTUN(t, r),
		HostAddrs: func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil },
	}
}

// TestDirectOnLoopback: a relayed conn between two peers with Direct
// moves to a punched QUIC path while a stream runs over it both ways, in
// writes of random sizes; the bytes stay exact, the relay's byte counter
// stops growing, and the path is reported on both sides. Five times,
// each switch at another moment of the stream.
func TestDirectOnLoopback(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	for i := range 5 {
		t.Run(fmt.Sprint(i), func(t *testing.T) { directOnce(t, r, d) })
	}
}

func directOnce(t *testing.T, r *relaytest.Relay, d *relay.Direct) {
	c, a := pairDirect(t, r, d, d)
	stop := make(chan struct{})
	type result struct {
		ok  bool
		err error
	}
	res := make(chan result, 1)
	go func() { ok, err := echoCheck(c, stop, 4<<20); res <- result{ok, err} }()
	if p := waitPath(t, c, false, 15*time.Second); p.Carrier != "quic" {
		t.Errorf("direct path %+v, want carrier quic", p)
	}
	waitPath(t, a, false, 5*time.Second)
	time.Sleep(100 * time.Millisecond) // what the relay had under way
	before := r.Stats().Bytes
	close(stop)
	if x := <-res; x.err != nil || !x.ok {
		t.Fatalf("echo through the switch: %v, bytes exact: %v", x.err, x.ok)
	}
	if after := r.Stats().Bytes; after != before {
		t.Errorf("the relay forwarded %d bytes after the switch, of 8 MiB echoed", after-before)
	}
}

// cuttable is a UDP socket whose traffic a test can cut.
type cuttable struct {
	net.PacketConn
	cut atomic.Bool
}

func (c *cuttable) WriteTo(p []byte, a net.Addr) (int, error) {
	if c.cut.Load() {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, a)
}

func (c *cuttable) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(p)
		if err != nil || !c.cut.Load() {
			return n, a, err
		}
	}
}

// cuttableDirect returns a copy of d whose UDP sockets cut() silences,
// all of them at once: the direct path dies, the relay stays.
func cuttableDirect(d *relay.Direct) (dd *relay.Direct, cut func()) {
	var mu sync.Mutex
	var socks []*cuttable
	c := *d
	c.ListenPacket = func(ctx context.Context, network, addr string) (net.PacketConn, error) {
		pc, err := (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cp := &cuttable{PacketConn: pc}
		mu.Lock()
		socks = append(socks, cp)
		mu.Unlock()
		return cp, nil
	}
	return &c, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range socks {
			s.cut.Store(true)
		}
	}
}

// TestDirectFallsBack: when the direct path goes silent, the conn goes
// back to the relay, and the stream that ran over both never notices.
func TestDirectFallsBack(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	dd, cut := cuttableDirect(d)
	c, _ := pairDirect(t, r, d, dd)
	stop := make(chan struct{})
	type result struct {
		ok  bool
		err error
	}
	res := make(chan result, 1)
	go func() { ok, err := echoCheck(c, stop, 1<<20); res <- result{ok, err} }()
	waitPath(t, c, false, 15*time.Second)
	cut()
	p := waitPath(t, c, true, 40*time.Second)
	t.Logf("after the cut: %+v", p)
	close(stop)
	if x := <-res; x.err != nil || !x.ok {
		t.Fatalf("echo through the fallback: %v, bytes exact: %v", x.err, x.ok)
	}
}

// TestDirectRetries: an attempt that fails does not leave the conn
// relayed for good: the dialer punches again after Direct.Retry, and the
// second attempt goes direct.
func TestDirectRetries(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	dd := *d
	dd.Retry = 200 * time.Millisecond
	var calls atomic.Int32
	dd.ListenPacket = func(ctx context.Context, network, addr string) (net.PacketConn, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("no socket this time")
		}
		return (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
	}
	c, _ := pairDirect(t, r, d, &dd)
	p := waitPath(t, c, false, 20*time.Second)
	if n := calls.Load(); n < 2 {
		t.Fatalf("direct after %d attempts; the first one was to fail", n)
	}
	if p.Carrier != "quic" {
		t.Errorf("direct path %+v, want carrier quic", p)
	}
}
