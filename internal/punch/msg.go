package punch

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/nacl/box"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// ErrMessage is the error of a signal that does not open or decode.
var ErrMessage = errors.New("punch: malformed signal")

// Signal message types (spec/holepunch.md §2).
const (
	msgOffer   = 1
	msgAnswer  = 2
	msgDecline = 3
)

// Roles: who sends a message. A side accepts only the other role's.
const (
	roleDialer   = 0
	roleListener = 1
)

// Kinds of candidate.
const (
	candHost      = 1
	candReflexive = 2
)

// Mapping as the messages carry it.
const (
	mapUnknown     = 0
	mapIndependent = 1
	mapDependent   = 2
	mapBlocked     = 3
)

// Decline reasons.
const (
	declineDisabled = 1 // the peer does not punch
	declineBusy     = 2 // an attempt runs already
)

const (
	msgVersion    = 1
	maxCandidates = 8
	secretSize    = 16
	nonceSize     = 24
	msgHeader     = 1 + 1 + 1 + 8 // version, type, role, session
)

// candidate is a transport address a peer may be reached at.
type candidate struct {
	kind byte
	addr netip.AddrPort
}

// message is one signal, in the clear.
type message struct {
	typ     byte
	role    byte
	session [8]byte
	secret  [secretSize]byte // OFFER: the key of the probes' tags
	mapping byte             // OFFER, ANSWER
	cands   []candidate      // OFFER, ANSWER
	reason  byte             // DECLINE
}

func (m *message) append(b []byte) []byte {
	b = append(b, msgVersion, m.typ, m.role)
	b = append(b, m.session[:]...)
	switch m.typ {
	case msgOffer, msgAnswer:
		if m.typ == msgOffer {
			b = append(b, m.secret[:]...)
		}
		b = append(b, m.mapping, byte(len(m.cands)))
		for _, c := range m.cands {
			a := c.addr.Addr().Unmap()
			if a.Is4() {
				b = append(b, c.kind, 4)
				b = append(b, a.AsSlice()...)
			} else {
				b = append(b, c.kind, 6)
				b = append(b, a.AsSlice()...)
			}
			b = binary.BigEndian.AppendUint16(b, c.addr.Port())
		}
	case msgDecline:
		b = append(b, m.reason)
	}
	return b
}

// decodeMessage decodes a message, strictly: every byte must belong to
// it.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < msgHeader {
		return nil, fmt.Errorf("%w: %d bytes", ErrMessage, len(b))
	}
	if b[0] != msgVersion {
		return nil, fmt.Errorf("%w: version %d", ErrMessage, b[0])
	}
	m := &message{typ: b[1], role: b[2]}
	if m.role > roleListener {
		return nil, fmt.Errorf("%w: role %d", ErrMessage, m.role)
	}
	copy(m.session[:], b[3:11])
	b = b[msgHeader:]
	switch m.typ {
	case msgOffer, msgAnswer:
		if m.typ == msgOffer {
			if len(b) < secretSize {
				return nil, fmt.Errorf("%w: short OFFER", ErrMessage)
			}
			copy(m.secret[:], b)
			b = b[secretSize:]
		}
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: no candidate count", ErrMessage)
		}
		m.mapping, b = b[0], b[1:]
		if m.mapping > mapBlocked {
			return nil, fmt.Errorf("%w: mapping %d", ErrMessage, m.mapping)
		}
		n := int(b[0])
		b = b[1:]
		if n > maxCandidates {
			return nil, fmt.Errorf("%w: %d candidates, at most %d", ErrMessage, n, maxCandidates)
		}
		for range n {
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: truncated candidate", ErrMessage)
			}
			kind, fam := b[0], b[1]
			size := 4
			if fam == 6 {
				size = 16
			} else if fam != 4 {
				return nil, fmt.Errorf("%w: address family %d", ErrMessage, fam)
			}
			if kind != candHost && kind != candReflexive {
				return nil, fmt.Errorf("%w: candidate kind %d", ErrMessage, kind)
			}
			if len(b) < 2+size+2 {
				return nil, fmt.Errorf("%w: truncated candidate", ErrMessage)
			}
			a, _ := netip.AddrFromSlice(b[2 : 2+size])
			port := binary.BigEndian.Uint16(b[2+size:])
			// An IPv4 address goes as family 4, never as ::ffff:a.b.c.d.
			if port == 0 || !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Is4In6() {
				return nil, fmt.Errorf("%w: candidate %v:%d", ErrMessage, a, port)
			}
			m.cands = append(m.cands, candidate{kind, netip.AddrPortFrom(a, port)})
			b = b[2+size+2:]
		}
	case msgDecline:
		if len(b) < 1 {
			return nil, fmt.Errorf("%w: DECLINE without a reason", ErrMessage)
		}
		m.reason, b = b[0], b[1:]
	default:
		return nil, fmt.Errorf("%w: type %d", ErrMessage, m.typ)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the message", ErrMessage, len(b))
	}
	return m, nil
}

// sealer seals and opens signals between two Ed25519 keys: NaCl box
// (X25519, XSalsa20-Poly1305) on their X25519 forms, a random nonce in
// front. Only the two peers can open or make them; the relay that
// carries them cannot.
type sealer struct {
	shared [32]byte
}

func newSealer(self ed25519.PrivateKey, peer ed25519.PublicKey) (*sealer, error) {
	pub, err := edcurve.PublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("punch: peer key: %w", err)
	}
	var priv, pk [32]byte
	copy(priv[:], edcurve.PrivateKey(self))
	copy(pk[:], pub)
	s := &sealer{}
	box.Precompute(&s.shared, &pk, &priv)
	return s, nil
}

func (s *sealer) seal(m *message) []byte {
	var nonce [nonceSize]byte
	rand.Read(nonce[:])
	return s.sealWith(&nonce, m)
}

func (s *sealer) sealWith(nonce *[nonceSize]byte, m *message) []byte {
	return box.SealAfterPrecomputation(nonce[:], m.append(nil), nonce, &s.shared)
}

func (s *sealer) open(b []byte) (*message, error) {
	if len(b) < nonceSize+box.Overhead {
		return nil, fmt.Errorf("%w: %d bytes", ErrMessage, len(b))
	}
	var nonce [nonceSize]byte
	copy(nonce[:], b)
	plain, ok := box.OpenAfterPrecomputation(nil, b[nonceSize:], &nonce, &s.shared)
	if !ok {
		return nil, fmt.Errorf("%w: does not open: not from the peer, or altered", ErrMessage)
	}
	return decodeMessage(plain)
}
