package wire

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Frame types: one frame per binary WebSocket message, a type byte and a
// body (spec/relay.md §3).
const (
	FrameHello      = 0x01 // "MSRL" ‖ version u8 ‖ challenge[32] ‖ 4 × u32 limits ‖ rest
	FrameAuth       = 0x02 // key[32] ‖ sig[64] ‖ origin (rest)
	FrameOK         = 0x03 // empty
	FrameDenied     = 0x04 // code u16 ‖ text (rest)
	FrameListen     = 0x05 // count u8 ‖ count × (len u8 ‖ label)
	FrameConnect    = 0x06 // topic[32] ‖ stream id[16]
	FrameIncoming   = 0x07 // token[16] ‖ topic[32] ‖ dialer key[32] ‖ stream id[16]
	FrameAccept     = 0x08 // token[16]
	FramePaired     = 0x09 // peer key[32] ‖ stream id[16]
	FramePing       = 0x0a // payload[8]
	FramePong       = 0x0b // payload[8]
	FrameRestarting = 0x0c // reconnect in ms u32 ‖ try for ms u32
)

const (
	version       = 1
	magic         = "MSRL"
	authDomain    = "multiserver-relay.1 auth"
	topicDomain   = "multiserver-relay.1 topic"
	maxOrigin     = 255
	maxLabel      = 64
	maxLabels     = 8
	helloSize     = 1 + 4 + 1 + 32 + 16
	challengeSize = 32

	// MaxDenyText is the longest text a DENIED frame carries, in bytes.
	MaxDenyText = 1024
	// TokenSize is the size of the token of INCOMING and ACCEPT.
	TokenSize = 16
)

// TopicOf returns the topic of the stack label served by key:
// SHA-256("multiserver-relay.1 topic" ‖ key ‖ label).
func TopicOf(key ed25519.PublicKey, label string) [32]byte {
	h := sha256.New()
	h.Write([]byte(topicDomain))
	h.Write(key)
	h.Write([]byte(label))
	var t [32]byte
	h.Sum(t[:0])
	return t
}

// Limits are what a relay announces in HELLO, as relay.Limits.
type Limits struct {
	MaxFrame         int           // largest control message before pairing, in bytes
	HandshakeTimeout time.Duration // upgrade → request frame
	PairingTimeout   time.Duration // CONNECT → PAIRED
	PingInterval     time.Duration // how often the relay pings a control conn
}

// Frame is one decoded frame; which fields are set depends on Type.
type Frame struct {
	Type      byte
	Challenge [challengeSize]byte // HELLO
	Limits    Limits              // HELLO
	Key       []byte              // AUTH, INCOMING (dialer), PAIRED (peer)
	Sig       []byte              // AUTH
	Origin    string              // AUTH
	Code      uint16              // DENIED
	Text      string              // DENIED
	Labels    []string            // LISTEN
	Topic     [32]byte            // CONNECT, INCOMING
	Stream    [16]byte            // CONNECT, INCOMING, PAIRED
	Token     [TokenSize]byte     // INCOMING, ACCEPT
	Ping      [8]byte             // PING, PONG
	RestartIn time.Duration       // RESTARTING
	TryFor    time.Duration       // RESTARTING
}

// ErrFrame is the cause of every malformed frame.
var ErrFrame = errors.New("relay: malformed frame")

func badFrame(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFrame, fmt.Sprintf(format, args...))
}

// Encode returns f as a WebSocket message.
func (f *Frame) Encode() []byte {
	b := []byte{f.Type}
	switch f.Type {
	case FrameHello:
		b = append(b, magic...)
		b = append(b, version)
		b = append(b, f.Challenge[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(f.Limits.MaxFrame))
		b = appendMillis(b, f.Limits.HandshakeTimeout)
		b = appendMillis(b, f.Limits.PairingTimeout)
		b = appendMillis(b, f.Limits.PingInterval)
	case FrameAuth:
		b = append(b, f.Key...)
		b = append(b, f.Sig...)
		b = append(b, f.Origin...)
	case FrameDenied:
		b = binary.BigEndian.AppendUint16(b, f.Code)
		b = append(b, f.Text...)
	case FrameListen:
		b = append(b, byte(len(f.Labels)))
		for _, l := range f.Labels {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	case FrameConnect:
		b = append(b, f.Topic[:]...)
		b = append(b, f.Stream[:]...)
	case FrameIncoming:
		b = append(b, f.Token[:]...)
		b = append(b, f.Topic[:]...)
		b = append(b, f.Key...)
		b = append(b, f.Stream[:]...)
	case FrameAccept:
		b = append(b, f.Token[:]...)
	case FramePaired:
		b = append(b, f.Key...)
		b = append(b, f.Stream[:]...)
	case FramePing, FramePong:
		b = append(b, f.Ping[:]...)
	case FrameRestarting:
		b = appendMillis(b, f.RestartIn)
		b = appendMillis(b, f.TryFor)
	}
	return b
}

func appendMillis(b []byte, d time.Duration) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(min(d.Milliseconds(), 1<<32-1)))
}

func millis(b []byte) time.Duration {
	return time.Duration(binary.BigEndian.Uint32(b)) * time.Millisecond
}

// bodySize is the exact body size of the fixed-size frame types, or -1.
var bodySize = map[byte]int{
	FrameOK: 0, FrameConnect: 48, FrameIncoming: 96, FrameAccept: 16,
	FramePaired: 48, FramePing: 8, FramePong: 8, FrameRestarting: 8,
}

// Decode parses one WebSocket message. It copies what it keeps, so msg
// may be reused.
func Decode(msg []byte) (*Frame, error) {
	if len(msg) == 0 {
		return nil, badFrame("empty message")
	}
	f := &Frame{Type: msg[0]}
	body := msg[1:]
	if n, ok := bodySize[f.Type]; ok && len(body) != n {
		return nil, badFrame("frame type %#02x has %d bytes of body, want %d", f.Type, len(body), n)
	}
	switch f.Type {
	case FrameHello:
		if len(msg) < helloSize {
			return nil, badFrame("HELLO of %d bytes, want at least %d", len(msg), helloSize)
		}
		if string(body[:4]) != magic || body[4] != version {
			return nil, badFrame("HELLO of an unknown protocol or version (%x)", body[:5])
		}
		copy(f.Challenge[:], body[5:37])
		f.Limits = Limits{
			MaxFrame:         int(binary.BigEndian.Uint32(body[37:])),
			HandshakeTimeout: millis(body[41:]),
			PairingTimeout:   millis(body[45:]),
			PingInterval:     millis(body[49:]),
		}
	case FrameAuth:
		if len(body) < 96+1 || len(body) > 96+maxOrigin {
			return nil, badFrame("AUTH of %d bytes", len(msg))
		}
		f.Key = clone(body[:32])
		f.Sig = clone(body[32:96])
		f.Origin = string(body[96:])
		if !printable(f.Origin) {
			return nil, badFrame("AUTH origin is not printable ASCII")
		}
	case FrameDenied:
		if len(body) < 2 || len(body) > 2+MaxDenyText || !utf8.Valid(body[2:]) {
			return nil, badFrame("DENIED of %d bytes or with text that is not UTF-8", len(msg))
		}
		f.Code = binary.BigEndian.Uint16(body)
		f.Text = string(body[2:])
	case FrameListen:
		labels, err := decodeLabels(body)
		if err != nil {
			return nil, err
		}
		f.Labels = labels
	case FrameConnect:
		copy(f.Topic[:], body)
		copy(f.Stream[:], body[32:])
	case FrameIncoming:
		copy(f.Token[:], body)
		copy(f.Topic[:], body[16:])
		f.Key = clone(body[48:80])
		copy(f.Stream[:], body[80:])
	case FrameAccept:
		copy(f.Token[:], body)
	case FramePaired:
		f.Key = clone(body[:32])
		copy(f.Stream[:], body[32:])
	case FramePing, FramePong:
		copy(f.Ping[:], body)
	case FrameRestarting:
		f.RestartIn, f.TryFor = millis(body), millis(body[4:])
	case FrameOK:
	default:
		return nil, badFrame("unknown frame type %#02x", f.Type)
	}
	return f, nil
}

// decodeLabels parses LISTEN's body.
func decodeLabels(body []byte) ([]string, error) {
	if len(body) < 1 || body[0] == 0 || int(body[0]) > maxLabels {
		return nil, badFrame("LISTEN must carry 1 to %d labels", maxLabels)
	}
	n := int(body[0])
	body = body[1:]
	labels := make([]string, 0, n)
	for range n {
		if len(body) < 1 || len(body) < 1+int(body[0]) {
			return nil, badFrame("LISTEN label runs past the frame")
		}
		l := string(body[1 : 1+int(body[0])])
		body = body[1+int(body[0]):]
		if err := CheckLabel(l); err != nil {
			return nil, err
		}
		for _, o := range labels {
			if o == l {
				return nil, badFrame("LISTEN label %q twice", l)
			}
		}
		labels = append(labels, l)
	}
	if len(body) > 0 {
		return nil, badFrame("%d bytes after LISTEN's labels", len(body))
	}
	return labels, nil
}

// CheckLabel reports what is wrong with a stack label.
func CheckLabel(l string) error {
	if len(l) == 0 || len(l) > maxLabel || !printable(l) {
		return badFrame("label %q is not 1 to %d bytes of printable ASCII", l, maxLabel)
	}
	return nil
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return len(s) > 0
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// AuthMessage is what AUTH signs.
func AuthMessage(challenge []byte, origin string) []byte {
	m := make([]byte, 0, len(authDomain)+len(challenge)+len(origin))
	m = append(m, authDomain...)
	m = append(m, challenge...)
	return append(m, origin...)
}
