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
	"strings"
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

// directNetwork is a Network of the relay plug with d, and noise.
func directNetwork(t *testing.T, id *keys.Identity, d *relay.Direct) *multiserver.Network {
	t.Helper()
	return relayNetwork(t, id, d, multiserver.Config{})
}

// relayNetwork is cfg with the relay plug with d, and noise, as id.
func relayNetwork(t *testing.T, id *keys.Identity, d *relay.Direct, cfg multiserver.Config) *multiserver.Network {
	t.Helper()
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Plugs = []multiserver.Plug{&relay.Plug{Identity: id, Direct: d}}
	cfg.Transforms = []multiserver.Transform{nz}
	n, err := multiserver.New(cfg)
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

// cuttable is a UDP socket whose traffic a test can cut: a blackhole,
// which drops every datagram both ways and says nothing (no error, no
// ICMP), while the socket stays open.
type cuttable struct {
	net.PacketConn
	cut    atomic.Bool
	closed atomic.Bool
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

func (c *cuttable) Close() error {
	c.closed.Store(true)
	return c.PacketConn.Close()
}

// cuttableDirect returns a copy of d whose UDP sockets cut() silences,
// all of them at once: the direct path dies, the relay stays. Sockets
// opened after the cut are not cut. open reports how many of the cut
// sockets are still open.
func cuttableDirect(d *relay.Direct) (dd *relay.Direct, cut func(), open func() int) {
	var mu sync.Mutex
	var socks, wasCut []*cuttable
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
	cut = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range socks {
			s.cut.Store(true)
		}
		wasCut, socks = append(wasCut, socks...), nil
	}
	open = func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range wasCut {
			if !s.closed.Load() {
				n++
			}
		}
		return n
	}
	return &c, cut, open
}

// readCount is a conn that counts what Read returned.
type readCount struct {
	net.Conn
	n atomic.Int64
}

func (c *readCount) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// fallbackBound is how soon, at most, data must flow through the relay
// again after the direct path went silent mid-transfer: the direct
// carrier's 4 s of silence (QUIC's idle timeout), then pairing again
// through the relay, with room for a loaded machine; the resumable
// stream's own keepalive timeout, 15 s, is far above it.
const fallbackBound = 8 * time.Second

// untilRelayed waits, after the direct path was cut at start, until
// data flows through the relay again: the relay forwarded 64 KiB more
// than it had at the cut (more than RESUME frames and signals), and the
// reader got 64 KiB more than it had then. It returns how long that
// took, or fails t after limit.
func untilRelayed(t *testing.T, start time.Time, relayBytes func() int64, rc *readCount, limit time.Duration) time.Duration {
	t.Helper()
	b0, n0 := relayBytes(), rc.n.Load()
	for {
		if relayBytes()-b0 >= 64<<10 && rc.n.Load()-n0 >= 64<<10 {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("no data through the relay %v after the cut: it forwarded %d bytes more, the reader got %d more",
				limit, relayBytes()-b0, rc.n.Load()-n0)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDirectFallsBack: when the direct path goes silent mid-transfer
// (the dialer's UDP sockets drop every datagram, both ways), data flows
// through the relay again within fallbackBound, not after the resumable
// stream's 15 s keepalive timeout; the stream's bytes stay exact, the
// dead path's sockets are closed, and the dialer punches again after
// Direct.Retry and goes direct on a new socket.
func TestDirectFallsBack(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	d := loopbackDirect(t, r)
	dd, cut, open := cuttableDirect(d)
	dd.Retry = 2 * time.Second
	c, a := pairDirect(t, r, d, dd)
	rc := &readCount{Conn: c}
	stop := make(chan struct{})
	type result struct {
		ok  bool
		err error
	}
	res := make(chan result, 1)
	go func() { ok, err := echoCheck(rc, stop, 1<<20); res <- result{ok, err} }()
	waitPath(t, c, false, 15*time.Second)
	waitPath(t, a, false, 5*time.Second)
	time.Sleep(200 * time.Millisecond) // data in flight over the direct path
	relayBytes := func() int64 { return r.Stats().Bytes }
	start := time.Now()
	cut()
	took := untilRelayed(t, start, relayBytes, rc, 30*time.Second)
	t.Logf("direct path cut mid-transfer: data through the relay again after %v", took.Round(time.Millisecond))
	if took > fallbackBound {
		t.Errorf("data through the relay again %v after the cut, want within %v", took.Round(time.Millisecond), fallbackBound)
	}
	if p := multiserver.Info(c).Path; !p.Relayed || !strings.Contains(p.Reason, "the direct path broke") {
		t.Errorf("path after the cut %+v, want relayed because the direct path broke", p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open(); n > 0 {
		t.Errorf("%d sockets of the dead direct path still open", n)
	}
	// Direct.Retry: a new attempt, on new sockets, goes direct again.
	waitPath(t, c, false, 20*time.Second)
	close(stop)
	if x := <-res; x.err != nil || !x.ok {
		t.Fatalf("echo through the fallback and back: %v, bytes exact: %v", x.err, x.ok)
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
		if calls.Add(1) <= 2 { // the dual-stack socket, then the IPv4 one
			return nil, errors.New("no socket this time")
		}
		return (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
	}
	c, _ := pairDirect(t, r, d, &dd)
	p := waitPath(t, c, false, 20*time.Second)
	if n := calls.Load(); n < 3 {
		t.Fatalf("direct after %d attempts; the first one was to fail", n)
	}
	if p.Carrier != "quic" {
		t.Errorf("direct path %+v, want carrier quic", p)
	}
}

// serveSTUNOn serves r's STUN responder on two UDP ports of ip until the
// test ends, and returns them as host:port. It skips t where ip cannot
// be bound (no IPv6 on this host).
func serveSTUNOn(t *testing.T, r *relaytest.Relay, ip string) []string {
	t.Helper()
	var out []string
	for range 2 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("no UDP on %s here: %v", ip, err)
		}
		done := make(chan struct{})
		go func() { r.ServeSTUN(pc); close(done) }()
		t.Cleanup(func() { pc.Close(); <-done })
		out = append(out, pc.LocalAddr().String())
	}
	return out
}

// familyCount counts the bytes of the QUIC packets that the sockets it
// wraps read, by the family of their source: which family the direct
// path runs on. Probes (first byte 0x3c) and STUN (0x00, 0x01) have bit
// 0x40 clear; every QUIC packet has it set.
type familyCount struct {
	v4, v6   atomic.Int64
	v6ok     bool     // dual-stack sockets; else IPv4 ones only
	networks sync.Map // the networks asked for
	// base opens the sockets; if nil, net.ListenConfig's ListenPacket.
	base func(ctx context.Context, network, addr string) (net.PacketConn, error)
}

func (f *familyCount) listen(ctx context.Context, network, addr string) (net.PacketConn, error) {
	f.networks.Store(network, true)
	if network != "udp4" && !f.v6ok {
		return nil, errors.New("no IPv6 on this side")
	}
	base := f.base
	if base == nil {
		base = (&net.ListenConfig{}).ListenPacket
	}
	pc, err := base(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &familyConn{PacketConn: pc, f: f}, nil
}

type familyConn struct {
	net.PacketConn
	f *familyCount
}

func (c *familyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(p)
	if ua, ok := a.(*net.UDPAddr); ok && n > 0 && p[0]&0x40 != 0 {
		if ua.AddrPort().Addr().Unmap().Is4() {
			c.f.v4.Add(int64(n))
		} else {
			c.f.v6.Add(int64(n))
		}
	}
	return n, a, err
}

func addrs(s ...string) func() ([]netip.Addr, error) {
	return func() ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// TestDirectOverIPv6: two peers whose only candidates are IPv6 (host
// ::1, and the reflexive address of a STUN responder on ::1) go direct
// over IPv6 with one dual-stack socket each; the stream's bytes stay
// exact through the switch, and the direct path's packets come from ::1
// only.
func TestDirectOverIPv6(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	f := &familyCount{v6ok: true}
	d := &relay.Direct{STUN: serveSTUNOn(t, r, "::1"), HostAddrs: addrs("::1"), ListenPacket: f.listen}
	directOnce(t, r, d)
	if v4, v6 := f.v4.Load(), f.v6.Load(); v4 != 0 || v6 < 8<<20 {
		t.Errorf("direct path read %d bytes of QUIC from IPv4, %d from IPv6; want none, and the 8 MiB echoed", v4, v6)
	}
}

// TestDirectOneSideIPv4: the dialer has no IPv6 (its dual-stack socket
// fails, it falls back to IPv4 and drops its IPv6 host address); the
// listener offers IPv6 and IPv4. They go direct over IPv4.
func TestDirectOneSideIPv4(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	servers := append(serveSTUNOn(t, r, "::1"), serveSTUN(t, r)...)
	fl, fd := &familyCount{v6ok: true}, &familyCount{}
	ld := &relay.Direct{STUN: servers, HostAddrs: addrs("::1", "127.0.0.1"), ListenPacket: fl.listen}
	dd := &relay.Direct{STUN: servers, HostAddrs: addrs("::1", "127.0.0.1"), ListenPacket: fd.listen}
	c, _ := pairDirect(t, r, ld, dd)
	if p := waitPath(t, c, false, 15*time.Second); p.Carrier != "quic" {
		t.Errorf("direct path %+v, want carrier quic", p)
	}
	stop := make(chan struct{})
	close(stop)
	if ok, err := echoCheck(c, stop, 1<<20); err != nil || !ok {
		t.Fatalf("echo over the direct path: %v, bytes exact: %v", err, ok)
	}
	if _, asked := fd.networks.Load("udp"); !asked {
		t.Error("the dialer did not ask for a dual-stack socket first")
	}
	for name, f := range map[string]*familyCount{"listener": fl, "dialer": fd} {
		if v4, v6 := f.v4.Load(), f.v6.Load(); v6 != 0 || v4 < 1<<20 {
			t.Errorf("%s read %d bytes of QUIC from IPv4, %d from IPv6; want the echo over IPv4, none over IPv6", name, v4, v6)
		}
	}
}
