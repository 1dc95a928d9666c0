package tcp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// grammar reads segments by the rules of the net plug.
var grammar = &address.Parser{Kinds: []address.Kind{tcp.Kind()}}

func seg(t *testing.T, s string) address.Segment {
	t.Helper()
	a, err := grammar.ParseSegment(s, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDialListen(t *testing.T) {
	for _, s := range []string{"net:127.0.0.1:0", "net:::1:0", "net:localhost:0"} {
		t.Run(s, func(t *testing.T) {
			if strings.Contains(s, "::1") && !nettest.SupportsIPv6() {
				t.Skip("no IPv6 on this host")
			}
			p := &tcp.Plug{}
			ln, err := p.Listen(context.Background(), seg(t, s))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			segs := ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)
			if len(segs) != 1 {
				t.Fatalf("Advertise(device) = %v, want one segment", segs)
			}
			if _, port, err := address.HostPort(segs[0]); err != nil || port == 0 {
				t.Fatalf("Advertise(device) = %v (%v), want a real port", segs[0], err)
			}
			// What is advertised parses back and dials.
			back, err := grammar.ParseSegment(segs[0].String(), 0)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				c, err := ln.Accept()
				if err == nil {
					c.Write([]byte("ok"))
					c.Close()
				}
			}()
			c, err := p.Dial(context.Background(), back)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if b, _ := io.ReadAll(c); string(b) != "ok" {
				t.Fatalf("read %q", b)
			}
		})
	}
}

func TestAdvertiseWildcard(t *testing.T) {
	p := &tcp.Plug{}
	ln, err := p.Listen(context.Background(), seg(t, "net:0.0.0.0:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ad := ln.(multiserver.Advertiser)
	for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
		for _, s := range ad.Advertise(scope) {
			host, _, err := address.HostPort(s)
			if err != nil {
				t.Fatal(err)
			}
			ip := netip.MustParseAddr(host)
			if !ip.Is4() || ip.IsUnspecified() || multiserver.ScopeOf(ip) != scope {
				t.Errorf("Advertise(%v) holds %v", scope, s)
			}
		}
	}
	if segs := ad.Advertise(multiserver.ScopeDevice); len(segs) == 0 || !strings.HasPrefix(segs[0].String(), "net:127.") {
		t.Errorf("Advertise(device) = %v, want loopback", segs)
	}
}

func TestExternal(t *testing.T) {
	p := &tcp.Plug{External: []string{"example.org", "2001:db8::1"}}
	ln, err := p.Listen(context.Background(), seg(t, "net:127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	segs := ln.(multiserver.Advertiser).Advertise(multiserver.ScopePublic)
	port := ln.Addr().(*net.TCPAddr).Port
	want := []address.Segment{tcp.Segment("example.org", port), tcp.Segment("2001:db8::1", port)}
	if len(segs) != 2 || !segs[0].Equal(want[0]) || !segs[1].Equal(want[1]) {
		t.Fatalf("Advertise(public) = %v, want %v", segs, want)
	}
	if _, err := grammar.ParseSegment(segs[1].String(), 0); err != nil {
		t.Errorf("advertised %v does not parse: %v", segs[1], err)
	}
}

func TestDialRefused(t *testing.T) {
	p := &tcp.Plug{}
	_, err := p.Dial(context.Background(), seg(t, "net:127.0.0.1:1"))
	var oe *net.OpError
	if err == nil || !strings.Contains(err.Error(), "refused") || !errors.As(err, &oe) {
		t.Fatalf("Dial to a closed port = %v, want a refused *net.OpError", err)
	}
}

func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		p := &tcp.Plug{}
		ln, err := p.Listen(context.Background(), seg(t, "net:127.0.0.1:0"))
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		done := make(chan net.Conn)
		go func() { c, _ := ln.Accept(); done <- c }()
		c1, err = p.Dial(context.Background(), ln.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice)[0])
		c2 = <-done
		if err != nil || c2 == nil {
			return nil, nil, nil, err
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}
