package punch

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/stun"
	"github.com/f7d52a8e/multiserver/keys"
)

func identity(t testing.TB) *keys.Identity {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type outcome struct {
	c   *Carrier
	err error
}

// agents returns a dialer's and a listener's Agent whose signals go
// straight to each other, on loopback, with no STUN.
func agents(t *testing.T, tweak func(d, l *Config)) (d, l *Agent, dc, lc chan outcome) {
	t.Helper()
	did, lid := identity(t), identity(t)
	dc, lc = make(chan outcome, 1), make(chan outcome, 1)
	loop := func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil }
	var dp, lp *Agent
	dcfg := Config{Identity: did, Peer: lid.Public(), Dialer: true, HostAddrs: loop,
		Send: func(p []byte) error { go lp.Signal(p); return nil },
		Done: func(c *Carrier, err error) { dc <- outcome{c, err} }}
	lcfg := Config{Identity: lid, Peer: did.Public(), HostAddrs: loop,
		Send: func(p []byte) error { go dp.Signal(p); return nil },
		Done: func(c *Carrier, err error) { lc <- outcome{c, err} }}
	if tweak != nil {
		tweak(&dcfg, &lcfg)
	}
	var err error
	if dp, err = New(dcfg); err != nil {
		t.Fatal(err)
	}
	if lp, err = New(lcfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close(); lp.Close() })
	return dp, lp, dc, lc
}

// connected waits for both sides' outcomes, fails t unless both got a
// carrier, and closes the carriers when t ends.
func connected(t *testing.T, dc, lc chan outcome) (d, l *Carrier) {
	t.Helper()
	do, lo := <-dc, <-lc
	if do.c != nil {
		t.Cleanup(func() { do.c.Close() })
	}
	if lo.c != nil {
		t.Cleanup(func() { lo.c.Close() })
	}
	if do.err != nil || lo.err != nil {
		t.Fatalf("dialer: %v, listener: %v", do.err, lo.err)
	}
	return do.c, lo.c
}

// TestLoopback punches on loopback: both sides get a carrier to the
// other, and bytes pass both ways.
func TestLoopback(t *testing.T) {
	d, _, dc, lc := agents(t, nil)
	if !d.Start() {
		t.Fatal("Start: false")
	}
	dcar, lcar := connected(t, dc, lc)
	msg := make([]byte, 100000)
	rand.Read(msg)
	go func() { dcar.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(lcar, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %v", err)
	}
	lcar.Write([]byte("back"))
	b := make([]byte, 4)
	if _, err := io.ReadFull(dcar, b); err != nil || string(b) != "back" {
		t.Fatalf("read back %q, %v", b, err)
	}
}

// TestDeclined: a listener that does not punch declines at once.
func TestDeclined(t *testing.T) {
	t.Parallel()
	d, _, dc, _ := agents(t, func(_, l *Config) { l.Disabled = true })
	d.Start()
	if o := <-dc; !errors.Is(o.err, ErrDeclined) {
		t.Fatalf("dialer: %v, want ErrDeclined", o.err)
	}
}

// TestNoAnswer: a peer that never answers fails the attempt with
// ErrNoAnswer after the offer's tries: 8, a second apart
// (spec/holepunch.md §5), since the listener asks STUN for up to 3 s
// before it answers and the relayed conn may be slow.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	var offers atomic.Int32
	d, _, dc, _ := agents(t, func(d, _ *Config) { d.Send = func([]byte) error { offers.Add(1); return nil } })
	start := time.Now()
	d.Start()
	if o := <-dc; !errors.Is(o.err, ErrNoAnswer) {
		t.Fatalf("dialer: %v, want ErrNoAnswer", o.err)
	}
	if n, took := offers.Load(), time.Since(start); n != 8 || took < 7*time.Second {
		t.Fatalf("gave up after %d offers and %v, want 8 offers and 8 s", n, took)
	}
}

// TestLateAnswer: an answer that comes only after the fifth offer (a
// listener slow to learn its candidates, answers lost on the way) still
// makes a direct path.
func TestLateAnswer(t *testing.T) {
	t.Parallel()
	var answers atomic.Int32
	d, _, dc, lc := agents(t, func(_, l *Config) {
		send := l.Send
		l.Send = func(p []byte) error {
			if answers.Add(1) <= 5 {
				return nil
			}
			return send(p)
		}
	})
	d.Start()
	connected(t, dc, lc)
}

// TestWrongPeer: a listener that expects another dialer's key refuses
// the QUIC handshake; the dialer's signals do not even open for it.
func TestWrongPeer(t *testing.T) {
	t.Parallel()
	other := identity(t)
	d, _, dc, _ := agents(t, func(_, l *Config) { l.Peer = other.Public() })
	d.Start()
	if o := <-dc; !errors.Is(o.err, ErrNoAnswer) {
		t.Fatalf("dialer: %v, want ErrNoAnswer (the listener cannot open its offer)", o.err)
	}
}

// TestUDPBlocked: STUN servers that never answer make the attempt fail
// with ErrUDPBlocked, within the STUN budget: at once on a dialer,
// which has nothing to offer; at the dialer too when the listener is
// the blocked one, which says so in its answer.
func TestUDPBlocked(t *testing.T) {
	t.Parallel()
	dead, err := net.ListenPacket("udp4", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	ap := dead.LocalAddr().(*net.UDPAddr).AddrPort()
	stun := func(context.Context) ([]netip.AddrPort, error) { return []netip.AddrPort{ap}, nil }
	for _, side := range []string{"dialer", "listener"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			d, _, dc, lc := agents(t, func(d, l *Config) {
				if side == "dialer" {
					d.STUN = stun
				} else {
					l.STUN = stun
				}
			})
			start := time.Now()
			d.Start()
			o := <-dc
			if !errors.Is(o.err, ErrUDPBlocked) {
				t.Fatalf("dialer: %v, want ErrUDPBlocked", o.err)
			}
			t.Logf("dialer: %v", o.err)
			if side == "listener" {
				if o := <-lc; !errors.Is(o.err, ErrUDPBlocked) {
					t.Fatalf("listener: %v, want ErrUDPBlocked", o.err)
				}
			}
			if el := time.Since(start); el > stunBudget+5*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestCloseDuringAttempt: Close ends an attempt under way at once and
// leaves nothing running (TestMain checks goroutines).
func TestCloseDuringAttempt(t *testing.T) {
	d, _, dc, _ := agents(t, func(d, _ *Config) { d.Send = func([]byte) error { return nil } })
	d.Start()
	time.Sleep(100 * time.Millisecond)
	d.Close()
	if o := <-dc; !errors.Is(o.err, context.Canceled) {
		t.Fatalf("dialer: %v, want context.Canceled", o.err)
	}
}

// TestSignalsOutOfOrder runs attempts whose signals arrive late,
// twice, or three times, in random order: each must still end with a
// carrier on both sides, and nothing left running.
func TestSignalsOutOfOrder(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			jumble := func(deliver func() *Agent) func(p []byte) error {
				return func(p []byte) error {
					for range 1 + mrand.N(3) {
						delay := time.Duration(mrand.N(200)) * time.Millisecond
						time.AfterFunc(delay, func() { deliver().Signal(p) })
					}
					return nil
				}
			}
			var d, l *Agent
			d, l, dc, lc := agents(t, func(dcfg, lcfg *Config) {
				dcfg.Send = jumble(func() *Agent { return l })
				lcfg.Send = jumble(func() *Agent { return d })
			})
			d.Start()
			dcar, lcar := connected(t, dc, lc)
			dcar.Close()
			lcar.Close()
			time.Sleep(300 * time.Millisecond) // the last late signals
		})
	}
}

// TestFamilies punches on loopback with the candidates of each family
// a side has: the carrier's remote address is of the family both share,
// IPv4 given as IPv4 (not ::ffff:a.b.c.d) on the dual-stack socket.
func TestFamilies(t *testing.T) {
	v4only := func(ctx context.Context, network, addr string) (net.PacketConn, error) {
		if network != "udp4" {
			return nil, errors.New("no IPv6 here")
		}
		return (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
	}
	hosts := func(s ...string) func() ([]netip.Addr, error) {
		return func() ([]netip.Addr, error) {
			var out []netip.Addr
			for _, a := range s {
				out = append(out, netip.MustParseAddr(a))
			}
			return out, nil
		}
	}
	for _, tc := range []struct {
		name   string
		tweak  func(d, l *Config)
		want6  bool
		remote string
	}{
		{"IPv6 only", func(d, l *Config) { d.HostAddrs, l.HostAddrs = hosts("::1"), hosts("::1") }, true, "::1"},
		{"dialer IPv4 only", func(d, l *Config) {
			d.HostAddrs, l.HostAddrs = hosts("::1", "127.0.0.1"), hosts("::1", "127.0.0.1")
			d.ListenPacket = v4only
		}, false, "127.0.0.1"},
		{"listener IPv4 only", func(d, l *Config) {
			d.HostAddrs, l.HostAddrs = hosts("::1", "127.0.0.1"), hosts("::1", "127.0.0.1")
			l.ListenPacket = v4only
		}, false, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, dc, lc := agents(t, tc.tweak)
			if !d.Start() {
				t.Fatal("Start: false")
			}
			do, lo := <-dc, <-lc
			if do.err != nil || lo.err != nil {
				t.Fatalf("dialer: %v, listener: %v", do.err, lo.err)
			}
			defer do.c.Close()
			defer lo.c.Close()
			for side, c := range map[string]*Carrier{"dialer": do.c, "listener": lo.c} {
				ra, ok := c.RemoteAddr().(*net.UDPAddr)
				if !ok || ra.AddrPort().Addr().String() != tc.remote {
					t.Errorf("%s's carrier: remote %v, want %s", side, c.RemoteAddr(), tc.remote)
				}
			}
			go do.c.Write([]byte("ping"))
			b := make([]byte, 4)
			if _, err := io.ReadFull(lo.c, b); err != nil || string(b) != "ping" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}

// TestFamilyResult: the mapping comes from the answers of one family:
// IPv6 answers do not make an IPv4 cone look symmetric.
func TestFamilyResult(t *testing.T) {
	ap := netip.MustParseAddrPort
	answers := []stun.Answer{
		{Server: ap("192.0.2.1:3478"), Mapped: ap("198.51.100.1:1000")},
		{Server: ap("192.0.2.1:3479"), Mapped: ap("198.51.100.1:1000")},
		{Server: ap("[2001:db8::1]:3478"), Mapped: ap("[2001:db8::9]:5000")},
		{Server: ap("[2001:db8::1]:3479")}, // no answer
	}
	if r, m := familyResult(answers, true); r != ap("198.51.100.1:1000") || m != mapIndependent {
		t.Errorf("IPv4: %v, %d", r, m)
	}
	if r, m := familyResult(answers, false); r != ap("[2001:db8::9]:5000") || m != mapUnknown {
		t.Errorf("IPv6: %v, %d", r, m)
	}
	answers[1].Mapped = ap("198.51.100.1:1001")
	if _, m := familyResult(answers, true); m != mapDependent {
		t.Errorf("IPv4, two ports: %d, want dependent", m)
	}
}
