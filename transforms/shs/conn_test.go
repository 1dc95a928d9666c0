package shs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	"golang.org/x/crypto/nacl/secretbox"
)

// frameKey is the key and nonce of the hand-made streams below.
var (
	frameKey   = [32]byte{1, 2, 3}
	frameNonce = [24]byte{23: 0xfe}
)

// rawConn returns a Conn that reads what the test writes to peer as raw
// box stream bytes, sealed with frameKey and frameNonce.
func rawConn(t *testing.T) (*Conn, net.Conn) {
	a, peer := frametest.MemPipe(t)
	c := newConn(a, nil, boxKeys{decKey: frameKey, decNonce: frameNonce, encKey: frameKey, encNonce: frameNonce})
	return c, peer
}

// wireOf returns the frames of each write, not yet with a goodbye, and
// the writer for more.
func wireOf(writes ...string) ([]byte, *testWriter) {
	w := newTestWriter(frameKey[:], frameNonce[:])
	var b bytes.Buffer
	for _, s := range writes {
		w.write(&b, []byte(s))
	}
	return b.Bytes(), w
}

func goodbyeOf(w *testWriter) []byte {
	var b bytes.Buffer
	w.goodbye(&b)
	return b.Bytes()
}

func TestBoxStreamErrors(t *testing.T) {
	good, w := wireOf("hello ", "world")
	goodbye := goodbyeOf(w)
	first, w1 := wireOf("hello ")
	corruptBody := bytes.Clone(good)
	corruptBody[len(corruptBody)-1] ^= 1
	corruptHeader := bytes.Clone(good)
	corruptHeader[len(first)+3] ^= 1 // in the second frame's header
	tests := []struct {
		name  string
		wire  []byte
		want  string // bytes delivered before the error
		check func(error) bool
		msg   string
	}{
		{"goodbye", frametest.Cat(good, goodbye), "hello world", isEOF, "EOF"},
		{"goodbye then junk", frametest.Cat(good, goodbye, []byte{1, 2, 3}), "hello world", isEOF, "EOF"},
		{"hang-up", good, "hello world", isUnexpectedEOF, "without goodbye"},
		{"truncated body", good[:len(good)-2], "hello ", isUnexpectedEOF, "without goodbye"},
		{"truncated header", good[:len(first)+10], "hello ", isUnexpectedEOF, "without goodbye"},
		{"corrupt body", corruptBody, "hello ", isInvalidFrame, "body"},
		{"corrupt header", corruptHeader, "hello ", isInvalidFrame, "header"},
		{"oversized length", frametest.Cat(first, longHeader(w1, 5000)), "hello ", isInvalidFrame, "frame length 5000 exceeds 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frametest.NoLeak(t)
			c, peer := rawConn(t)
			go func() { peer.Write(tt.wire); peer.Close() }()
			got, err := frametest.ReadAll(c)
			if string(got) != tt.want {
				t.Errorf("read %q before the error, want %q", got, tt.want)
			}
			if !tt.check(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want one like %q", err, tt.msg)
			}
			if _, err2 := c.Read(make([]byte, 10)); err2 != err {
				t.Errorf("second Read error = %v, want the same %v", err2, err)
			}
		})
	}
}

func isEOF(err error) bool           { return err == io.EOF }
func isUnexpectedEOF(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }
func isInvalidFrame(err error) bool  { return errors.Is(err, ErrInvalidFrame) }

// longHeader seals a header announcing n bytes at w's nonce, followed by
// n bytes.
func longHeader(w *testWriter, n int) []byte {
	var h [headerPlain]byte
	binary.BigEndian.PutUint16(h[:2], uint16(n))
	out := secretbox.Seal(nil, h[:], &w.s.nonce, &w.s.key)
	return append(out, make([]byte, n)...)
}

func TestConn(t *testing.T) {
	frametest.TestConn(t, frametest.Transform{
		Handshake: func(ctx context.Context, c, s net.Conn) (net.Conn, net.Conn, error) {
			cr, sr := runHandshake(ctx, c, s, testConfig(1), testConfig(2), pub(testKey(2)))
			if err := errors.Join(cr.err, sr.err); err != nil {
				return nil, nil, err
			}
			return cr.conn, sr.conn, nil
		},
		Wrap: func(c net.Conn) net.Conn {
			return newConn(c, nil, boxKeys{decKey: frameKey, decNonce: frameNonce, encKey: frameKey, encNonce: frameNonce})
		},
		EndTimeout: &goodbyeTimeout,
	})
}
