package dhtrelay

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// A Frame is one protomux frame as [ParseFrame] reads it: a message on a
// channel, or a control message on channel 0.
type Frame struct {
	Channel uint64  // the sender's id of the channel; 0 for control
	Message Message // on a channel other than 0

	// Control messages (Channel 0).
	Control  int    // ctl type: OpenChannel, RejectChannel, CloseChannel or Batch
	ID       uint64 // the channel opened, rejected or closed
	Protocol string // of an OpenChannel
	Batch    []Frame
}

// Control message kinds of [Frame.Control].
const (
	Batch         = ctlBatch
	OpenChannel   = ctlOpen
	RejectChannel = ctlReject
	CloseChannel  = ctlClose
)

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (r *reader) uint() uint64 {
	if r.err != nil || len(r.b) == 0 {
		r.fail("truncated uint")
		return 0
	}
	c := r.b[0]
	n := 0 // bytes after the prefix
	switch c {
	case 0xfd:
		n = 2
	case 0xfe:
		n = 4
	case 0xff:
		n = 8
	}
	if len(r.b) < 1+n {
		r.fail("truncated uint")
		return 0
	}
	p := r.b[1 : 1+n]
	r.b = r.b[1+n:]
	switch n {
	case 2:
		return uint64(binary.LittleEndian.Uint16(p))
	case 4:
		return uint64(binary.LittleEndian.Uint32(p))
	case 8:
		return binary.LittleEndian.Uint64(p)
	}
	return uint64(c)
}

func (r *reader) bytes(n uint64, what string) []byte {
	if r.err != nil || uint64(len(r.b)) < n {
		r.fail("truncated " + what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.bytes(1, "flags"); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4, "uint32"); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) fixed32(dst *[32]byte) {
	if v := r.bytes(32, "key"); v != nil {
		copy(dst[:], v)
	}
}

func (r *reader) buffer() []byte { return r.bytes(r.uint(), "buffer") }

// ParseFrame reads one protomux frame. Byte slices in the result alias b.
// Bytes after a message are ignored, as protomux ignores them; unknown
// message types and custodial messages are errors.
func ParseFrame(b []byte) (Frame, error) {
	r := &reader{b: b}
	ch := r.uint()
	if r.err != nil {
		return Frame{}, r.err
	}
	if ch != 0 {
		m, err := parseMessage(r)
		return Frame{Channel: ch, Message: m}, err
	}
	f := Frame{Control: int(r.uint())}
	switch f.Control {
	case ctlOpen:
		f.ID = r.uint()
		p := r.buffer()
		if r.err == nil && !utf8.Valid(p) {
			r.fail("protocol name not UTF-8")
		}
		f.Protocol = string(p)
		r.buffer() // the channel's id buffer, optional
	case ctlReject, ctlClose:
		f.ID = r.uint()
	case ctlBatch:
		ch := r.uint()
		for r.err == nil && len(r.b) > 0 {
			n := r.uint()
			if n == 0 {
				ch = r.uint()
				continue
			}
			item := r.bytes(n, "batch item")
			if r.err != nil {
				break
			}
			if ch == 0 {
				r.fail("control message in a batch")
				break
			}
			m, err := parseMessage(&reader{b: item})
			if err != nil {
				return Frame{}, err
			}
			f.Batch = append(f.Batch, Frame{Channel: ch, Message: m})
		}
	default:
		r.fail(fmt.Sprintf("control type %d", f.Control))
	}
	return f, r.err
}

func parseMessage(r *reader) (Message, error) {
	t := r.uint()
	var m Message
	switch t {
	case TypeHandshake:
		var h Handshake
		if r.byte()&1 != 0 {
			return nil, ErrCustodial
		}
		r.fixed32(&h.PublicKey)
		m = h
	case TypePing:
		m = Ping{}
	case TypePong:
		m = Pong{}
	case TypeConnect:
		var c Connect
		if r.byte()&1 != 0 {
			return nil, ErrCustodial
		}
		c.Alias = r.u32()
		r.fixed32(&c.PublicKey)
		r.fixed32(&c.RemotePublicKey)
		m = c
	case TypeDestroy:
		fl := r.byte()
		d := Destroy{Paired: fl&1 != 0, HasError: fl&2 != 0}
		d.Alias = r.u32()
		if d.HasError {
			d.Error = string(r.buffer())
		}
		m = d
	case TypeOpen:
		if r.byte()&1 != 0 {
			return nil, ErrCustodial
		}
		m = Open{Alias: r.u32(), RemoteAlias: r.u32(), HandshakeID: r.u32()}
	case TypeEnd:
		m = End{Alias: r.u32()}
	case TypeData:
		d := Data{Alias: r.u32()}
		n := r.uint()
		for i := uint64(0); i < n && r.err == nil; i++ {
			d.Chunks = append(d.Chunks, r.buffer())
		}
		m = d
	case TypeNoiseSend:
		s := NoiseSend{Initiator: r.byte()&1 != 0}
		s.ID = r.u32()
		if s.Initiator {
			s.RemoteStreamAlias = r.u32()
		}
		s.Payload = r.buffer()
		m = s
	case TypeNoiseReceive:
		s := NoiseReceive{Initiator: r.byte()&1 != 0}
		s.ID = r.u32()
		if !s.Initiator {
			s.ServerAlias = r.u32()
		}
		s.Payload = r.buffer()
		m = s
	case TypeNoiseReply:
		fl := r.byte()
		s := NoiseReply{Initiator: fl&1 != 0, Complete: fl&2 != 0}
		s.ID = r.u32()
		s.Payload = r.buffer()
		if !s.Initiator && !s.Complete {
			r.fixed32(&s.RemotePublicKey)
		}
		if s.Complete {
			r.fixed32(&s.RemoteID)
			r.fixed32(&s.HolepunchSecret)
		}
		m = s
	default:
		r.fail(fmt.Sprintf("message type %d", t))
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}
