package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	fnoise "github.com/flynn/noise"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/ctxguard"
	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// Protocol is the full Noise protocol name, which the handshake hashes
// first. The transform name "noise" stands for it and for the framing.
const Protocol = "Noise_IK_25519_ChaChaPoly_BLAKE2s"

// Handshake message sizes, without the 2-byte length before each.
const (
	msg1Size = 32 + 32 + TagSize + ed25519.PublicKeySize + TagSize // e, enc(s), enc(client's ed25519 key)
	msg2Size = 32 + TagSize                                        // e, enc(empty payload)
	msg3Size = TagSize                                             // client's transport frame 0, empty payload
)

// Client runs the client (Noise initiator) side of the handshake on c,
// expecting the server to hold the long-term key server, and returns the
// encrypted conn.
//
// The handshake proves the X25519 form of server, which server with the
// top bit of its last byte flipped shares: that key reaches the same
// server, and [Conn.RemoteKey] is then the key as given. (shs, which
// checks a signature, refuses it.)
//
// Client honours ctx by setting a past deadline on c when ctx ends; the
// error then wraps ctx.Err(). It changes no deadline otherwise, and on
// error it leaves c open: the caller closes it.
func Client(ctx context.Context, c net.Conn, cfg Config, server ed25519.PublicKey) (*Conn, error) {
	key, err := cfg.localKey()
	if err != nil {
		return nil, err
	}
	return dial(ctx, c, &cfg, key, server)
}

// Server runs the server (Noise responder) side of the handshake on c and
// returns the encrypted conn; [Conn.RemoteKey] is the client's proven
// key.
//
// Server honours ctx as [Client] does, and likewise leaves c open on
// error. It also bounds the wait for the client's first message by
// [Config.FirstMessageTimeout]: unless ctx ends sooner, it sets c's read
// deadline for that read, and clears it after. On that timeout the error
// matches os.ErrDeadlineExceeded.
func Server(ctx context.Context, c net.Conn, cfg Config) (*Conn, error) {
	key, err := cfg.localKey()
	if err != nil {
		return nil, err
	}
	return accept(ctx, c, &cfg, key)
}

// dial is Client with cfg checked and its key derived, as a Transform
// keeps them.
func dial(ctx context.Context, c net.Conn, cfg *Config, key *localKey, server ed25519.PublicKey) (*Conn, error) {
	serverCurve, err := edcurve.PublicKey(server)
	if err != nil {
		return nil, fmt.Errorf("noise: server key: %w", err)
	}
	var nc *Conn
	err = ctxguard.Run(ctx, c, "noise", func() (err error) {
		nc, err = client(c, cfg, key, server, serverCurve)
		return err
	})
	return nc, err
}

// accept is Server with cfg checked and its key derived.
func accept(ctx context.Context, c net.Conn, cfg *Config, key *localKey) (*Conn, error) {
	var nc *Conn
	err := ctxguard.Run(ctx, c, "noise", func() (err error) {
		nc, err = server(ctx, c, cfg, key)
		return err
	})
	return nc, err
}

// client sends msg1, reads msg2 and sends msg3, the key confirmation.
func client(c net.Conn, cfg *Config, key *localKey, server ed25519.PublicKey, serverCurve []byte) (*Conn, error) {
	hs, dh, err := newState(cfg, key, true, serverCurve)
	if err != nil {
		return nil, err
	}
	dh.prefetch(key.static, serverCurve) // ss, beside e and es
	frame := binary.BigEndian.AppendUint16(make([]byte, 0, lenSize+msg1Size), msg1Size)
	frame, _, _, err = hs.WriteMessage(frame, key.edPub)
	if err != nil {
		return nil, fmt.Errorf("noise: making first message: %w", err)
	}
	if err := writeMsg(c, frame, "first message"); err != nil {
		return nil, err
	}
	msg2, err := readMsg(c, msg2Size, "server's reply",
		"server hung up after our first message (wrong server key or app key, or we are not authorized?)")
	if err != nil {
		return nil, err
	}
	re := msg2[:32]
	dh.prefetch(dh.eph, re)     // ee
	dh.prefetch(key.static, re) // se
	_, send, recv, err := hs.ReadMessage(nil, msg2)
	if err != nil {
		return nil, errServerAuth
	}
	nc := newConn(c, server, hs.ChannelBinding(), send.UnsafeKey(), recv.UnsafeKey())
	if frame, err = nc.send.Seal(frame[:0], nil); err != nil {
		return nil, err
	}
	if err := writeMsg(c, frame, "key confirmation"); err != nil {
		return nil, err
	}
	return nc, nil
}

// server reads msg1, checks and authorizes the client's key, sends msg2
// and reads msg3, the key confirmation.
func server(ctx context.Context, c net.Conn, cfg *Config, key *localKey) (*Conn, error) {
	hs, dh, err := newState(cfg, key, false, nil)
	if err != nil {
		return nil, err
	}
	var msg1 []byte
	err = ctxguard.ReadFirst(ctx, c, cfg.firstMessageTimeout(), "noise: no first message from the client", func() (err error) {
		msg1, err = readMsg(c, msg1Size, "client's first message", "client hung up before its first message")
		return err
	})
	if err != nil {
		return nil, err
	}
	payload, _, _, err := hs.ReadMessage(nil, msg1)
	if err != nil {
		return nil, errClientAuth
	}
	remote := ed25519.PublicKey(payload)
	if u, err := edcurve.PublicKey(remote); err != nil || !bytes.Equal(u, hs.PeerStatic()) {
		return nil, errClientKey
	}
	if cfg.Authorize != nil {
		if err := cfg.Authorize(remote); err != nil {
			return nil, fmt.Errorf("noise: client %s not authorized: %w", address.EncodeKey(remote), err)
		}
	}
	dh.prefetch(dh.eph, msg1[:32])       // ee
	dh.prefetch(dh.eph, hs.PeerStatic()) // se
	frame := binary.BigEndian.AppendUint16(make([]byte, 0, lenSize+msg2Size), msg2Size)
	frame, recv, send, err := hs.WriteMessage(frame, nil)
	if err != nil {
		return nil, fmt.Errorf("noise: making reply: %w", err)
	}
	if err := writeMsg(c, frame, "reply"); err != nil {
		return nil, err
	}
	nc := newConn(c, remote, hs.ChannelBinding(), send.UnsafeKey(), recv.UnsafeKey())
	msg3, err := readMsg(c, msg3Size, "client's key confirmation", "client hung up before confirming the session keys")
	if err != nil {
		return nil, err
	}
	if _, err := nc.recv.open(msg3[:0], msg3); err != nil {
		return nil, errConfirm
	}
	return nc, nil
}

// newState starts a Noise IK handshake with key as the static key;
// peerStatic is the responder's static key on the initiator. The
// responder makes its ephemeral key at once (see dhFunc.pregenerate).
func newState(cfg *Config, key *localKey, initiator bool, peerStatic []byte) (*fnoise.HandshakeState, *dhFunc, error) {
	dh := &dhFunc{local: key}
	if !initiator {
		if err := dh.pregenerate(cfg.rand()); err != nil {
			return nil, nil, fmt.Errorf("noise: ephemeral key: %w", err)
		}
	}
	hs, err := fnoise.NewHandshakeState(fnoise.Config{
		CipherSuite:   fnoise.NewCipherSuite(dh, fnoise.CipherChaChaPoly, fnoise.HashBLAKE2s),
		Random:        cfg.rand(),
		Pattern:       fnoise.HandshakeIK,
		Initiator:     initiator,
		Prologue:      cfg.prologue(),
		StaticKeypair: fnoise.DHKey{Private: key.priv, Public: key.pub},
		PeerStatic:    peerStatic,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("noise: %w", err)
	}
	return hs, dh, nil
}

// readMsg reads one length-prefixed handshake message of size bytes. A
// wrong length fails at once, without reading the message; a hang-up is
// described with hangup.
func readMsg(c net.Conn, size int, name, hangup string) ([]byte, error) {
	var hdr [lenSize]byte
	if err := readFull(c, hdr[:], hangup); err != nil {
		return nil, err
	}
	if n := int(binary.BigEndian.Uint16(hdr[:])); n != size {
		return nil, errMsgLength(name, n, size)
	}
	b := make([]byte, size)
	if err := readFull(c, b, hangup); err != nil {
		return nil, err
	}
	return b, nil
}

func readFull(c net.Conn, b []byte, hangup string) error {
	if _, err := io.ReadFull(c, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("noise: %s: %w", hangup, err)
		}
		return fmt.Errorf("noise: reading handshake message: %w", err)
	}
	return nil
}

func writeMsg(c net.Conn, frame []byte, name string) error {
	if _, err := c.Write(frame); err != nil {
		return fmt.Errorf("noise: sending %s: %w", name, err)
	}
	return nil
}
