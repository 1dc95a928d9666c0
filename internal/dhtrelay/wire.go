// Package dhtrelay is the wire format of @hyperswarm/dht-relay 0.4.3 as a
// non-custodial dialer needs it: compact-encoding values, protomux frames
// (one per WebSocket message) and the relay's messages on its one channel,
// "@hyperswarm/dht-relay". spec/hyperswarm.md states it, with references
// to the JavaScript sources; spec/vectors/dhtrelay.json holds frames the
// JavaScript Protocol wrote.
//
// Custodial messages (which carry a secret key) are neither encoded nor
// accepted.
package dhtrelay

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Protocol is the name of the relay's protomux channel.
const Protocol = "@hyperswarm/dht-relay"

// Message types on the relay's channel: positions of the messages in
// lib/protocol.js (the order of its addMessage calls).
const (
	TypeHandshake    = 0
	TypePing         = 1
	TypePong         = 2
	TypeConnect      = 3
	TypeDestroy      = 9
	TypeOpen         = 14
	TypeEnd          = 15
	TypeData         = 16
	TypeNoiseSend    = 25
	TypeNoiseReceive = 26
	TypeNoiseReply   = 27
)

// Control message types on protomux channel 0.
const (
	ctlBatch  = 0
	ctlOpen   = 1
	ctlReject = 2
	ctlClose  = 3
)

// ErrMalformed is the error of [ParseFrame] for bytes that are not a frame
// this package knows.
var ErrMalformed = errors.New("dhtrelay: malformed frame")

// ErrCustodial is the error of [ParseFrame] for a message in custodial
// mode, which a non-custodial dialer never asks for.
var ErrCustodial = errors.New("dhtrelay: custodial message")

// A Message is one of the relay's messages on its channel.
type Message interface{ Type() uint64 }

// Handshake opens a session: the client's public key, no secret key.
type Handshake struct{ PublicKey [32]byte }

// Ping asks for a Pong; either side sends them.
type Ping struct{}

// Pong answers a Ping.
type Pong struct{}

// Connect asks the relay to dial RemotePublicKey as PublicKey; Alias names
// the stream on the client's side.
type Connect struct {
	Alias                      uint32
	PublicKey, RemotePublicKey [32]byte
}

// Destroy ends a stream: a paired one by the sender's Alias, one still
// connecting by the receiver's (RemoteAlias), with an optional error.
type Destroy struct {
	Paired   bool
	Alias    uint32 // the sender's alias if Paired, else the receiver's
	HasError bool
	Error    string
}

// Open tells the client that its stream RemoteAlias is connected, as Alias
// on the relay's side, after the handshake HandshakeID.
type Open struct{ Alias, RemoteAlias, HandshakeID uint32 }

// End ends the sending direction of stream Alias (the receiver's alias).
type End struct{ Alias uint32 }

// Data carries chunks of stream Alias (the receiver's alias).
type Data struct {
	Alias  uint32
	Chunks [][]byte
}

// NoiseSend asks the client for a handshake message carrying Payload. For
// the initiator it names the stream (RemoteStreamAlias, the client's
// alias).
type NoiseSend struct {
	Initiator         bool
	ID                uint32
	RemoteStreamAlias uint32 // if Initiator
	Payload           []byte
}

// NoiseReceive hands the client a handshake message to read.
type NoiseReceive struct {
	Initiator   bool
	ID          uint32
	ServerAlias uint32 // if !Initiator
	Payload     []byte
}

// NoiseReply answers NoiseSend (the message) or NoiseReceive (the
// payload read); Complete once the handshake is done.
type NoiseReply struct {
	Initiator, Complete bool
	ID                  uint32
	Payload             []byte
	RemotePublicKey     [32]byte // if !Initiator && !Complete
	RemoteID            [32]byte // if Complete
	HolepunchSecret     [32]byte // if Complete
}

// Type implements Message.
func (Handshake) Type() uint64    { return TypeHandshake }
func (Ping) Type() uint64         { return TypePing }
func (Pong) Type() uint64         { return TypePong }
func (Connect) Type() uint64      { return TypeConnect }
func (Destroy) Type() uint64      { return TypeDestroy }
func (Open) Type() uint64         { return TypeOpen }
func (End) Type() uint64          { return TypeEnd }
func (Data) Type() uint64         { return TypeData }
func (NoiseSend) Type() uint64    { return TypeNoiseSend }
func (NoiseReceive) Type() uint64 { return TypeNoiseReceive }
func (NoiseReply) Type() uint64   { return TypeNoiseReply }

// AppendUint appends compact-encoding's uint: one byte up to 0xfc, else
// 0xfd, 0xfe or 0xff and 2, 4 or 8 little-endian bytes.
func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0xfc:
		return append(b, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), v)
}

func appendBuffer(b, v []byte) []byte { return append(AppendUint(b, uint64(len(v))), v...) }

func flag(v bool, bit byte) byte {
	if v {
		return bit
	}
	return 0
}

// AppendOpenChannel appends protomux's open of channel id for protocol,
// with no channel id buffer and no handshake.
func AppendOpenChannel(b []byte, id uint64, protocol string) []byte {
	b = append(b, 0, ctlOpen)
	b = AppendUint(b, id)
	b = appendBuffer(b, []byte(protocol))
	return append(b, 0)
}

// AppendFrame appends the protomux frame of m on channel ch (our id of the
// channel).
func AppendFrame(b []byte, ch uint64, m Message) []byte {
	b = AppendUint(b, ch)
	b = AppendUint(b, m.Type())
	le := binary.LittleEndian
	switch m := m.(type) {
	case Handshake:
		b = append(append(b, 0), m.PublicKey[:]...)
	case Ping, Pong:
	case Connect:
		b = le.AppendUint32(append(b, 0), m.Alias)
		b = append(append(b, m.PublicKey[:]...), m.RemotePublicKey[:]...)
	case Destroy:
		b = append(b, flag(m.Paired, 1)|flag(m.HasError, 2))
		b = le.AppendUint32(b, m.Alias)
		if m.HasError {
			b = appendBuffer(b, []byte(m.Error))
		}
	case Open:
		b = le.AppendUint32(le.AppendUint32(append(b, 0), m.Alias), m.RemoteAlias)
		b = le.AppendUint32(b, m.HandshakeID)
	case End:
		b = le.AppendUint32(b, m.Alias)
	case Data:
		b = AppendUint(le.AppendUint32(b, m.Alias), uint64(len(m.Chunks)))
		for _, c := range m.Chunks {
			b = appendBuffer(b, c)
		}
	case NoiseSend:
		b = le.AppendUint32(append(b, flag(m.Initiator, 1)), m.ID)
		if m.Initiator {
			b = le.AppendUint32(b, m.RemoteStreamAlias)
		}
		b = appendBuffer(b, m.Payload)
	case NoiseReceive:
		b = le.AppendUint32(append(b, flag(m.Initiator, 1)), m.ID)
		if !m.Initiator {
			b = le.AppendUint32(b, m.ServerAlias)
		}
		b = appendBuffer(b, m.Payload)
	case NoiseReply:
		b = le.AppendUint32(append(b, flag(m.Initiator, 1)|flag(m.Complete, 2)), m.ID)
		b = appendBuffer(b, m.Payload)
		if !m.Initiator && !m.Complete {
			b = append(b, m.RemotePublicKey[:]...)
		}
		if m.Complete {
			b = append(append(b, m.RemoteID[:]...), m.HolepunchSecret[:]...)
		}
	default:
		panic(fmt.Sprintf("dhtrelay: no encoding for %T", m))
	}
	return b
}
