package punch

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func testMessages() []*message {
	return []*message{
		{typ: msgOffer, role: roleDialer, session: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, secret: [16]byte{9}, mapping: mapIndependent, cands: []candidate{
			{candHost, netip.MustParseAddrPort("10.77.1.2:40000")},
			{candReflexive, netip.MustParseAddrPort("198.51.100.2:40000")},
			{candHost, netip.MustParseAddrPort("[2001:db8::1]:40000")},
		}},
		{typ: msgAnswer, role: roleListener, session: [8]byte{1}, mapping: mapDependent, cands: []candidate{{candReflexive, netip.MustParseAddrPort("203.0.113.7:1")}}},
		{typ: msgAnswer, role: roleListener, session: [8]byte{2}, mapping: mapBlocked},
		{typ: msgDecline, role: roleListener, session: [8]byte{3}, reason: declineBusy},
	}
}

// ipv6Messages are messages with IPv6 candidates, as a dual-stack side
// sends them: global and unique-local host addresses and an IPv6
// reflexive one, and a full list of both families.
func ipv6Messages() []*message {
	full := &message{typ: msgOffer, role: roleDialer, session: [8]byte{7}, secret: [16]byte{1, 2}, mapping: mapIndependent}
	for i := range 3 {
		full.cands = append(full.cands,
			candidate{candHost, netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 50000)},
			candidate{candHost, netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", i+1)), 50000)})
	}
	full.cands = append(full.cands,
		candidate{candReflexive, netip.MustParseAddrPort("198.51.100.9:61000")},
		candidate{candReflexive, netip.MustParseAddrPort("[2001:db8:ffff::9]:50000")})
	return []*message{
		{typ: msgAnswer, role: roleListener, session: [8]byte{5}, mapping: mapUnknown, cands: []candidate{
			{candHost, netip.MustParseAddrPort("[fd12:3456:789a::1]:443")},
			{candReflexive, netip.MustParseAddrPort("[2001:db8:1::77]:443")},
		}},
		full,
	}
}

// TestIPv6Messages: messages with IPv6 candidates, up to the full eight
// of both families, decode to themselves; an IPv4-mapped address sent as
// family 6 is refused.
func TestIPv6Messages(t *testing.T) {
	for _, m := range ipv6Messages() {
		b := m.append(nil)
		got, err := decodeMessage(b)
		if err != nil {
			t.Fatalf("%x: %v", b, err)
		}
		if !bytes.Equal(got.append(nil), b) || len(got.cands) != len(m.cands) {
			t.Errorf("%x decodes to %+v", b, got)
		}
	}
	b := (&message{typ: msgAnswer, role: roleListener, cands: []candidate{{candHost, netip.MustParseAddrPort("[2001:db8::2]:7")}}}).append(nil)
	copy(b[len(b)-18:], netip.MustParseAddr("::ffff:192.0.2.1").AsSlice())
	if _, err := decodeMessage(b); !errors.Is(err, ErrMessage) {
		t.Errorf("IPv4-mapped address as family 6: %v, want ErrMessage", err)
	}
}

// TestMessageRoundTrip: every message decodes to itself, and every
// prefix of it is refused.
func TestMessageRoundTrip(t *testing.T) {
	for _, m := range testMessages() {
		b := m.append(nil)
		got, err := decodeMessage(b)
		if err != nil {
			t.Fatalf("%x: %v", b, err)
		}
		if !bytes.Equal(got.append(nil), b) {
			t.Errorf("%x decodes to %+v", b, got)
		}
		for i := range len(b) {
			if _, err := decodeMessage(b[:i]); !errors.Is(err, ErrMessage) {
				t.Errorf("prefix %x: %v, want ErrMessage", b[:i], err)
			}
		}
		if _, err := decodeMessage(append(b, 0)); !errors.Is(err, ErrMessage) {
			t.Errorf("with a byte more: %v, want ErrMessage", err)
		}
	}
}

// TestSealing: a sealed signal opens only for the peer, and any
// altered byte makes it fail.
func TestSealing(t *testing.T) {
	a, b, c := identity(t), identity(t), identity(t)
	ab, _ := newSealer(a.Private(), b.Public())
	ba, _ := newSealer(b.Private(), a.Public())
	cb, _ := newSealer(c.Private(), b.Public())
	m := testMessages()[0]
	sealed := ab.seal(m)
	if got, err := ba.open(sealed); err != nil || !bytes.Equal(got.append(nil), m.append(nil)) {
		t.Fatalf("open: %v", err)
	}
	if _, err := cb.open(sealed); !errors.Is(err, ErrMessage) {
		t.Errorf("a third key opened it: %v", err)
	}
	for i := range sealed {
		x := bytes.Clone(sealed)
		x[i] ^= 1
		if _, err := ba.open(x); !errors.Is(err, ErrMessage) {
			t.Fatalf("byte %d altered: %v, want ErrMessage", i, err)
		}
	}
}

// TestProbe: a probe decodes under its secret only.
func TestProbe(t *testing.T) {
	p := probe{kind: kindAckListener, session: [8]byte{7}, seq: 42}
	b := appendProbe(nil, []byte("secret"), p)
	if len(b) != probeSize || !isProbe(b) || b[0]&0xc0 != 0 {
		t.Fatalf("probe %x", b)
	}
	if got, ok := decodeProbe(b, []byte("secret")); !ok || got != p {
		t.Errorf("decode = %+v, %v", got, ok)
	}
	if _, ok := decodeProbe(b, []byte("other")); ok {
		t.Error("decoded under another secret")
	}
}

// FuzzDecodeMessage decodes any bytes as a signal: no panic, and what
// decodes encodes back to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range testMessages() {
		f.Add(m.append(nil))
	}
	for _, m := range ipv6Messages() {
		b := m.append(nil)
		f.Add(b)
		f.Add(b[:len(b)-3]) // a candidate cut short
	}
	// Family 6 carrying an IPv4-mapped address, and family 6 with 4
	// bytes of address: both malformed, past the header.
	mapped := (&message{typ: msgAnswer, role: roleListener, mapping: mapIndependent, cands: []candidate{
		{candHost, netip.MustParseAddrPort("[2001:db8::2]:7")}}}).append(nil)
	copy(mapped[len(mapped)-18:], netip.MustParseAddr("::ffff:192.0.2.1").AsSlice())
	f.Add(mapped)
	short := (&message{typ: msgAnswer, role: roleListener, mapping: mapIndependent, cands: []candidate{
		{candHost, netip.MustParseAddrPort("192.0.2.1:7")}}}).append(nil)
	short[len(short)-7] = 6
	f.Add(short)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if again := m.append(nil); !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, m, again)
		}
	})
}

// FuzzDecodeProbe: no panic on any packet.
func FuzzDecodeProbe(f *testing.F) {
	f.Add(appendProbe(nil, []byte("k"), probe{kind: kindProbeDialer, seq: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeProbe(b, []byte("k"))
	})
}
