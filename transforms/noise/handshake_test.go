package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	fnoise "github.com/flynn/noise"
	"golang.org/x/crypto/curve25519"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// failedHandshake runs a handshake expected to fail on both sides and
// returns both errors.
func failedHandshake(t *testing.T, ccfg, scfg Config, serverKey ed25519.PublicKey) (cerr, serr error) {
	t.Helper()
	c, s := frametest.MemPipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cr, sr := runHandshake(ctx, c, s, ccfg, scfg, serverKey)
	if cr.err == nil || sr.err == nil {
		t.Fatalf("handshake: client %v, server %v; want both to fail", cr.err, sr.err)
	}
	if errors.Is(cr.err, context.DeadlineExceeded) || errors.Is(sr.err, context.DeadlineExceeded) {
		t.Fatalf("handshake timed out: client %v, server %v", cr.err, sr.err)
	}
	return cr.err, sr.err
}

func wantHangup(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %q does not wrap io.EOF or io.ErrUnexpectedEOF", err)
	}
	if !strings.Contains(err.Error(), "hung up") {
		t.Errorf("error %q does not say the peer hung up", err)
	}
}

func wantErr(t *testing.T, err, target error, text string) {
	t.Helper()
	if !errors.Is(err, target) || !strings.Contains(err.Error(), text) {
		t.Errorf("error = %v, want %v saying %q", err, target, text)
	}
}

func TestAuthorizeRejects(t *testing.T) {
	frametest.NoLeak(t)
	errNo := errors.New("not on the list")
	scfg := testConfig(2)
	var got ed25519.PublicKey
	scfg.Authorize = func(k ed25519.PublicKey) error { got = k; return errNo }
	cerr, serr := failedHandshake(t, testConfig(1), scfg, pub(testKey(2)))
	if !errors.Is(serr, errNo) || !strings.Contains(serr.Error(), "not authorized") {
		t.Errorf("server error = %v, want the Authorize error", serr)
	}
	if !bytes.Equal(got, pub(testKey(1))) {
		t.Errorf("Authorize got %x, want the client's key", got)
	}
	wantHangup(t, cerr)
	if !strings.Contains(cerr.Error(), "not authorized") {
		t.Errorf("client error %q does not mention authorization", cerr)
	}
}

func TestAuthorizeAccepts(t *testing.T) {
	c, s := frametest.MemPipe(t)
	scfg := testConfig(2)
	scfg.Authorize = func(ed25519.PublicKey) error { return nil }
	cr, sr := runHandshake(context.Background(), c, s, testConfig(1), scfg, pub(testKey(2)))
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
	}
}

func TestInvalidServerKey(t *testing.T) {
	frametest.NoLeak(t)
	c, _ := frametest.MemPipe(t)
	bad := make([]byte, 32)
	bad[0] = 1 // y = 1: the identity, of small order
	for _, k := range [][]byte{bad, pub(testKey(1))[:31], badPoint(t)} {
		_, err := Client(context.Background(), c, testConfig(1), k)
		if err == nil || !strings.Contains(err.Error(), "server key") {
			t.Errorf("Client(key %x) = %v, want a server key error", k, err)
		}
	}
}

// badPoint returns 32 bytes that decode to no curve point.
func badPoint(t *testing.T) []byte {
	for i := byte(2); i < 255; i++ {
		k := bytes.Repeat([]byte{i}, 32)
		k[31] &= 0x7f
		if _, err := edcurve.PublicKey(k); err != nil {
			return k
		}
	}
	t.Fatal("no invalid point found")
	return nil
}

// clientWire returns what a client with cfg sends to the server with key
// 2 when the server answers as an honest one would: msg1, msg3 (the key
// confirmation), then one frame of data; and the server's msg2.
func clientWire(t *testing.T, cfg Config) (msg1, msg2, msg3, data []byte) {
	t.Helper()
	c, s := frametest.MemPipe(t)
	rc, rs := &frametest.RecordConn{Conn: c}, &frametest.RecordConn{Conn: s}
	cr, sr := runHandshake(context.Background(), rc, rs, cfg, testConfig(2), pub(testKey(2)))
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
	}
	go cr.conn.Write([]byte("secret"))
	if _, err := io.ReadFull(sr.conn, make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	w := rc.Written()
	n1, n3 := lenSize+msg1Size, lenSize+msg3Size
	return w[:n1], rs.Written(), w[n1 : n1+n3], w[n1+n3:]
}

// serverOn runs Server on a pipe whose peer writes wire, then waits for
// the server's reply, if any, and closes; it returns Server's error.
func serverOn(t *testing.T, ctx context.Context, cfg Config, wire []byte) error {
	t.Helper()
	c, s := frametest.MemPipe(t)
	go func() { c.Write(wire); io.Copy(io.Discard, c) }()
	sc, err := Server(ctx, s, cfg)
	if err == nil {
		sc.Close()
	}
	s.Close()
	return err
}

func TestTamperedFirstMessage(t *testing.T) {
	frametest.NoLeak(t)
	msg1, _, msg3, _ := clientWire(t, testConfig(1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range msg1 {
		tampered := bytes.Clone(msg1)
		tampered[i] ^= 0x10
		err := serverOn(t, ctx, testConfig(2), append(tampered, msg3...))
		switch {
		case i < lenSize:
			wantErr(t, err, ErrInvalidMessage, "client's first message is")
		default:
			wantErr(t, err, ErrAuthFailed, "does not decrypt")
		}
		if frametest.IsTimeout(err) {
			t.Fatalf("byte %d: %v", i, err)
		}
	}
}

// TestClientKeyMismatch sends a msg1 whose payload names an Ed25519 key
// other than the one behind its static key.
func TestClientKeyMismatch(t *testing.T) {
	frametest.NoLeak(t)
	for _, tt := range []struct {
		name    string
		payload []byte
	}{{"other key", pub(testKey(3))}, {"invalid key", make([]byte, 32)}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(1)
			priv := edcurve.PrivateKey(cfg.Identity.Private())
			static, _ := curve25519.X25519(priv, curve25519.Basepoint)
			serverCurve, _ := edcurve.PublicKey(pub(testKey(2)))
			hs, err := fnoise.NewHandshakeState(fnoise.Config{
				CipherSuite: fnoise.NewCipherSuite(fnoise.DH25519, fnoise.CipherChaChaPoly, fnoise.HashBLAKE2s), Pattern: fnoise.HandshakeIK, Initiator: true,
				Prologue: cfg.prologue(), StaticKeypair: fnoise.DHKey{Private: priv, Public: static},
				PeerStatic: serverCurve,
			})
			if err != nil {
				t.Fatal(err)
			}
			msg1, _, _, err := hs.WriteMessage(binary.BigEndian.AppendUint16(nil, msg1Size), tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			err = serverOn(t, context.Background(), testConfig(2), msg1)
			wantErr(t, err, ErrAuthFailed, "does not match its static key")
		})
	}
}

func TestGarbageHandshake(t *testing.T) {
	frametest.NoLeak(t)
	framed := func(n int) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(n)), frametest.RandomBytes(7, n)...)
	}
	// The server's side of garbage is in the conformance suite, and
	// TestTamperedFirstMessage has garbage that is framed as msg1.
	for _, tt := range []struct {
		name   string
		reply  []byte
		target error
		text   string
	}{
		{"client", framed(msg2Size), multiserver.ErrWrongKey, "server's reply does not decrypt"},
		{"client length", framed(msg1Size), ErrInvalidMessage, "server's reply is 128 bytes, want 48"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, s := frametest.MemPipe(t)
			go func() {
				io.ReadFull(s, make([]byte, lenSize+msg1Size))
				s.Write(tt.reply)
			}()
			_, err := Client(context.Background(), c, testConfig(1), pub(testKey(2)))
			wantErr(t, err, tt.target, tt.text)
			if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %v matches no sentinel of the package", err)
			}
		})
	}
}

func TestTruncatedHandshake(t *testing.T) {
	frametest.NoLeak(t)
	t.Run("server before confirmation", func(t *testing.T) {
		msg1, _, _, _ := clientWire(t, testConfig(1))
		c, s := frametest.MemPipe(t)
		go func() {
			c.Write(msg1)
			io.ReadFull(c, make([]byte, lenSize+msg2Size))
			c.Close()
		}()
		_, err := Server(context.Background(), s, testConfig(2))
		wantHangup(t, err)
		if !strings.Contains(err.Error(), "confirming") {
			t.Errorf("error %q does not name the step", err)
		}
	})
	t.Run("client", func(t *testing.T) {
		c, s := frametest.MemPipe(t)
		go func() {
			io.ReadFull(s, make([]byte, lenSize+msg1Size))
			s.Write([]byte{0, msg2Size, 1, 2, 3})
			s.Close()
		}()
		_, err := Client(context.Background(), c, testConfig(1), pub(testKey(2)))
		wantHangup(t, err)
	})
}

func TestBadRand(t *testing.T) {
	cfg := testConfig(1)
	cfg.Rand = bytes.NewReader(make([]byte, 5))
	c, _ := frametest.MemPipe(t)
	_, err := Client(context.Background(), c, cfg, pub(testKey(2)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Client with a short Rand = %v, want io.ErrUnexpectedEOF", err)
	}
}
