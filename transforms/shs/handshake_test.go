package shs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
	"github.com/f7d52a8e/multiserver/internal/frametest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
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

func TestAuthorizeRejects(t *testing.T) {
	frametest.NoLeak(t)
	errNo := errors.New("not on the list")
	scfg := testConfig(2)
	var got ed25519.PublicKey
	scfg.Authorize = func(k ed25519.PublicKey) error { got = k; return errNo }
	cerr, serr := failedHandshake(t, testConfig(1), scfg, pub(testKey(2)))
	if !errors.Is(serr, errNo) {
		t.Errorf("server error = %v, want the Authorize error", serr)
	}
	if !bytes.Equal(got, pub(testKey(1))) {
		t.Errorf("Authorize got %x, want the client's key", got)
	}
	wantHangup(t, cerr)
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

// The server's side of garbage and truncated first messages is in the
// conformance suite; these are the client's.

func TestGarbageReply(t *testing.T) {
	frametest.NoLeak(t)
	c, s := frametest.MemPipe(t)
	go func() {
		io.ReadFull(s, make([]byte, msg1Size))
		s.Write(frametest.RandomBytes(7, msg2Size))
	}()
	_, err := Client(context.Background(), c, testConfig(1), pub(testKey(2)))
	if !errors.Is(err, ErrInvalidChallenge) || !strings.Contains(err.Error(), "server sent") {
		t.Errorf("Client = %v, want the server's invalid challenge", err)
	}
}

func TestTruncatedReply(t *testing.T) {
	frametest.NoLeak(t)
	c, s := frametest.MemPipe(t)
	go func() {
		io.ReadFull(s, make([]byte, msg1Size))
		s.Write(make([]byte, 10))
		s.Close()
	}()
	_, err := Client(context.Background(), c, testConfig(1), pub(testKey(2)))
	wantHangup(t, err)
}

func TestTransform(t *testing.T) {
	st, err := New(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := New(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	seg := address.Segment{Name: "shs", Fields: []string{address.EncodeKey(pub(testKey(2)))}}
	invite := testKey(9)
	seeded := address.Segment{Name: "shs", Fields: append(seg.Fields, address.EncodeKey(invite.Seed()))}
	for _, tt := range []struct {
		name string
		seg  address.Segment
		want ed25519.PublicKey
	}{{"key", seg, pub(testKey(1))}, {"key and seed", seeded, pub(invite)}} {
		t.Run(tt.name, func(t *testing.T) {
			c, s := frametest.MemPipe(t)
			errc := make(chan error, 1)
			go func() {
				sc, err := st.Server(context.Background(), s)
				if err == nil && !bytes.Equal(sc.(*Conn).RemoteKey(), tt.want) {
					err = errors.New("server saw the wrong client key")
				}
				errc <- err
			}()
			cc, err := ct.Client(context.Background(), c, tt.seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if k, ok := multiserver.RemoteKey(cc); !ok || !bytes.Equal(k, pub(testKey(2))) {
				t.Errorf("multiserver.RemoteKey = %x, %v", k, ok)
			}
		})
	}
}

func TestTransformAdvertise(t *testing.T) {
	st, err := New(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name() != "shs" {
		t.Errorf("Name = %q", st.Name())
	}
	seg := address.Segment{Name: "shs", Fields: []string{address.EncodeKey(pub(testKey(2)))}}
	for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
		if got := st.Advertise(scope); len(got) != 1 || !got[0].Equal(seg) {
			t.Errorf("Advertise(%v) = %v, want [%v]", scope, got, seg)
		}
	}
}

func TestTransformBadSegment(t *testing.T) {
	ct, err := New(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	key := address.EncodeKey(pub(testKey(2)))
	for _, seg := range []address.Segment{
		{Name: "shs"},
		{Name: "shs", Fields: []string{""}},
		{Name: "shs", Fields: []string{"notbase64!"}},
		{Name: "shs", Fields: []string{key, "short"}},
		{Name: "shs", Fields: []string{key, key, key}},
		{Name: "noise", Fields: []string{key}},
	} {
		c, _ := frametest.MemPipe(t)
		nc, err := ct.Client(context.Background(), c, seg)
		if err == nil || nc != nil {
			t.Errorf("Client(%v) = %v, %v; want nil and an error", seg, nc, err)
		}
	}
	// A failed handshake gives a nil net.Conn, not a nil *Conn in one.
	c, s := frametest.MemPipe(t)
	go s.Close()
	nc, err := ct.Client(context.Background(), c, address.Segment{Name: "shs", Fields: []string{key}})
	if err == nil || nc != nil {
		t.Errorf("Client on a closed pipe = %v, %v; want nil and an error", nc, err)
	}
}

// A segment the transform refuses is named without its seed.
func TestTransformErrorsHideSeed(t *testing.T) {
	ct, err := New(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	key := address.EncodeKey(pub(testKey(2)))
	seed := address.EncodeKey(testKey(9).Seed())
	for _, seg := range []address.Segment{
		{Name: "shs", Fields: []string{key, seed, seed}},
		{Name: "shs", Fields: []string{key, seed[:40]}},
		{Name: "shs", Fields: []string{key, seed + "!"}},
	} {
		c, s := net.Pipe()
		_, err := ct.Client(context.Background(), c, seg)
		c.Close()
		s.Close()
		if err == nil || strings.Contains(err.Error(), seed[:20]) {
			t.Errorf("Client with %d fields = %v, want an error without the seed", len(seg.Fields), err)
		}
	}
}
