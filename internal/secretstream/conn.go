package secretstream

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver/internal/ctxguard"
	"github.com/f7d52a8e/multiserver/internal/frame"
)

// The framing of @hyperswarm/secret-stream (index.js): every message is a
// 3-byte little-endian length and that many bytes. The first message of
// each side is IDHeaderSize bytes, its stream id and its secretstream
// header; every later one is a secretstream message with TagMessage.
const (
	IDHeaderSize = 32 + HeaderSize // 56
	// MaxMessage is the largest plaintext of one message (the length
	// prefix's limit less the overhead).
	MaxMessage = 1<<24 - 1 - Overhead
	// writeChunk is the plaintext of one message Write sends at most.
	writeChunk = 64 << 10
)

// Errors of [Handshake] and of a Conn's Read.
var (
	ErrBadHeader = errors.New("secretstream: invalid header message")
	ErrWrongID   = errors.New("secretstream: header carries another stream id")
	ErrMessage   = errors.New("secretstream: message shorter than its overhead")
)

// Keys is what the Noise handshake gives a secret stream.
type Keys struct {
	TX, RX   []byte   // 32-byte send and receive keys (Noise split, initiator: k1, k2)
	LocalID  [32]byte // our stream id, sent first
	RemoteID [32]byte // the id the peer must send
}

// Conn is a secret stream over a byte stream: a net.Conn whose Read
// returns the peer's plaintext, with zero-length messages (keepalives)
// dropped. Secret-stream has no end-of-stream message of its own: the end
// of the underlying conn is the end of the stream, and Read returns io.EOF
// then, also when a message was cut short.
type Conn struct {
	fc   frame.Conn
	nc   net.Conn
	push *sealer
}

var _ net.Conn = (*Conn)(nil)

var format = frame.Format{
	MaxPayload:   writeChunk,
	Overhead:     3 + Overhead,
	HeaderSize:   3,
	ErrWriteShut: net.ErrClosed,
	ErrNoEnd:     io.EOF,
}

// Handshake sends our header message over c and reads the peer's, checking
// its stream id. ctx bounds this exchange only.
func Handshake(ctx context.Context, c net.Conn, k Keys) (*Conn, error) {
	push, header, err := NewPush(k.TX, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("secretstream: %w", err)
	}
	msg := make([]byte, 3+IDHeaderSize)
	putUint24(msg, IDHeaderSize)
	copy(msg[3:], k.LocalID[:])
	copy(msg[3+32:], header)
	var pull *Pull
	err = ctxguard.Run(ctx, c, "secretstream", func() error {
		werr := make(chan error, 1)
		go func() { _, err := c.Write(msg); werr <- err }()
		first, rerr := readHeader(c)
		if rerr == nil {
			if subtle.ConstantTimeCompare(first[:32], k.RemoteID[:]) != 1 {
				rerr = ErrWrongID
			} else {
				pull, rerr = NewPull(k.RX, first[32:])
			}
		}
		if rerr != nil {
			c.SetDeadline(time.Unix(1, 0)) // unblock our write
		}
		if err := errors.Join(rerr, <-werr); err != nil {
			return fmt.Errorf("secretstream: handshake: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	sc := &Conn{nc: c, push: &sealer{p: push}}
	sc.fc.Init(c, &format, sc.push, &opener{p: pull})
	return sc, nil
}

func putUint24(b []byte, n int) { b[0], b[1], b[2] = byte(n), byte(n>>8), byte(n>>16) }

func readHeader(c io.Reader) ([]byte, error) {
	var msg [3 + IDHeaderSize]byte
	if _, err := io.ReadFull(c, msg[:3]); err != nil {
		return nil, err
	}
	if n := int(msg[0]) | int(msg[1])<<8 | int(msg[2])<<16; n != IDHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadHeader, n, IDHeaderSize)
	}
	if _, err := io.ReadFull(c, msg[3:]); err != nil {
		return nil, err
	}
	return msg[3:], nil
}

type sealer struct {
	p    *Push
	prev state
}

func (s *sealer) Seal(dst, payload []byte) ([]byte, error) {
	s.prev = s.p.s
	n := len(dst)
	dst = s.p.Seal(append(dst, 0, 0, 0), payload, nil, TagMessage)
	putUint24(dst[n:], len(dst)-n-3)
	return dst, nil
}

// End sends nothing: the stream ends with the underlying conn.
func (s *sealer) End(dst []byte) ([]byte, error) { s.prev = s.p.s; return dst, nil }
func (s *sealer) Unseal()                        { s.p.s = s.prev }

type opener struct{ p *Pull }

func (o *opener) FrameSize(hdr []byte) (int, error) {
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n < Overhead {
		return 0, ErrMessage
	}
	return 3 + n, nil
}

func (o *opener) Open(dst, fr []byte) ([]byte, error) {
	if dst == nil {
		// In place: the plaintext takes the ciphertext's place, which
		// starts after the length and the tag byte.
		dst = fr[4:4]
	}
	out, _, err := o.p.Open(dst, fr[3:], nil)
	return out, err
}

// Read reads the peer's plaintext.
func (c *Conn) Read(p []byte) (int, error) { return c.fc.Read(p) }

// Write sends p in messages of at most 64 KiB of plaintext.
func (c *Conn) Write(p []byte) (int, error) { return c.fc.Write(p) }

// Close closes the underlying conn.
func (c *Conn) Close() error { return c.fc.Close(0) }

// LocalAddr returns the underlying conn's address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets the underlying conn's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the underlying conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
