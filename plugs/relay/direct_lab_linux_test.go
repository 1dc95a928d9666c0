//go:build linux

package relay_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/netlab"
	"github.com/f7d52a8e/multiserver/internal/testcert"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// The NAT lab is a netlab.World: the relay and its STUN responder (UDP
// 3478, 3479) in the public namespace, each peer behind a NAT of its
// own; see netlab.World.Site for what the NATs do.
type natLab struct {
	*netlab.World
	cert     *testcert.Cert // the relay's, pinned by the peers
	relayURL string
	relay    *relayserver.Server
	stun     []string
}

type labPeer struct {
	ns  *netlab.Namespace
	nat *netlab.Namespace
	lan netip.Addr
	v6  netip.Addr   // the host's IPv6 address, if it has one
	fam *familyCount // if set, counts its UDP sockets' QUIC bytes by family
}

// newNATLab builds the public side and serves the relay and STUN there
// until the test ends.
func newNATLab(t *testing.T) *natLab {
	t.Helper()
	l := &natLab{World: netlab.NewWorld(t), cert: testcert.New(t)}
	srv, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l.relay = srv
	var ln net.Listener
	if err := l.Public.Do(func() (err error) { ln, err = net.Listen("tcp4", "203.0.113.10:443"); return err }); err != nil {
		t.Fatal(err)
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{l.cert.TLS}})
	mux := http.NewServeMux()
	mux.Handle("/relay", srv)
	hs := &http.Server{Handler: mux}
	served := make(chan struct{})
	go func() { hs.Serve(ln); close(served) }()
	var stunDone []chan struct{}
	for _, port := range []string{"3478", "3479"} {
		pc, err := l.Public.ListenPacket(context.Background(), "udp4", "203.0.113.10:"+port)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		stunDone = append(stunDone, done)
		go func() { srv.ServeSTUN(pc); pc.Close(); close(done) }()
		l.stun = append(l.stun, "203.0.113.10:"+port)
	}
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		<-served
		for _, d := range stunDone {
			<-d
		}
	})
	l.relayURL = "wss://203.0.113.10:443/relay"
	return l
}

// peer adds a site of kind, losing loss of what its host sends.
func (l *natLab) peer(t *testing.T, kind string, loss float64) *labPeer {
	t.Helper()
	s := l.Site(t, kind, loss)
	return &labPeer{ns: s.Host, nat: s.NAT, lan: s.LAN}
}

// network returns a Network for a peer: relay plug with Direct, noise,
// every socket made in the peer's namespace.
func (l *natLab) network(t *testing.T, p *labPeer, id *keys.Identity) *multiserver.Network {
	t.Helper()
	dial := func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = p.ns.Do(func() error {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	pl := &relay.Plug{
		Identity: id,
		HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: dial,
			// The test certificate names 127.0.0.1; it is pinned.
			TLSClientConfig: &tls.Config{RootCAs: l.cert.Pool, ServerName: "127.0.0.1"},
		}},
		Direct: &relay.Direct{
			STUN:         l.stun,
			ListenPacket: p.ns.ListenPacket,
			HostAddrs:    func() ([]netip.Addr, error) { return []netip.Addr{p.lan}, nil },
		},
	}
	if p.v6.IsValid() {
		pl.Direct.HostAddrs = func() ([]netip.Addr, error) { return []netip.Addr{p.lan, p.v6}, nil }
	}
	if p.fam != nil {
		p.fam.base = p.ns.ListenPacket
		pl.Direct.ListenPacket = p.fam.listen
	}
	t.Cleanup(func() { pl.HTTPClient.Transport.(*http.Transport).CloseIdleConnections() })
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{pl}, Transforms: []multiserver.Transform{nz}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// labCase is one row of the lab's table.
type labCase struct {
	name       string
	dialer     string // NAT kinds
	listener   string
	loss       float64
	wantDirect float64       // share of runs that must go direct, 0 for none
	within     time.Duration // ... within this long after Dial
	wantReason error         // the relayed path's reason, when none goes direct
	cutRelay   bool          // prove the bytes no longer pass the relay
}

// labRuns is how many times each case runs; a case that expects a
// share of its runs short of all to go direct runs twice as many, so
// that its share is measured to 5%: one miss in 20 is the 95% the
// background cases are held to.
const labRuns = 10

// TestNATLab runs each case of the lab's table labRuns times, its cases
// at once, each on NATs of its own, and logs the counts. Every run
// dials through the relay, echoes a stream of random bytes across the
// path's changes, and checks it exactly; where the case expects a direct
// path, it counts the runs that went direct within the case's budget.
func TestNATLab(t *testing.T) {
	l := newNATLab(t)
	cases := []labCase{
		{name: "cone-cone", dialer: "cone", listener: "cone", wantDirect: 1, within: 3 * time.Second, cutRelay: true},
		{name: "cone-cone-1%loss", dialer: "cone", listener: "cone", loss: 0.01, wantDirect: 1, within: 3 * time.Second},
		{name: "cone-cone-10%loss", dialer: "cone", listener: "cone", loss: 0.10, wantDirect: 1, within: 5 * time.Second},
		{name: "cone-symmetric", dialer: "cone", listener: "symmetric", wantDirect: 0.95, within: 30 * time.Second},
		{name: "symmetric-cone", dialer: "symmetric", listener: "cone", wantDirect: 0.95, within: 30 * time.Second},
		{name: "cone-symmetric-1%loss", dialer: "cone", listener: "symmetric", loss: 0.01, wantDirect: 0.95, within: 30 * time.Second},
		{name: "symmetric-cone-10%loss", dialer: "symmetric", listener: "cone", loss: 0.10, wantDirect: 0.95, within: 30 * time.Second},
		{name: "symmetric-symmetric", dialer: "symmetric", listener: "symmetric", wantReason: errBothSymmetric},
		{name: "symmetric-symmetric-10%loss", dialer: "symmetric", listener: "symmetric", loss: 0.10, wantReason: errBothSymmetric},
		{name: "tcp443-cone", dialer: "tcp443", listener: "cone", wantReason: errUDPBlocked},
		{name: "tcp443-cone-10%loss", dialer: "tcp443", listener: "cone", loss: 0.10, wantReason: errUDPBlocked},
	}
	peers := make([][2]*labPeer, len(cases))
	for i, c := range cases {
		peers[i] = [2]*labPeer{l.peer(t, c.dialer, c.loss), l.peer(t, c.listener, c.loss)}
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l.runCase(t, c, peers[i][0], peers[i][1])
		})
	}
}

// TestNATLabIPv6: two hosts with global IPv6 addresses, each behind a
// router that for IPv6 is only a stateful firewall (no NAT: it passes
// what its LAN sends and the replies to it, and drops every other
// packet from outside). The direct path comes up over IPv6 through both
// firewalls, opened by the simultaneous probes, in every run, within
// 3 s, with exact bytes: where IPv4 UDP between the two sites is cut
// (only the relay's STUN passes), and where both IPv4 NATs are
// symmetric, which leaves no IPv4 path.
func TestNATLabIPv6(t *testing.T) {
	l := newNATLab(t)
	cases := []struct {
		name  string
		kind  string
		cut4  bool
		peers [2]*labPeer
	}{
		{name: "firewall6-firewall6-ipv4-cut", kind: netlab.Cone, cut4: true},
		{name: "firewall6-firewall6-symmetric4", kind: netlab.Symmetric},
	}
	for ci := range cases {
		c := &cases[ci]
		for i := range c.peers {
			s := l.Site(t, c.kind, 0)
			c.peers[i] = &labPeer{ns: s.Host, nat: s.NAT, lan: s.LAN, v6: l.AddIPv6(t, s), fam: &familyCount{v6ok: true}}
			if !c.cut4 {
				continue
			}
			if err := s.NAT.Exec("iptables", "-I", "FORWARD", "-p", "udp", "!", "-s", netlab.PublicAddr, "!", "-d", netlab.PublicAddr, "-j", "DROP"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The firewall is real: a datagram the other host did not ask for
	// does not reach it.
	if unsolicited(t, cases[0].peers[0], cases[0].peers[1]) {
		t.Fatal("an unsolicited IPv6 datagram passed the firewall")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l.runCase(t, labCase{name: c.name, dialer: c.kind, listener: c.kind, wantDirect: 1, within: 3 * time.Second}, c.peers[0], c.peers[1])
			for i, p := range c.peers {
				if v4, v6 := p.fam.v4.Load(), p.fam.v6.Load(); v4 != 0 || v6 == 0 {
					t.Errorf("peer %d read %d bytes of QUIC over IPv4, %d over IPv6; want IPv6 only", i, v4, v6)
				}
			}
		})
	}
}

// unsolicited sends UDP datagrams from host a to host b's IPv6 address,
// where b listens, and reports whether one arrived.
func unsolicited(t *testing.T, a, b *labPeer) bool {
	t.Helper()
	ctx := context.Background()
	in, err := b.ns.ListenPacket(ctx, "udp6", netip.AddrPortFrom(b.v6, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := a.ns.ListenPacket(ctx, "udp6", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for range 3 {
		if _, err := out.WriteTo([]byte("hello"), in.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	in.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _, err = in.ReadFrom(make([]byte, 16))
	return err == nil
}

// The reasons a relayed path reports, as Path.Reason carries them.
var (
	errBothSymmetric = errors.New("both peers are behind NATs that map per destination")
	errUDPBlocked    = errors.New("UDP blocked")
)

func (l *natLab) runCase(t *testing.T, c labCase, dp, lp *labPeer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	addr, stop := l.serveEcho(ctx, t, lp)
	defer stop()
	dn := l.network(t, dp, relaytest.NewIdentity(t))
	var connected, direct int
	var times []time.Duration
	runs := labRuns
	if c.wantDirect > 0 && c.wantDirect < 1 {
		runs = 2 * labRuns
	}
	for i := range runs {
		// Each run's Dial has a minute of its own: the runs of a case
		// add up (at 10% loss, birthday punching takes up to its 30s
		// budget, and then the echo), so a ctx shared by all of them
		// ran out before the last runs of such a case began.
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		ok, d, why, err := l.runOnce(rctx, t, c, dn, dp, addr, i < 3)
		rcancel()
		if err != nil {
			t.Errorf("run %d: %v", i, err)
			continue
		}
		connected++
		if ok {
			direct++
			times = append(times, d)
		} else if c.wantDirect > 0 {
			t.Logf("run %d stayed relayed: %q", i, why)
		}
	}
	slices.Sort(times)
	if c.wantDirect > 0 {
		t.Logf("%s: %d/%d connected with exact bytes, %d/%d direct within %v; time to direct: %s",
			c.name, connected, runs, direct, runs, c.within, quantiles(times))
	} else {
		t.Logf("%s: %d/%d connected with exact bytes, %d/%d direct (the first 3 said why: %v)",
			c.name, connected, runs, direct, runs, c.wantReason)
	}
	if connected != runs {
		t.Errorf("%d/%d connected, want all", connected, runs)
	}
	if float64(direct) < c.wantDirect*float64(runs) {
		t.Errorf("%d/%d direct, want at least %.0f%%", direct, runs, 100*c.wantDirect)
	}
}

// serveEcho listens through the lab's relay on peer p and echoes every
// conn it accepts, until stop; addr is the address to dial.
func (l *natLab) serveEcho(ctx context.Context, t *testing.T, p *labPeer) (addr string, stop func()) {
	t.Helper()
	ln, err := l.network(t, p, relaytest.NewIdentity(t)).Listen(ctx, "relay:"+l.relayURL+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(a, a); a.Close() }()
		}
	}()
	addr = ln.Address(multiserver.ScopePublic)
	if addr == "" {
		addr = ln.Address(multiserver.ScopeDevice)
	}
	return addr, func() { ln.Close(); wg.Wait() }
}

// TestNATLabDirectLost: a direct path between two cone NATs that the
// dialer's router starts to drop mid-transfer (every UDP packet it
// forwards, both ways, with iptables) is given up, and data flows
// through the relay again within fallbackBound; before, the conn waited
// for the resumable stream's 15 s keepalive timeout. At 10 % loss on
// both hosts' uplinks the direct path carries the transfer for 20 s
// without falling back, then is dropped the same way. Bytes exact
// throughout. Each case on a lab of its own, so that the relay's byte
// counter is its own.
func TestNATLabDirectLost(t *testing.T) {
	t.Parallel()
	for _, loss := range []float64{0, 0.10} {
		t.Run(fmt.Sprintf("%.0f%%loss", 100*loss), func(t *testing.T) {
			t.Parallel()
			l := newNATLab(t)
			dp, lp := l.peer(t, netlab.Cone, loss), l.peer(t, netlab.Cone, loss)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			addr, stopEcho := l.serveEcho(ctx, t, lp)
			defer stopEcho()
			conn, err := l.network(t, dp, relaytest.NewIdentity(t)).Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			rc := &readCount{Conn: conn}
			stop := make(chan struct{})
			type result struct {
				ok  bool
				err error
			}
			res := make(chan result, 1)
			go func() { ok, err := echoCheck(rc, stop, 64<<10); res <- result{ok, err} }()
			defer func() {
				select {
				case <-stop:
				default:
					close(stop)
					<-res
				}
			}()
			waitPath(t, conn, false, 20*time.Second)
			if loss > 0 {
				// A healthy path that loses packets stays direct.
				n0, t0 := rc.n.Load(), time.Now()
				timer := time.NewTimer(20 * time.Second)
			watch:
				for {
					ch := multiserver.PathChanged(conn)
					if p := multiserver.Info(conn).Path; p.Relayed {
						t.Fatalf("fell back to the relay %v into 20 s at %.0f%% loss: %q",
							time.Since(t0).Round(time.Millisecond), 100*loss, p.Reason)
					}
					select {
					case <-ch:
					case <-timer.C:
						break watch
					}
				}
				t.Logf("%.0f%% loss: still direct after 20 s, %d KiB echoed over it meanwhile", 100*loss, (rc.n.Load()-n0)>>10)
			} else {
				time.Sleep(500 * time.Millisecond) // data in flight over the direct path
			}
			start := time.Now()
			if err := dp.nat.Exec("iptables", "-I", "FORWARD", "-p", "udp", "-j", "DROP"); err != nil {
				t.Fatal(err)
			}
			took := untilRelayed(t, start, func() int64 { return l.relay.Stats().Bytes }, rc, 30*time.Second)
			t.Logf("%.0f%% loss: direct path dropped mid-transfer, data through the relay again after %v",
				100*loss, took.Round(time.Millisecond))
			if loss == 0 && took > fallbackBound {
				t.Errorf("data through the relay again %v after the drop, want within %v", took.Round(time.Millisecond), fallbackBound)
			}
			if p := multiserver.Info(conn).Path; !p.Relayed {
				t.Errorf("path %+v after the drop, want relayed", p)
			}
			close(stop)
			if r := <-res; r.err != nil || !r.ok {
				t.Fatalf("echo through the fallback: %v, bytes exact: %v", r.err, r.ok)
			}
		})
	}
}

func quantiles(ts []time.Duration) string {
	if len(ts) == 0 {
		return "none"
	}
	q := func(p float64) time.Duration { return ts[min(len(ts)-1, int(p*float64(len(ts))))] }
	return fmt.Sprintf("median %v, p90 %v, max %v", q(0.5).Round(time.Millisecond), q(0.9).Round(time.Millisecond), ts[len(ts)-1].Round(time.Millisecond))
}

// runOnce dials addr, echoes bytes while the path may change, and
// reports whether it went direct within c.within, and how fast.
// Runs that stay relayed wait for the reason only when checkReason: the
// first few of a case, so that the rest stay quick.
func (l *natLab) runOnce(ctx context.Context, t *testing.T, c labCase, dn *multiserver.Network, dp *labPeer, addr string, checkReason bool) (direct bool, took time.Duration, why string, err error) {
	start := time.Now()
	conn, err := dn.Dial(ctx, addr)
	if err != nil {
		return false, 0, "", err
	}
	defer conn.Close()
	stop := make(chan struct{})
	type result struct {
		ok  bool
		err error
	}
	res := make(chan result, 1)
	after := 256 << 10
	if c.loss >= 0.1 { // TCP to the relay crawls at 10% loss
		after = 64 << 10
	}
	go func() { ok, err := echoCheck(conn, stop, after); res <- result{ok, err} }()
	wait := c.within
	if c.wantDirect == 0 {
		wait = 20 * time.Second // long enough for an attempt to give its reason
		if !checkReason {
			wait = 0
		}
	}
	// The budget counts from Dial's return, when the conn is up,
	// relayed; the time to direct reported counts from Dial's start.
	deadline := time.After(wait)
wait:
	for {
		ch := multiserver.PathChanged(conn)
		p := multiserver.Info(conn).Path
		switch {
		case !p.Relayed:
			direct, took = true, time.Since(start)
			break wait
		case p.Reason != "":
			why = p.Reason
			if c.wantDirect == 0 {
				break wait
			}
		}
		select {
		case <-ch:
		case <-deadline:
			break wait
		}
	}
	if checkReason && c.wantReason != nil && !strings.Contains(why, c.wantReason.Error()) {
		close(stop)
		<-res
		return false, 0, why, fmt.Errorf("stayed relayed because %q, want %q", why, c.wantReason)
	}
	if direct && c.cutRelay {
		// Cut the dialer's way to the relay: the stream must go on.
		rule := []string{"ip", "netns", "exec", dp.nat.Name, "iptables", "-I", "FORWARD", "-p", "tcp", "-d", "203.0.113.10", "-j", "DROP"}
		if err := netlab.Run(rule...); err != nil {
			return false, 0, why, err
		}
		defer func() {
			rule[5] = "-D"
			netlab.Run(rule...)
		}()
	}
	close(stop)
	r := <-res
	if r.err != nil || !r.ok {
		return false, 0, why, fmt.Errorf("echo: %v, bytes exact: %v", r.err, r.ok)
	}
	if !direct && why == "" {
		why = multiserver.Info(conn).Path.Reason
	}
	return direct, took, why, nil
}
