package address

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	ma "github.com/multiformats/go-multiaddr"
)

var (
	// ErrNoMultiaddr reports a segment that has no multiaddr form: a mem,
	// onion or unknown plug, a transform, a ws URL with a path or query, a
	// relative unix path.
	ErrNoMultiaddr = errors.New("address: no multiaddr form")
	// ErrNoSegment reports a valid multiaddr that has no segment form, such
	// as one over plain UDP or one that names a peer (/p2p).
	ErrNoSegment = errors.New("address: no segment form")
)

// ToMultiaddr returns the multiaddr for a plug segment:
//
//	net:203.0.113.5:8008        /ip4/203.0.113.5/tcp/8008
//	net:fe80::1%eth0:8008       /ip6zone/eth0/ip6/fe80::1/tcp/8008
//	net:example.org:8008        /dns/example.org/tcp/8008
//	unix:/run/ms.sock           /unix/run/ms.sock
//	ws://example.org            /dns/example.org/tcp/80/ws
//	wss://[::1]:8443/           /ip6/::1/tcp/8443/tls/ws
//	quic:203.0.113.5:8008:KEY   /ip4/203.0.113.5/udp/8008/quic-v1
//
// An empty net host, which JavaScript multiserver reads as localhost,
// becomes /dns/localhost. A ws or wss URL without a port gets 80 or 443.
// A multiaddr describes the transport only, so the key of a quic segment
// is left out, as the key of "net:H:P~shs:KEY" is (it lives in the shs
// segment); /quic-v1 names QUIC version 1 on the wire, not libp2p's
// handshake, which a quic plug does not speak.
// A segment that is valid but cannot be expressed (see [ErrNoMultiaddr])
// gives an error wrapping ErrNoMultiaddr; an invalid one gives a
// [*ParseError].
func ToMultiaddr(s Segment) (ma.Multiaddr, error) {
	switch s.Name {
	case "net", "unix", "ws", "wss", "quic":
	default:
		return nil, noMultiaddr(s, "")
	}
	if err := checkTransport(s); err != nil {
		return nil, &ParseError{Input: s.String(), Msg: err.Error()}
	}
	var (
		parts []string // protocol, value, protocol, value...
		host  string
		port  int
	)
	switch s.Name {
	case "net":
		host, port, _ = HostPort(s)
		if host == "" {
			host = "localhost"
		}
	case "quic":
		host, port, _, _ = HostPortKey(s)
	case "unix":
		p := s.Value()
		if !strings.HasPrefix(p, "/") {
			return nil, noMultiaddr(s, "the path is relative")
		}
		return join(s, "unix", p)
	case "ws", "wss":
		u, _ := URL(s)
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery {
			return nil, noMultiaddr(s, "the URL has a path or query")
		}
		host = u.Hostname()
		port = 80
		if s.Name == "wss" {
			port = 443
		}
		if p := u.Port(); p != "" {
			port, _ = strconv.Atoi(p)
		}
	}
	if ip, err := netip.ParseAddr(host); err != nil {
		parts = append(parts, "dns", host)
	} else if ip.Is4() {
		parts = append(parts, "ip4", ip.String())
	} else {
		if z := ip.Zone(); z != "" {
			parts = append(parts, "ip6zone", z)
		}
		parts = append(parts, "ip6", ip.WithZone("").String())
	}
	if s.Name == "quic" {
		return join(s, append(parts, "udp", strconv.Itoa(port), "quic-v1", "")...)
	}
	parts = append(parts, "tcp", strconv.Itoa(port))
	switch s.Name {
	case "ws":
		parts = append(parts, "ws", "")
	case "wss":
		parts = append(parts, "tls", "", "ws", "")
	}
	return join(s, parts...)
}

// checkTransport reports what is wrong with s, one of the segments that
// have a multiaddr form, by the rules of its layer. The multiaddr table
// is this package's, as the multiaddr notation is fixed; the rules of
// each layer are its plug's (plugs/tcp, plugs/unix, plugs/ws,
// plugs/quic), which read their fields with the same helpers.
func checkTransport(s Segment) error {
	err := (*Parser)(nil).check(s, 0)
	if err != nil {
		return err
	}
	switch s.Name {
	case "net":
		_, _, err = HostPort(s)
	case "quic":
		_, _, _, err = HostPortKey(s)
	case "unix":
		if s.Value() == "" {
			err = errors.New("want unix:PATH")
		}
	case "ws", "wss":
		_, err = URL(s)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

// join builds a multiaddr from protocol names and values.
func join(s Segment, parts ...string) (ma.Multiaddr, error) {
	var m ma.Multiaddr
	for i := 0; i < len(parts); i += 2 {
		c, err := ma.NewComponent(parts[i], parts[i+1])
		if err != nil {
			return nil, fmt.Errorf("%w for %q: /%s: %w", ErrNoMultiaddr, s.String(), parts[i], err)
		}
		m = append(m, *c)
	}
	return m, nil
}

func noMultiaddr(s Segment, why string) error {
	if why == "" {
		return fmt.Errorf("%w for %q", ErrNoMultiaddr, s.String())
	}
	return fmt.Errorf("%w for %q: %s", ErrNoMultiaddr, s.String(), why)
}

// FromMultiaddr returns the plug segment for a multiaddr, the inverse of
// [ToMultiaddr]. It reads /ip4, /ip6 (after an optional /ip6zone), /dns,
// /dns4 and /dns6 hosts followed by /tcp, optionally followed by /ws,
// /tls/ws or /wss, or by /udp/PORT/quic-v1; and /unix paths. A ws or wss
// URL omits the port when it is the scheme's default. A quic segment
// comes without a key, since a multiaddr has none to give: add the peer's
// key before dialing. Any other multiaddr gives an error wrapping
// [ErrNoSegment].
func FromMultiaddr(m ma.Multiaddr) (Segment, error) {
	if len(m) == 0 {
		return Segment{}, fmt.Errorf("%w for an empty multiaddr", ErrNoSegment)
	}
	seg, err := fromMultiaddr(m)
	if err != nil {
		return Segment{}, fmt.Errorf("%w for %s: %w", ErrNoSegment, m, err)
	}
	// What we built must read back as itself; this guards against values
	// that a multiaddr holds but an address cannot, such as ';'.
	if a, err := ParseAddr(Addr{seg}.String()); err != nil || !a[0].Equal(seg) || checkTransport(seg) != nil {
		return Segment{}, fmt.Errorf("%w for %s: %q is not a valid address", ErrNoSegment, m, Addr{seg}.String())
	}
	return seg, nil
}

func fromMultiaddr(m ma.Multiaddr) (Segment, error) {
	c := func(i int) *ma.Component { return &m[i] }
	if c(0).Code() == ma.P_UNIX {
		if len(m) != 1 {
			return Segment{}, errors.New("a unix path must stand alone")
		}
		return Segment{Name: "unix", Fields: strings.Split(c(0).Value(), ":")}, nil
	}
	var host string
	i := 0
	switch c(0).Code() {
	case ma.P_IP4, ma.P_IP6:
		host = c(0).Value()
		i = 1
	case ma.P_IP6ZONE:
		if len(m) < 2 || c(1).Code() != ma.P_IP6 {
			return Segment{}, errors.New("/ip6zone must be followed by /ip6")
		}
		host = c(1).Value() + "%" + c(0).Value()
		i = 2
	case ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
		host = c(0).Value()
		if _, err := netip.ParseAddr(host); err == nil || strings.Contains(host, ":") {
			return Segment{}, fmt.Errorf("DNS name %q is an IP address", host)
		}
		i = 1
	default:
		return Segment{}, fmt.Errorf("unsupported first protocol /%s", c(0).Protocol().Name)
	}
	if i < len(m) && c(i).Code() == ma.P_UDP {
		if rest := protocolNames(m[i+1:]); rest != "/quic-v1" {
			return Segment{}, fmt.Errorf("unsupported protocols %q after /udp, want /quic-v1", rest)
		}
		return Segment{Name: "quic", Fields: append(strings.Split(unbracketed(host), ":"), c(i).Value())}, nil
	}
	if i >= len(m) || c(i).Code() != ma.P_TCP {
		return Segment{}, errors.New("the host must be followed by /tcp or /udp")
	}
	port := c(i).Value()
	var scheme string
	switch rest := protocolNames(m[i+1:]); rest {
	case "":
		return Segment{Name: "net", Fields: append(strings.Split(unbracketed(host), ":"), port)}, nil
	case "/ws":
		scheme = "ws"
	case "/tls/ws", "/wss":
		scheme = "wss"
	default:
		return Segment{}, fmt.Errorf("unsupported protocols %s after /tcp", rest)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host = "[" + ip.WithZone("").String()
		if z := ip.Zone(); z != "" {
			host += "%25" + z
		}
		host += "]"
	}
	if !(scheme == "ws" && port == "80" || scheme == "wss" && port == "443") {
		host += ":" + port
	}
	return Segment{Name: scheme, Fields: strings.Split("//"+host, ":")}, nil
}

// unbracketed returns host as net and quic segments hold it: an IP address
// in its shortest form, never bracketed, or a name as is.
func unbracketed(host string) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String()
	}
	return host
}

// protocolNames returns the protocol names of m, as "/tls/ws", or "/?" for
// a protocol that carries a value.
func protocolNames(m ma.Multiaddr) string {
	var b strings.Builder
	for i := range m {
		c := &m[i]
		b.WriteString("/" + c.Protocol().Name)
		if c.Protocol().Size != 0 {
			b.WriteString("/?")
		}
	}
	return b.String()
}
