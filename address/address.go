package address

import (
	"strings"
)

// A Segment is one layer of an address, such as "net:203.0.113.5:8008",
// "shs:KEY" or "ws://[::1]:8989/path", held without escapes.
//
// Name is the text before the first ':'; Fields are the ':'-separated
// texts after it. A layer without ':' (such as "noauth") has no Fields; a
// layer "shs:" has one empty field. Each layer kind reads its fields its
// own way: the net plug takes the last field as the port and joins the
// others as the host, so IPv6 hosts appear unbracketed; the ws plug reads
// the whole segment as a URL.
type Segment struct {
	Name   string
	Fields []string
}

// String returns the segment as it appears in an address, without the
// escaping that [Addr.String] adds.
func (s Segment) String() string {
	if s.Fields == nil {
		return s.Name
	}
	return s.Name + ":" + strings.Join(s.Fields, ":")
}

// Value returns the segment without its name: its fields joined by ':'.
func (s Segment) Value() string { return strings.Join(s.Fields, ":") }

// Equal reports whether s and t are the same layer with the same fields.
func (s Segment) Equal(t Segment) bool {
	if s.Name != t.Name || len(s.Fields) != len(t.Fields) || (s.Fields == nil) != (t.Fields == nil) {
		return false
	}
	for i := range s.Fields {
		if s.Fields[i] != t.Fields[i] {
			return false
		}
	}
	return true
}

// An Addr is one address: a plug segment followed by the transform
// segments that upgrade its connections, in order. The last transform may
// be a muxer ("yamux").
type Addr []Segment

// Plug returns the first segment, the transport. It returns the zero
// Segment for an empty Addr.
func (a Addr) Plug() Segment {
	if len(a) == 0 {
		return Segment{}
	}
	return a[0]
}

// Transforms returns the segments after the plug.
func (a Addr) Transforms() []Segment {
	if len(a) == 0 {
		return nil
	}
	return a[1:]
}

// PeerKey returns the key that names the peer behind a, as written: the
// key of a plug segment written HOST:PORT:KEY, as a quic plug's is (see
// [HostPortKey]), or else the first field of the first transform that
// has one ("shs:KEY", "noise:KEY"). It returns "" if a carries no key.
func (a Addr) PeerKey() string {
	if p := a.Plug(); len(p.Fields) > 2 {
		if _, _, key, err := HostPortKey(p); err == nil && key != nil {
			return p.Fields[len(p.Fields)-1]
		}
	}
	for _, s := range a.Transforms() {
		if len(s.Fields) > 0 && s.Fields[0] != "" {
			return s.Fields[0]
		}
	}
	return ""
}

// String returns the address as JavaScript multiserver writes it: the
// segments joined by '~', with '~' and '!' inside a segment escaped as
// "!~" and "!!".
func (a Addr) String() string {
	var b strings.Builder
	for i, s := range a {
		if i > 0 {
			b.WriteByte('~')
		}
		escape(&b, s.String())
	}
	return b.String()
}

// Equal reports whether a and b hold equal segments.
func (a Addr) Equal(b Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// A List is a multiserver address: alternative addresses for one peer, in
// the order the peer prefers them.
type List []Addr

// String returns the addresses joined by ';'.
func (l List) String() string {
	parts := make([]string, len(l))
	for i, a := range l {
		parts[i] = a.String()
	}
	return strings.Join(parts, ";")
}

// Equal reports whether l and m hold equal addresses in the same order.
func (l List) Equal(m List) bool {
	if len(l) != len(m) {
		return false
	}
	for i := range l {
		if !l[i].Equal(m[i]) {
			return false
		}
	}
	return true
}

func escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '~' || c == '!' {
			b.WriteByte('!')
		}
		b.WriteByte(s[i])
	}
}
