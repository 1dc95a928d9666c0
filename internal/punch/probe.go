package punch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// Probe packets (spec/holepunch.md §3) start with "<HP" (0x3c 0x48
// 0x50): the first byte has its two high bits clear, so quic-go hands
// the packet to ReadNonQUICPacket, and no STUN message has these bytes
// and this size (a STUN message carries its magic cookie at bytes 4-7,
// and the tag makes a probe that also looks like STUN vanishingly rare).
const (
	probeSize = 3 + 1 + 8 + 4 + 16
	tagSize   = 16
)

var probeMagic = [3]byte{0x3c, 'H', 'P'}

// Probe kinds: a probe or its acknowledgement, from either role.
const (
	kindProbeDialer   = 1
	kindProbeListener = 2
	kindAckDialer     = 3
	kindAckListener   = 4
)

// probe is a decoded probe packet.
type probe struct {
	kind    byte
	session [8]byte
	seq     uint32
}

func appendProbe(b []byte, secret []byte, p probe) []byte {
	start := len(b)
	b = append(b, probeMagic[:]...)
	b = append(b, p.kind)
	b = append(b, p.session[:]...)
	b = binary.BigEndian.AppendUint32(b, p.seq)
	return append(b, probeTag(secret, b[start:])...)
}

func probeTag(secret, head []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(head)
	return m.Sum(nil)[:tagSize]
}

// isProbe tells a probe packet from QUIC and STUN by its first byte.
func isProbe(b []byte) bool { return len(b) == probeSize && [3]byte(b[:3]) == probeMagic }

// decodeProbe decodes b and checks its tag against secret.
func decodeProbe(b []byte, secret []byte) (probe, bool) {
	var p probe
	if !isProbe(b) || b[3] < kindProbeDialer || b[3] > kindAckListener {
		return p, false
	}
	if !hmac.Equal(b[probeSize-tagSize:], probeTag(secret, b[:probeSize-tagSize])) {
		return p, false
	}
	p.kind = b[3]
	copy(p.session[:], b[4:12])
	p.seq = binary.BigEndian.Uint32(b[12:])
	return p, true
}
