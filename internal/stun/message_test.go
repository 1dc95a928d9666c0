package stun

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// TestDecodeStrict: every malformed message is refused with ErrMessage.
func TestDecodeStrict(t *testing.T) {
	id := TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	good := (&Message{Type: BindingSuccess, ID: id,
		Attrs:       []Attr{{AttrXORMappedAddress, XORAddress(netip.MustParseAddrPort("192.0.2.1:4242"), id)}, SoftwareAttr("x")},
		Fingerprint: true}).Append(nil)
	if _, err := Decode(good); err != nil {
		t.Fatalf("Decode(good): %v", err)
	}
	edit := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	setLen := func(b []byte, n int) []byte { binary.BigEndian.PutUint16(b[2:], uint16(n)); return b }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:19]},
		{"top bits", edit(func(b []byte) []byte { b[0] |= 0x80; return b })},
		{"cookie", edit(func(b []byte) []byte { b[4] ^= 1; return b })},
		{"length too long", edit(func(b []byte) []byte { return setLen(b, len(b)-HeaderSize+4) })},
		{"length too short", edit(func(b []byte) []byte { return setLen(b, len(b)-HeaderSize-4) })},
		{"truncated", edit(func(b []byte) []byte { return setLen(b[:len(b)-4], len(b)-4-HeaderSize) })},
		{"length not multiple of 4", edit(func(b []byte) []byte { return setLen(append(b, 0, 0), len(b)+2-HeaderSize) })},
		{"attribute past the end", edit(func(b []byte) []byte { b[HeaderSize+3] = 200; return b })},
		{"padding past the end", append(setLen(append([]byte(nil), good[:HeaderSize]...), 8), 0x80, 0x22, 0, 5, 'a', 'b', 'c', 'd')},
		{"fingerprint wrong", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
		{"fingerprint not last", edit(func(b []byte) []byte {
			b = append(b, 0x80, 0x22, 0, 0)
			return setLen(b, len(b)-HeaderSize)
		})},
		{"body changed under fingerprint", edit(func(b []byte) []byte { b[HeaderSize+5] ^= 1; return b })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := Decode(tt.b); !errors.Is(err, ErrMessage) {
				t.Fatalf("Decode = %+v, %v; want ErrMessage", m, err)
			}
		})
	}
}

func TestXORMappedAddress(t *testing.T) {
	id := NewTransactionID()
	for _, a := range []string{"192.0.2.1:1", "[::ffff:192.0.2.1]:65535", "[2001:db8::1]:3478", "0.0.0.0:0"} {
		addr := netip.MustParseAddrPort(a)
		m := &Message{Type: BindingSuccess, ID: id, Attrs: []Attr{{AttrXORMappedAddress, XORAddress(addr, id)}}}
		got, err := m.XORMappedAddress()
		want := netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		if err != nil || got != want {
			t.Errorf("%s: XORMappedAddress = %v, %v; want %v", a, got, err, want)
		}
	}
	for name, v := range map[string][]byte{
		"family 3":    {0, 3, 0, 0, 1, 2, 3, 4},
		"short IPv4":  {0, 1, 0, 0, 1, 2, 3},
		"IPv6 length": {0, 2, 0, 0, 1, 2, 3, 4},
		"empty":       {},
	} {
		m := &Message{Attrs: []Attr{{AttrXORMappedAddress, v}}}
		if a, err := m.XORMappedAddress(); !errors.Is(err, ErrMessage) {
			t.Errorf("%s: %v, %v; want ErrMessage", name, a, err)
		}
	}
}

// TestAfterIntegrity: attributes after MESSAGE-INTEGRITY are ignored but
// for MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.5).
func TestAfterIntegrity(t *testing.T) {
	m := &Message{Type: BindingRequest, Attrs: []Attr{
		{AttrMessageIntegrity, make([]byte, 20)},
		{AttrXORMappedAddress, make([]byte, 8)},
		{AttrMessageIntegrity256, make([]byte, 32)},
	}, Fingerprint: true}
	d, err := Decode(m.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attrs) != 2 || d.Attrs[1].Type != AttrMessageIntegrity256 {
		t.Fatalf("attributes %+v, want MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256", d.Attrs)
	}
}
