package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

func TestTransform(t *testing.T) {
	st, err := New(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := New(testConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	c, s := frametest.MemPipe(t)
	errc := make(chan error, 1)
	go func() {
		sc, err := st.Server(context.Background(), s)
		if err == nil && !bytes.Equal(sc.(*Conn).RemoteKey(), pub(testKey(1))) {
			err = errors.New("server saw the wrong client key")
		}
		errc <- err
	}()
	// The advertised segment is what a dialer uses.
	cc, err := ct.Client(context.Background(), c, st.Advertise(multiserver.ScopePublic)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if k, ok := multiserver.RemoteKey(cc); !ok || !bytes.Equal(k, pub(testKey(2))) {
		t.Errorf("multiserver.RemoteKey = %x, %v", k, ok)
	}
}

func TestTransformAdvertise(t *testing.T) {
	st, err := New(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name() != "noise" {
		t.Errorf("Name = %q", st.Name())
	}
	seg := address.Segment{Name: "noise", Fields: []string{address.EncodeKey(pub(testKey(2)))}}
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
		{Name: "noise"},
		{Name: "noise", Fields: []string{""}},
		{Name: "noise", Fields: []string{"notbase64!"}},
		{Name: "noise", Fields: []string{key, key}},
		{Name: "shs", Fields: []string{key}},
		{Name: "noise", Fields: []string{address.EncodeKey(make([]byte, 32))}},
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
	nc, err := ct.Client(context.Background(), c, address.Segment{Name: "noise", Fields: []string{key}})
	if err == nil || nc != nil {
		t.Errorf("Client on a closed pipe = %v, %v; want nil and an error", nc, err)
	}
}

// TestSameKeyAsSHS checks the promise of the address format: "noise:KEY"
// and "shs:KEY" carry the same Ed25519 key, the one RemoteKey returns.
func TestSameKeyAsSHS(t *testing.T) {
	st, err := New(testConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	k, err := address.DecodeKey(st.Advertise(multiserver.ScopeLocal)[0].Fields[0])
	if err != nil || !ed25519.PublicKey(k).Equal(pub(testKey(2))) {
		t.Errorf("advertised key %x, %v; want the Ed25519 public key", k, err)
	}
}
