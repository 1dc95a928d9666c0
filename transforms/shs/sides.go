package shs

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/ctxguard"
	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// client runs msg1..msg4 from the client's side. h.remote and
// h.remoteCurve hold the server key to expect.
func (h *handshake) client(c net.Conn) (*Conn, error) {
	if err := writeMsg(c, h.challenge(), "msg1 (challenge)"); err != nil {
		return nil, err
	}
	msg2, err := readMsg(c, msg2Size, "server hung up before accepting our challenge (wrong app key?)")
	if err != nil {
		return nil, err
	}
	if !h.verifyChallenge(msg2) {
		return nil, errServerChallenge
	}
	if h.ab, err = dh(h.eph, h.remoteEph); err != nil {
		return nil, fmt.Errorf("shs: server ephemeral key: %w", err)
	}
	if h.aB, err = dh(h.eph, h.remoteCurve); err != nil {
		return nil, fmt.Errorf("shs: server key: %w", err)
	}
	h.sigA = ed25519.Sign(h.key.id, h.clientProof(h.remote))
	msg3 := box(h.msg3Key(), append(h.sigA[:len(h.sigA):len(h.sigA)], h.localPub()...))
	if err := writeMsg(c, msg3, "msg3 (client authentication)"); err != nil {
		return nil, err
	}
	msg4, err := readMsg(c, msg4Size,
		"server hung up after our authentication (wrong server key or app key, or we are not authorized?)")
	if err != nil {
		return nil, err
	}
	if h.Ab, err = dh(h.key.static, h.remoteEph); err != nil {
		return nil, fmt.Errorf("shs: server ephemeral key: %w", err)
	}
	sigB, ok := unbox(h.msg4Key(), msg4)
	if !ok || !ed25519.Verify(h.remote, h.serverProof(h.localPub()), sigB) {
		return nil, errServerAuth
	}
	return newConn(c, h.remote, h.outcome()), nil
}

// server runs msg1..msg4 from the server's side, waiting for msg1 at most
// firstTimeout (see ctxguard.ReadFirst).
func (h *handshake) server(ctx context.Context, c net.Conn, firstTimeout time.Duration) (*Conn, error) {
	var msg1 []byte
	err := ctxguard.ReadFirst(ctx, c, firstTimeout, "shs: no challenge from the client", func() (err error) {
		msg1, err = readMsg(c, msg1Size, "client hung up before its challenge")
		return err
	})
	if err != nil {
		return nil, err
	}
	if !h.verifyChallenge(msg1) {
		return nil, errClientChallenge
	}
	if h.ab, err = dh(h.eph, h.remoteEph); err != nil {
		return nil, fmt.Errorf("shs: client ephemeral key: %w", err)
	}
	if h.aB, err = dh(h.key.static, h.remoteEph); err != nil {
		return nil, fmt.Errorf("shs: client ephemeral key: %w", err)
	}
	if err := writeMsg(c, h.challenge(), "msg2 (challenge)"); err != nil {
		return nil, err
	}
	msg3, err := readMsg(c, msg3Size,
		"client hung up before authenticating (it may reject our key or app key)")
	if err != nil {
		return nil, err
	}
	if err := h.openClientAuth(msg3); err != nil {
		return nil, err
	}
	if h.authorize != nil {
		if err := h.authorize(h.remote); err != nil {
			return nil, fmt.Errorf("shs: client %s not authorized: %w", address.EncodeKey(h.remote), err)
		}
	}
	sigB := ed25519.Sign(h.key.id, h.serverProof(h.remote))
	if err := writeMsg(c, box(h.msg4Key(), sigB), "msg4 (server acceptance)"); err != nil {
		return nil, err
	}
	return newConn(c, h.remote, h.outcome()), nil
}

// openClientAuth opens msg3, checks the client's signature and computes
// Ab from the client's key.
func (h *handshake) openClientAuth(msg3 []byte) error {
	plain, ok := unbox(h.msg3Key(), msg3)
	if !ok {
		return errClientAuth
	}
	sigA, client := plain[:ed25519.SignatureSize], ed25519.PublicKey(plain[ed25519.SignatureSize:])
	if !ed25519.Verify(client, h.clientProof(h.localPub()), sigA) {
		return errClientAuth
	}
	clientCurve, err := edcurve.PublicKey(client)
	if err != nil {
		return fmt.Errorf("shs: client key %s: %w: %w", address.EncodeKey(client), err, ErrAuthFailed)
	}
	if h.Ab, err = dh(h.eph, clientCurve); err != nil {
		return fmt.Errorf("shs: client key %s: %w: %w", address.EncodeKey(client), err, ErrAuthFailed)
	}
	h.sigA, h.remote = sigA, client
	return nil
}
