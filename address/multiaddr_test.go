package address_test

import (
	"errors"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"

	. "github.com/f7d52a8e/multiserver/address"
)

// Pairs that convert both ways: segment to multiaddr and back.
var multiaddrTests = []struct {
	name, seg, ma string
}{
	{"net ipv4", "net:203.0.113.5:8008", "/ip4/203.0.113.5/tcp/8008"},
	{"net ipv4 port zero", "net:0.0.0.0:0", "/ip4/0.0.0.0/tcp/0"},
	{"net ipv6", "net:2001:db8::1:8008", "/ip6/2001:db8::1/tcp/8008"},
	{"net ipv6 loopback", "net:::1:1", "/ip6/::1/tcp/1"},
	{"net ipv6 zone", "net:fe80::1%eth0:8008", "/ip6zone/eth0/ip6/fe80::1/tcp/8008"},
	{"net ipv4-mapped", "net:::ffff:192.0.2.1:80", "/ip6/::ffff:192.0.2.1/tcp/80"},
	{"net name", "net:example.org:8008", "/dns/example.org/tcp/8008"},
	{"net localhost", "net:localhost:8008", "/dns/localhost/tcp/8008"},
	{"unix", "unix:/tmp/multiserver-x/socket", "/unix/tmp/multiserver-x/socket"},
	{"unix colon", "unix:/tmp/a:b", "/unix/tmp/a:b"},
	{"ws default port", "ws://ex.org", "/dns/ex.org/tcp/80/ws"},
	{"ws ipv4", "ws://127.0.0.1:38989", "/ip4/127.0.0.1/tcp/38989/ws"},
	{"ws ipv6", "ws://[::1]:38189", "/ip6/::1/tcp/38189/ws"},
	{"ws ipv6 zone", "ws://[fe80::1%25eth0]:9", "/ip6zone/eth0/ip6/fe80::1/tcp/9/ws"},
	{"ws port 443", "ws://h:443", "/dns/h/tcp/443/ws"},
	{"wss default port", "wss://example.com", "/dns/example.com/tcp/443/tls/ws"},
	{"wss port 80", "wss://example.com:80", "/dns/example.com/tcp/80/tls/ws"},
	{"wss ipv6", "wss://[::1]:8443", "/ip6/::1/tcp/8443/tls/ws"},
	{"quic ipv4", "quic:203.0.113.5:8008", "/ip4/203.0.113.5/udp/8008/quic-v1"},
	{"quic ipv6", "quic:::1:8008", "/ip6/::1/udp/8008/quic-v1"},
	{"quic ipv6 zone", "quic:fe80::1%eth0:1", "/ip6zone/eth0/ip6/fe80::1/udp/1/quic-v1"},
	{"quic name", "quic:example.org:443", "/dns/example.org/udp/443/quic-v1"},
}

func TestMultiaddrRoundTrip(t *testing.T) {
	for _, tt := range multiaddrTests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSegment(t, tt.seg)
			m, err := ToMultiaddr(s)
			if err != nil || m.String() != tt.ma {
				t.Fatalf("ToMultiaddr(%q) = %v, %v, want %s", tt.seg, m, err, tt.ma)
			}
			back, err := FromMultiaddr(ma.StringCast(tt.ma))
			if err != nil || !back.Equal(s) {
				t.Fatalf("FromMultiaddr(%s) = %q, %v, want %q", tt.ma, back, err, tt.seg)
			}
		})
	}
}

func TestToMultiaddrOneWay(t *testing.T) {
	for _, tt := range []struct{ seg, ma string }{
		{"net::8008", "/dns/localhost/tcp/8008"},
		{"net:0:0:0:0:0:0:0:1:80", "/ip6/::1/tcp/80"},
		{"net:h:08008", "/dns/h/tcp/8008"},
		{"ws://127.0.0.1:38989/", "/ip4/127.0.0.1/tcp/38989/ws"},
		{"ws://h:80", "/dns/h/tcp/80/ws"},
		{"wss://h:443/", "/dns/h/tcp/443/tls/ws"},
		// A multiaddr carries no key: the transport part alone converts.
		{"quic:203.0.113.5:8008:" + key, "/ip4/203.0.113.5/udp/8008/quic-v1"},
		{"quic:::1:08008:" + keyURL, "/ip6/::1/udp/8008/quic-v1"},
	} {
		m, err := ToMultiaddr(mustSegment(t, tt.seg))
		if err != nil || m.String() != tt.ma {
			t.Errorf("ToMultiaddr(%q) = %v, %v, want %s", tt.seg, m, err, tt.ma)
		}
	}
}

func TestFromMultiaddrOneWay(t *testing.T) {
	for _, tt := range []struct{ ma, seg string }{
		{"/dns4/example.org/tcp/1", "net:example.org:1"},
		{"/dns6/example.org/tcp/1", "net:example.org:1"},
		{"/ip4/192.0.2.1/tcp/443/wss", "wss://192.0.2.1"},
		{"/dns/h/tcp/8443/wss", "wss://h:8443"},
		{"/dns4/h/tcp/80/ws", "ws://h"},
		{"/ip6/0:0:0:0:0:0:0:1/tcp/1", "net:::1:1"},
		{"/dns4/h/udp/1/quic-v1", "quic:h:1"},
		{"/ip6/0:0:0:0:0:0:0:1/udp/1/quic-v1", "quic:::1:1"},
	} {
		s, err := FromMultiaddr(ma.StringCast(tt.ma))
		if err != nil || s.String() != tt.seg {
			t.Errorf("FromMultiaddr(%s) = %q, %v, want %q", tt.ma, s, err, tt.seg)
		}
	}
}

func TestToMultiaddrErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Segment
		err  string
	}{
		{"mem", seg("mem", "a"), `no multiaddr form for "mem:a"`},
		{"onion", seg("onion", "xxxx.onion", "8008"), `no multiaddr form for "onion:xxxx.onion:8008"`},
		{"transform", seg("shs", key), "no multiaddr form for"},
		{"muxer", seg("yamux"), "no multiaddr form for"},
		{"unknown", seg("foo"), "no multiaddr form for"},
		{"ws path", seg("ws", "//h", "1/p"), "path or query"},
		{"wss path", seg("wss", "//example.com/path"), "path or query"},
		{"ws query", seg("ws", "//h/?a=b"), "path or query"},
		{"ws empty query", seg("ws", "//h?"), "path or query"},
		{"unix relative", seg("unix", "sock"), "relative"},
		{"unix trailing slash", seg("unix", "/tmp/"), "/unix"},
		{"unix root", seg("unix", "/"), "/unix"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ToMultiaddr(tt.s)
			if !errors.Is(err, ErrNoMultiaddr) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ToMultiaddr(%q) = %v, %v, want an ErrNoMultiaddr with %q", tt.s, m, err, tt.err)
			}
			if !strings.HasPrefix(err.Error(), "address: ") {
				t.Fatalf("ToMultiaddr(%q) error %q lacks the package prefix", tt.s, err)
			}
		})
	}
	// Invalid segments are ParseErrors, not ErrNoMultiaddr.
	for _, s := range []Segment{seg("net", "h"), seg("net", "a b", "1"), seg("ws", "//u@h"), seg("unix"), seg("net", "h;x", "1"), seg("quic", "h"), seg("quic", "h", "1", "x")} {
		var pe *ParseError
		if m, err := ToMultiaddr(s); !errors.As(err, &pe) || errors.Is(err, ErrNoMultiaddr) {
			t.Errorf("ToMultiaddr(%#v) = %v, %v, want a *ParseError", s, m, err)
		}
	}
}

func TestFromMultiaddrErrors(t *testing.T) {
	for _, tt := range []struct {
		name, ma, err string
	}{
		{"udp alone", "/ip4/192.0.2.1/udp/1", `"" after /udp`},
		{"quic draft 29", "/ip4/192.0.2.1/udp/1/quic", `"/quic" after /udp`},
		{"quic p2p", "/ip4/192.0.2.1/udp/1/quic-v1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC", "after /udp"},
		{"webtransport", "/ip4/192.0.2.1/udp/1/quic-v1/webtransport", "after /udp"},
		{"udp dns numeric", "/dns4/1.2.3/udp/1/quic-v1", "not a valid address"},
		{"no transport", "/ip4/192.0.2.1", "followed by /tcp"},
		{"tcp alone", "/tcp/1", "first protocol /tcp"},
		{"p2p suffix", "/ip4/192.0.2.1/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC", "after /tcp"},
		{"ws then p2p", "/dns/h/tcp/1/ws/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC", "after /tcp"},
		{"tls without ws", "/dns/h/tcp/443/tls", "after /tcp"},
		{"tls sni", "/dns/h/tcp/443/tls/sni/h/ws", "after /tcp"},
		{"dns ip literal", "/dns/192.0.2.1/tcp/1", "is an IP address"},
		{"dns ipv6 literal", "/dns/::1/tcp/1", "is an IP address"},
		{"dns space", "/dns/a b/tcp/1", "not a valid address"},
		{"dns numeric", "/dns4/1.2.3/tcp/1", "not a valid address"},
		{"zone alone", "/ip6zone/eth0/tcp/1", "followed by /ip6"},
		{"zone character", "/ip6zone/e~0/ip6/fe80::1/tcp/1", "not a valid address"},
		{"unix semicolon", "/unix/tmp/a;b", "not a valid address"},
		{"onion3", "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234", "first protocol /onion3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ma.NewMultiaddr(tt.ma)
			if err != nil {
				t.Fatalf("ma.NewMultiaddr(%q) = %v", tt.ma, err)
			}
			s, err := FromMultiaddr(m)
			if !errors.Is(err, ErrNoSegment) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("FromMultiaddr(%s) = %q, %v, want an ErrNoSegment with %q", m, s, err, tt.err)
			}
		})
	}
	// A /unix path swallows the rest of a multiaddr string, so build this
	// one from components.
	m := ma.StringCast("/unix/tmp/s").Encapsulate(ma.StringCast("/ws"))
	if s, err := FromMultiaddr(m); !errors.Is(err, ErrNoSegment) || !strings.Contains(err.Error(), "stand alone") {
		t.Fatalf("FromMultiaddr(/unix/tmp/s + /ws) = %q, %v, want ErrNoSegment", s, err)
	}
	if s, err := FromMultiaddr(nil); !errors.Is(err, ErrNoSegment) {
		t.Fatalf("FromMultiaddr(nil) = %q, %v, want ErrNoSegment", s, err)
	}
}

func mustSegment(t *testing.T, s string) Segment {
	t.Helper()
	seg, err := std.ParseSegment(s, 0)
	if err != nil {
		t.Fatalf("ParseSegment(%q) = %v", s, err)
	}
	return seg
}

// FuzzMultiaddr feeds arbitrary multiaddr bytes to FromMultiaddr. What
// converts must be a valid address and convert back and forth stably.
func FuzzMultiaddr(f *testing.F) {
	for _, tt := range multiaddrTests {
		f.Add(ma.StringCast(tt.ma).Bytes())
	}
	for _, s := range []string{"/dns4/h/tcp/1", "/dns6/h/tcp/1/wss", "/ip4/1.2.3.4/udp/1/quic-v1", "/ip6zone/x/ip6/::1/udp/0/quic-v1", "/ip4/1.2.3.4/udp/1/quic", "/unix/a;b", "/dns/1.2.3.4/tcp/1"} {
		f.Add(ma.StringCast(s).Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return
		}
		s, err := FromMultiaddr(m)
		if err != nil {
			if !errors.Is(err, ErrNoSegment) {
				t.Fatalf("FromMultiaddr(%s) = %v, want ErrNoSegment", m, err)
			}
			return
		}
		if a, err := std.ParseAddr(Addr{s}.String()); err != nil || !a[0].Equal(s) {
			t.Fatalf("ParseAddr(%q) = %v, %v; it came from %s", Addr{s}.String(), a, err, m)
		}
		m2, err := ToMultiaddr(s)
		if err != nil {
			t.Fatalf("ToMultiaddr(%q) = %v; it came from %s", s, err, m)
		}
		s2, err := FromMultiaddr(m2)
		if err != nil || !s2.Equal(s) {
			t.Fatalf("FromMultiaddr(%s) = %q, %v, want %q", m2, s2, err, s)
		}
		if m3, err := ToMultiaddr(s2); err != nil || !m3.Equal(m2) {
			t.Fatalf("ToMultiaddr(%q) = %v, %v, want %s", s2, m3, err, m2)
		}
		// Only the aliases /dns4, /dns6 and /wss change on the way.
		if !m2.Equal(m) {
			aliased := false
			for _, p := range m.Protocols() {
				aliased = aliased || p.Code == ma.P_DNS4 || p.Code == ma.P_DNS6 || p.Code == ma.P_WSS
			}
			if !aliased {
				t.Fatalf("ToMultiaddr(FromMultiaddr(%s)) = %s", m, m2)
			}
		}
	})
}
