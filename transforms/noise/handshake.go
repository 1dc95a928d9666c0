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
	"time"

	fnoise "github.com/flynn/noise"
	"golang.org/x/crypto/curve25519"

	"github.com/f7d52a8e/multiserver/address"
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

var suite = fnoise.NewCipherSuite(fnoise.DH25519, fnoise.CipherChaChaPoly, fnoise.HashBLAKE2s)

// Client runs the client (Noise initiator) side of the handshake on c,
// expecting the server to hold the long-term key server, and returns the
// encrypted conn.
//
// Client honours ctx by setting a past deadline on c when ctx ends; the
// error then wraps ctx.Err(). It changes no deadline otherwise, and on
// error it leaves c open: the caller closes it.
func Client(ctx context.Context, c net.Conn, cfg Config, server ed25519.PublicKey) (*Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	serverCurve, err := edcurve.PublicKey(server)
	if err != nil {
		return nil, fmt.Errorf("noise: server key: %w", err)
	}
	var nc *Conn
	err = withContext(ctx, c, func() (err error) {
		nc, err = client(c, &cfg, server, serverCurve)
		return err
	})
	return nc, err
}

// Server runs the server (Noise responder) side of the handshake on c and
// returns the encrypted conn; [Conn.RemoteKey] is the client's proven
// key.
//
// Server honours ctx as [Client] does, and likewise leaves c open on
// error.
func Server(ctx context.Context, c net.Conn, cfg Config) (*Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	var nc *Conn
	err := withContext(ctx, c, func() (err error) {
		nc, err = server(c, &cfg)
		return err
	})
	return nc, err
}

// client sends msg1, reads msg2 and sends msg3, the key confirmation.
func client(c net.Conn, cfg *Config, server ed25519.PublicKey, serverCurve []byte) (*Conn, error) {
	hs, err := newState(cfg, true, serverCurve)
	if err != nil {
		return nil, err
	}
	frame := binary.BigEndian.AppendUint16(make([]byte, 0, lenSize+msg1Size), msg1Size)
	frame, _, _, err = hs.WriteMessage(frame, cfg.Identity.Public().(ed25519.PublicKey))
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
	_, send, recv, err := hs.ReadMessage(nil, msg2)
	if err != nil {
		return nil, errServerAuth
	}
	nc := newConn(c, server, hs.ChannelBinding(), send.UnsafeKey(), recv.UnsafeKey())
	if frame, err = nc.w.seal(nil); err != nil {
		return nil, err
	}
	if err := writeMsg(c, frame, "key confirmation"); err != nil {
		return nil, err
	}
	return nc, nil
}

// server reads msg1, checks and authorizes the client's key, sends msg2
// and reads msg3, the key confirmation.
func server(c net.Conn, cfg *Config) (*Conn, error) {
	msg1, err := readMsg(c, msg1Size, "client's first message", "client hung up before its first message")
	if err != nil {
		return nil, err
	}
	hs, err := newState(cfg, false, nil)
	if err != nil {
		return nil, err
	}
	payload, _, _, err := hs.ReadMessage(nil, msg1)
	if err != nil {
		return nil, errClientAuth
	}
	remote := ed25519.PublicKey(payload)
	if curve, err := edcurve.PublicKey(remote); err != nil || !bytes.Equal(curve, hs.PeerStatic()) {
		return nil, errClientKey
	}
	if cfg.Authorize != nil {
		if err := cfg.Authorize(remote); err != nil {
			return nil, fmt.Errorf("noise: client %s not authorized: %w", address.EncodeKey(remote), err)
		}
	}
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
	if _, err := nc.r.cs.open(nil, msg3); err != nil {
		return nil, errConfirm
	}
	return nc, nil
}

// newState starts a Noise IK handshake with cfg's identity as the static
// key; peerStatic is the responder's static key on the initiator.
func newState(cfg *Config, initiator bool, peerStatic []byte) (*fnoise.HandshakeState, error) {
	priv := edcurve.PrivateKey(cfg.Identity)
	pub, err := curve25519.X25519(priv, curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("noise: static key: %w", err)
	}
	hs, err := fnoise.NewHandshakeState(fnoise.Config{
		CipherSuite:   suite,
		Random:        cfg.rand(),
		Pattern:       fnoise.HandshakeIK,
		Initiator:     initiator,
		Prologue:      cfg.prologue(),
		StaticKeypair: fnoise.DHKey{Private: priv, Public: pub},
		PeerStatic:    peerStatic,
	})
	if err != nil {
		return nil, fmt.Errorf("noise: %w", err)
	}
	return hs, nil
}

func newConn(c net.Conn, remote ed25519.PublicKey, hash []byte, send, recv [32]byte) *Conn {
	nc := &Conn{conn: c, remote: remote, hash: hash}
	nc.w.cs.init(send, 0)
	nc.r.cs.init(recv, 0)
	return nc
}

// withContext runs f, aborting c's I/O with a past deadline if ctx ends
// first. If ctx ended, the result is an error even when f succeeded: c's
// deadline is in the past then, and the conn is of no use.
func withContext(ctx context.Context, c net.Conn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("noise: handshake not started: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := f()
	if stop() {
		return err
	}
	<-fired // the deadline is set; no goroutine is left behind
	if err == nil {
		return fmt.Errorf("noise: handshake: %w", ctx.Err())
	}
	return fmt.Errorf("%w: %w", err, ctx.Err())
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
