package relay

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Subprotocol is the WebSocket subprotocol of version 1 of the relay
// protocol (spec/relay.md).
const Subprotocol = "multiserver-relay.1"

// Frame types: one frame per binary WebSocket message, a type byte and a
// body (spec/relay.md §3).
const (
	frameHello      = 0x01 // "MSRL" ‖ version u8 ‖ challenge[32] ‖ 4 × u32 limits ‖ rest
	frameAuth       = 0x02 // key[32] ‖ sig[64] ‖ origin (rest)
	frameOK         = 0x03 // empty
	frameDenied     = 0x04 // code u16 ‖ text (rest)
	frameListen     = 0x05 // count u8 ‖ count × (len u8 ‖ label)
	frameConnect    = 0x06 // topic[32] ‖ stream id[16]
	frameIncoming   = 0x07 // token[16] ‖ topic[32] ‖ dialer key[32] ‖ stream id[16]
	frameAccept     = 0x08 // token[16]
	framePaired     = 0x09 // peer key[32] ‖ stream id[16]
	framePing       = 0x0a // payload[8]
	framePong       = 0x0b // payload[8]
	frameRestarting = 0x0c // reconnect in ms u32 ‖ try for ms u32
)

const (
	version       = 1
	magic         = "MSRL"
	authDomain    = "multiserver-relay.1 auth"
	topicDomain   = "multiserver-relay.1 topic"
	maxOrigin     = 255
	maxDenyText   = 1024
	maxLabel      = 64
	maxLabels     = 8
	helloSize     = 1 + 4 + 1 + 32 + 16
	tokenSize     = 16
	challengeSize = 32
)

// StreamID is the 16 bytes a dialer chooses for a stream, which the
// relay passes to the listener so that a later pairing of the same
// stream (after a relay restart) can be matched to it.
type StreamID [16]byte

// Topic is what the relay pairs by: see [TopicOf].
type Topic [32]byte

// TopicOf returns the topic of the stack label served by key:
// SHA-256("multiserver-relay.1 topic" ‖ key ‖ label).
func TopicOf(key ed25519.PublicKey, label string) Topic {
	h := sha256.New()
	h.Write([]byte(topicDomain))
	h.Write(key)
	h.Write([]byte(label))
	var t Topic
	h.Sum(t[:0])
	return t
}

// Limits are what a relay announces in HELLO.
type Limits struct {
	MaxFrame         int           // largest control message before pairing, in bytes
	HandshakeTimeout time.Duration // upgrade → request frame
	PairingTimeout   time.Duration // CONNECT → PAIRED
	PingInterval     time.Duration // how often the relay pings a control conn
}

// frame is one decoded frame; which fields are set depends on typ.
type frame struct {
	typ       byte
	challenge [challengeSize]byte // HELLO
	limits    Limits              // HELLO
	key       []byte              // AUTH, INCOMING (dialer), PAIRED (peer)
	sig       []byte              // AUTH
	origin    string              // AUTH
	code      DenyCode            // DENIED
	text      string              // DENIED
	labels    []string            // LISTEN
	topic     Topic               // CONNECT, INCOMING
	stream    StreamID            // CONNECT, INCOMING, PAIRED
	token     [tokenSize]byte     // INCOMING, ACCEPT
	ping      [8]byte             // PING, PONG
	restartIn time.Duration       // RESTARTING
	tryFor    time.Duration       // RESTARTING
}

// errFrame is the cause of every malformed frame.
var errFrame = errors.New("relay: malformed frame")

func badFrame(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFrame, fmt.Sprintf(format, args...))
}

// encode returns f as a WebSocket message.
func (f *frame) encode() []byte {
	b := []byte{f.typ}
	switch f.typ {
	case frameHello:
		b = append(b, magic...)
		b = append(b, version)
		b = append(b, f.challenge[:]...)
		b = binary.BigEndian.AppendUint32(b, uint32(f.limits.MaxFrame))
		b = appendMillis(b, f.limits.HandshakeTimeout)
		b = appendMillis(b, f.limits.PairingTimeout)
		b = appendMillis(b, f.limits.PingInterval)
	case frameAuth:
		b = append(b, f.key...)
		b = append(b, f.sig...)
		b = append(b, f.origin...)
	case frameDenied:
		b = binary.BigEndian.AppendUint16(b, uint16(f.code))
		b = append(b, f.text...)
	case frameListen:
		b = append(b, byte(len(f.labels)))
		for _, l := range f.labels {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	case frameConnect:
		b = append(b, f.topic[:]...)
		b = append(b, f.stream[:]...)
	case frameIncoming:
		b = append(b, f.token[:]...)
		b = append(b, f.topic[:]...)
		b = append(b, f.key...)
		b = append(b, f.stream[:]...)
	case frameAccept:
		b = append(b, f.token[:]...)
	case framePaired:
		b = append(b, f.key...)
		b = append(b, f.stream[:]...)
	case framePing, framePong:
		b = append(b, f.ping[:]...)
	case frameRestarting:
		b = appendMillis(b, f.restartIn)
		b = appendMillis(b, f.tryFor)
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
	frameOK: 0, frameConnect: 48, frameIncoming: 96, frameAccept: 16,
	framePaired: 48, framePing: 8, framePong: 8, frameRestarting: 8,
}

// decode parses one WebSocket message. It copies what it keeps, so msg
// may be reused.
func decode(msg []byte) (*frame, error) {
	if len(msg) == 0 {
		return nil, badFrame("empty message")
	}
	f := &frame{typ: msg[0]}
	body := msg[1:]
	if n, ok := bodySize[f.typ]; ok && len(body) != n {
		return nil, badFrame("frame type %#02x has %d bytes of body, want %d", f.typ, len(body), n)
	}
	switch f.typ {
	case frameHello:
		if len(msg) < helloSize {
			return nil, badFrame("HELLO of %d bytes, want at least %d", len(msg), helloSize)
		}
		if string(body[:4]) != magic || body[4] != version {
			return nil, badFrame("HELLO of an unknown protocol or version (%x)", body[:5])
		}
		copy(f.challenge[:], body[5:37])
		f.limits = Limits{
			MaxFrame:         int(binary.BigEndian.Uint32(body[37:])),
			HandshakeTimeout: millis(body[41:]),
			PairingTimeout:   millis(body[45:]),
			PingInterval:     millis(body[49:]),
		}
	case frameAuth:
		if len(body) < 96+1 || len(body) > 96+maxOrigin {
			return nil, badFrame("AUTH of %d bytes", len(msg))
		}
		f.key = clone(body[:32])
		f.sig = clone(body[32:96])
		f.origin = string(body[96:])
		if !printable(f.origin) {
			return nil, badFrame("AUTH origin is not printable ASCII")
		}
	case frameDenied:
		if len(body) < 2 || len(body) > 2+maxDenyText || !utf8.Valid(body[2:]) {
			return nil, badFrame("DENIED of %d bytes or with text that is not UTF-8", len(msg))
		}
		f.code = DenyCode(binary.BigEndian.Uint16(body))
		f.text = string(body[2:])
	case frameListen:
		labels, err := decodeLabels(body)
		if err != nil {
			return nil, err
		}
		f.labels = labels
	case frameConnect:
		copy(f.topic[:], body)
		copy(f.stream[:], body[32:])
	case frameIncoming:
		copy(f.token[:], body)
		copy(f.topic[:], body[16:])
		f.key = clone(body[48:80])
		copy(f.stream[:], body[80:])
	case frameAccept:
		copy(f.token[:], body)
	case framePaired:
		f.key = clone(body[:32])
		copy(f.stream[:], body[32:])
	case framePing, framePong:
		copy(f.ping[:], body)
	case frameRestarting:
		f.restartIn, f.tryFor = millis(body), millis(body[4:])
	case frameOK:
	default:
		return nil, badFrame("unknown frame type %#02x", f.typ)
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
		if err := checkLabel(l); err != nil {
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

// checkLabel reports what is wrong with a stack label.
func checkLabel(l string) error {
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

// authMessage is what AUTH signs.
func authMessage(challenge []byte, origin string) []byte {
	m := make([]byte, 0, len(authDomain)+len(challenge)+len(origin))
	m = append(m, authDomain...)
	m = append(m, challenge...)
	return append(m, origin...)
}
