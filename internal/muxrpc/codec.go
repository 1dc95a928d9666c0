package muxrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the size of a packet header: a flags byte, the body
// length (uint32, big-endian) and the request number (int32,
// big-endian).
const HeaderSize = 9

// Flag bits of a packet header's first byte.
const (
	FlagStream = 0x08 // the packet belongs to a stream
	FlagEnd    = 0x04 // the last packet of a stream, or an error answer
	typeMask   = 0x03 // the body's type
)

// A BodyType says how a packet's body is encoded: the low two bits of
// the flags byte.
type BodyType byte

// The body types. The fourth value, 3, is invalid.
const (
	Buffer BodyType = 0 // raw bytes
	String BodyType = 1 // UTF-8 text
	JSON   BodyType = 2 // a JSON value
)

func (t BodyType) String() string {
	switch t {
	case Buffer:
		return "buffer"
	case String:
		return "string"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("BodyType(%d)", byte(t))
}

// A Packet is one packet-stream packet. Req is the request number: a
// caller numbers its requests from 1 up, and the answers and the
// callee's stream packets carry the negated number.
type Packet struct {
	Stream bool
	End    bool
	Type   BodyType
	Req    int32
	Body   []byte
}

// Errors of the codec.
var (
	// ErrGoodbye is returned by ReadPacket for the goodbye packet: a
	// header with a zero body length, which ends a packet stream (the
	// JavaScript codec reads any such header as the goodbye).
	ErrGoodbye = errors.New("muxrpc: goodbye")
	// ErrTooLarge reports a packet whose body exceeds the limit.
	ErrTooLarge = errors.New("muxrpc: packet body too large")
	// ErrBadType reports a packet of body type 3, which does not exist.
	ErrBadType = errors.New("muxrpc: unknown body type")
	// ErrEmptyBody reports an attempt to send an empty body, which the
	// other side would read as the goodbye.
	ErrEmptyBody = errors.New("muxrpc: empty body")
)

// Goodbye is the goodbye packet: nine zero bytes.
var Goodbye = [HeaderSize]byte{}

// AppendPacket appends p's header and body to b. It refuses an empty
// body (ErrEmptyBody) and a body over 4 GiB - 1.
func AppendPacket(b []byte, p Packet) ([]byte, error) {
	if len(p.Body) == 0 {
		return b, ErrEmptyBody
	}
	if uint64(len(p.Body)) > 0xffffffff || p.Type > JSON {
		return b, fmt.Errorf("muxrpc: cannot encode a %s body of %d bytes", p.Type, len(p.Body))
	}
	flags := byte(p.Type)
	if p.Stream {
		flags |= FlagStream
	}
	if p.End {
		flags |= FlagEnd
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Body)))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Req))
	return append(b, p.Body...), nil
}

// ParseHeader reads a 9-byte header: the packet without its body, and
// the body's length. It fails with ErrBadType for body type 3; a zero
// length is the goodbye, which it does not check.
func ParseHeader(h []byte) (Packet, uint32, error) {
	if len(h) < HeaderSize {
		return Packet{}, 0, fmt.Errorf("muxrpc: header of %d bytes: %w", len(h), io.ErrUnexpectedEOF)
	}
	p := Packet{
		Stream: h[0]&FlagStream != 0,
		End:    h[0]&FlagEnd != 0,
		Type:   BodyType(h[0] & typeMask),
		Req:    int32(binary.BigEndian.Uint32(h[5:9])),
	}
	n := binary.BigEndian.Uint32(h[1:5])
	if p.Type > JSON && n != 0 {
		return p, n, ErrBadType
	}
	return p, n, nil
}

// ReadPacket reads one packet from r. A body longer than max bytes is
// ErrTooLarge, read no further. The goodbye is ErrGoodbye; an end of r
// before a whole packet is io.EOF before a header and
// io.ErrUnexpectedEOF inside one. The upper four bits of the flags byte
// are ignored, as the JavaScript codec ignores them.
func ReadPacket(r io.Reader, max int) (Packet, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Packet{}, err
	}
	p, n, err := ParseHeader(h[:])
	if n == 0 {
		return Packet{}, ErrGoodbye
	}
	if err != nil {
		return Packet{}, err
	}
	if uint64(n) > uint64(max) {
		return Packet{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, n, max)
	}
	p.Body = make([]byte, n)
	if _, err := io.ReadFull(r, p.Body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, err
	}
	return p, nil
}
