package stun

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
)

// Wire constants (RFC 8489 §5, §14).
const (
	HeaderSize  = 20         // type(2) length(2) cookie(4) transaction id(12)
	MagicCookie = 0x2112A442 // bytes 4..7 of every message

	// fingerprintXOR is XORed into the CRC-32 of FINGERPRINT ("STUN").
	fingerprintXOR = 0x5354554e
	// fingerprintSize is the FINGERPRINT attribute, header included.
	fingerprintSize = 8
)

// Type is a message type: a method and a class (RFC 8489 §5).
type Type uint16

// The message types of the Binding method.
const (
	BindingRequest    Type = 0x0001
	BindingIndication Type = 0x0011
	BindingSuccess    Type = 0x0101
	BindingError      Type = 0x0111
)

func (t Type) String() string {
	switch t {
	case BindingRequest:
		return "Binding request"
	case BindingIndication:
		return "Binding indication"
	case BindingSuccess:
		return "Binding success response"
	case BindingError:
		return "Binding error response"
	}
	return fmt.Sprintf("type %#04x", uint16(t))
}

// AttrType is an attribute type. Those below 0x8000 are
// comprehension-required, the others comprehension-optional.
type AttrType uint16

// The attributes this package knows; others are kept undecoded.
const (
	AttrMappedAddress       AttrType = 0x0001 // family + port + address, in clear (RFC 3489 servers)
	AttrUsername            AttrType = 0x0006
	AttrMessageIntegrity    AttrType = 0x0008 // HMAC-SHA1, 20 bytes (not checked here)
	AttrErrorCode           AttrType = 0x0009
	AttrXORMappedAddress    AttrType = 0x0020 // 0 + family(1) + x-port(2) + x-address(4 or 16)
	AttrMessageIntegrity256 AttrType = 0x001C
	AttrSoftware            AttrType = 0x8022 // UTF-8, at most 763 bytes
	AttrFingerprint         AttrType = 0x8028 // CRC-32 of the message before it, XOR 0x5354554e
)

// Address families of (XOR-)MAPPED-ADDRESS.
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// maxSoftware bounds SOFTWARE (RFC 8489 §14.14: fewer than 128
// characters, up to 763 bytes).
const maxSoftware = 763

// TransactionID is the 96-bit transaction id of a message.
type TransactionID [12]byte

// NewTransactionID returns a random transaction id.
func NewTransactionID() TransactionID {
	var id TransactionID
	rand.Read(id[:])
	return id
}

// Attr is one attribute: its type and its value, without padding.
type Attr struct {
	Type  AttrType
	Value []byte
}

// Message is a STUN message.
type Message struct {
	Type Type
	ID   TransactionID
	// Attrs are the attributes in order, FINGERPRINT excluded. From
	// [Decode], values alias the decoded bytes, and the attributes after
	// MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 are left out
	// (RFC 8489 §14.5: they are to be ignored).
	Attrs []Attr
	// Fingerprint is, from Decode, whether the message ended with a
	// FINGERPRINT (which Decode checked); to Append, whether to add one.
	Fingerprint bool
}

// ErrMessage is what every decoding error matches with errors.Is.
var ErrMessage = errors.New("stun: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMessage}, args...)...)
}

// IsMessage reports whether b looks like a STUN message: the top two
// bits zero, the magic cookie, and a length that fits b exactly and is a
// multiple of 4. It is the cheap test that tells STUN from other
// packets on a shared socket; [Decode] checks the rest.
func IsMessage(b []byte) bool {
	return len(b) >= HeaderSize && b[0]&0xc0 == 0 &&
		binary.BigEndian.Uint32(b[4:]) == MagicCookie &&
		int(binary.BigEndian.Uint16(b[2:])) == len(b)-HeaderSize &&
		len(b)%4 == 0
}

// Decode parses b, a whole message. It is strict: the header must pass
// [IsMessage], every attribute (and its padding) must lie within the
// length, and a FINGERPRINT must be the last attribute and match. The
// values of the attributes alias b. Errors match [ErrMessage].
func Decode(b []byte) (*Message, error) {
	switch {
	case len(b) < HeaderSize:
		return nil, malformed("%d bytes, shorter than the header", len(b))
	case b[0]&0xc0 != 0:
		return nil, malformed("the top two bits are not zero")
	case binary.BigEndian.Uint32(b[4:]) != MagicCookie:
		return nil, malformed("no magic cookie")
	case int(binary.BigEndian.Uint16(b[2:])) != len(b)-HeaderSize:
		return nil, malformed("length %d, but %d bytes follow the header", binary.BigEndian.Uint16(b[2:]), len(b)-HeaderSize)
	case len(b)%4 != 0:
		return nil, malformed("length %d is not a multiple of 4", len(b)-HeaderSize)
	}
	m := &Message{Type: Type(binary.BigEndian.Uint16(b))}
	copy(m.ID[:], b[8:HeaderSize])
	integrity := false // a MESSAGE-INTEGRITY came before
	for off := HeaderSize; off < len(b); {
		if len(b)-off < 4 {
			return nil, malformed("attribute header past the end at %d", off)
		}
		typ := AttrType(binary.BigEndian.Uint16(b[off:]))
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		end := off + 4 + n
		padded := off + 4 + (n+3)&^3
		if padded > len(b) {
			return nil, malformed("attribute %#04x of %d bytes at %d runs past the end", uint16(typ), n, off)
		}
		val := b[off+4 : end : end]
		if typ == AttrFingerprint {
			if padded != len(b) {
				return nil, malformed("FINGERPRINT is not the last attribute")
			}
			if n != 4 {
				return nil, malformed("FINGERPRINT of %d bytes", n)
			}
			if got, want := binary.BigEndian.Uint32(val), fingerprint(b[:off]); got != want {
				return nil, malformed("FINGERPRINT %08x, want %08x", got, want)
			}
			m.Fingerprint = true
			break
		}
		if !integrity || typ == AttrMessageIntegrity256 {
			m.Attrs = append(m.Attrs, Attr{typ, val})
		}
		if typ == AttrMessageIntegrity {
			integrity = true
		}
		off = padded
	}
	return m, nil
}

// fingerprint returns the FINGERPRINT value of a message whose bytes
// before the attribute are b (with the length already counting it).
func fingerprint(b []byte) uint32 { return crc32.ChecksumIEEE(b) ^ fingerprintXOR }

// Get returns the value of the first attribute of type t.
func (m *Message) Get(t AttrType) ([]byte, bool) {
	for _, a := range m.Attrs {
		if a.Type == t {
			return a.Value, true
		}
	}
	return nil, false
}

// Len returns the size of m's encoding, in bytes.
func (m *Message) Len() int {
	n := HeaderSize
	for _, a := range m.Attrs {
		n += 4 + (len(a.Value)+3)&^3
	}
	if m.Fingerprint {
		n += fingerprintSize
	}
	return n
}

// Append appends m's encoding to b: attributes padded with zeros to 4
// bytes, and a FINGERPRINT last if m.Fingerprint. It panics if m is
// longer than a message can be (64 KiB), or an attribute longer than
// an attribute can be; messages here are built, not copied from a peer.
func (m *Message) Append(b []byte) []byte {
	size := m.Len()
	if size-HeaderSize > 0xffff {
		panic("stun: message too long")
	}
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Type)&0x3fff)
	b = binary.BigEndian.AppendUint16(b, uint16(size-HeaderSize))
	b = binary.BigEndian.AppendUint32(b, MagicCookie)
	b = append(b, m.ID[:]...)
	for _, a := range m.Attrs {
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
		for range (4 - len(a.Value)%4) % 4 {
			b = append(b, 0)
		}
	}
	if m.Fingerprint {
		crc := fingerprint(b[start:])
		b = binary.BigEndian.AppendUint16(b, uint16(AttrFingerprint))
		b = binary.BigEndian.AppendUint16(b, 4)
		b = binary.BigEndian.AppendUint32(b, crc)
	}
	return b
}

// XORMappedAddress returns the address of m's XOR-MAPPED-ADDRESS.
func (m *Message) XORMappedAddress() (netip.AddrPort, error) {
	v, ok := m.Get(AttrXORMappedAddress)
	if !ok {
		return netip.AddrPort{}, malformed("no XOR-MAPPED-ADDRESS")
	}
	return decodeAddress(v, m.ID, true)
}

// MappedAddress returns the address of m's MAPPED-ADDRESS, which only
// servers of RFC 3489 send instead of XOR-MAPPED-ADDRESS.
func (m *Message) MappedAddress() (netip.AddrPort, error) {
	v, ok := m.Get(AttrMappedAddress)
	if !ok {
		return netip.AddrPort{}, malformed("no MAPPED-ADDRESS")
	}
	return decodeAddress(v, m.ID, false)
}

// Software returns m's SOFTWARE, or "".
func (m *Message) Software() string {
	v, _ := m.Get(AttrSoftware)
	return string(v)
}

// XORAddress returns the value of an XOR-MAPPED-ADDRESS attribute for
// addr in a message with transaction id id. An IPv4-mapped IPv6 address
// is encoded as IPv4.
func XORAddress(addr netip.AddrPort, id TransactionID) []byte {
	ip := addr.Addr().Unmap()
	v := []byte{0, familyIPv4}
	if ip.Is6() {
		v[1] = familyIPv6
	}
	v = binary.BigEndian.AppendUint16(v, addr.Port()^MagicCookie>>16)
	v = append(v, ip.AsSlice()...)
	xorAddress(v[4:], id)
	return v
}

// SoftwareAttr returns a SOFTWARE attribute of s, cut to 763 bytes.
func SoftwareAttr(s string) Attr {
	if len(s) > maxSoftware {
		s = s[:maxSoftware]
	}
	return Attr{AttrSoftware, []byte(s)}
}

// xorAddress XORs an address in place with the cookie, then the
// transaction id (RFC 8489 §14.2).
func xorAddress(a []byte, id TransactionID) {
	var key [16]byte
	binary.BigEndian.PutUint32(key[:], MagicCookie)
	copy(key[4:], id[:])
	for i := range a {
		a[i] ^= key[i]
	}
}

// decodeAddress parses an XOR-MAPPED-ADDRESS (xor) or MAPPED-ADDRESS
// value.
func decodeAddress(v []byte, id TransactionID, xor bool) (netip.AddrPort, error) {
	if len(v) < 4 {
		return netip.AddrPort{}, malformed("address of %d bytes", len(v))
	}
	var want int
	switch v[1] {
	case familyIPv4:
		want = 4
	case familyIPv6:
		want = 16
	default:
		return netip.AddrPort{}, malformed("address family %#02x", v[1])
	}
	if len(v) != 4+want {
		return netip.AddrPort{}, malformed("address of family %d has %d bytes, want %d", v[1], len(v)-4, want)
	}
	port := binary.BigEndian.Uint16(v[2:])
	var raw [16]byte
	a := raw[:want]
	copy(a, v[4:])
	if xor {
		port ^= MagicCookie >> 16
		xorAddress(a, id)
	}
	ip, _ := netip.AddrFromSlice(a)
	return netip.AddrPortFrom(ip, port), nil
}
