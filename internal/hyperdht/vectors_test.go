package hyperdht

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	fnoise "github.com/flynn/noise"
)

const vectorsPath = "../../spec/vectors/hyperswarm_noise.json"

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil {
		*h = nil
		return nil
	}
	v, err := hex.DecodeString(*s)
	*h = v
	return err
}

type vectors struct {
	Namespaces map[string]struct {
		Name   string     `json:"name"`
		IDs    []byte     `json:"ids"`
		Values []hexBytes `json:"values"`
	} `json:"namespaces"`
	DH []struct {
		Name   string   `json:"name"`
		Seed   hexBytes `json:"seed"`
		Public hexBytes `json:"public"`
		Shared hexBytes `json:"shared"`
	} `json:"dh"`
	Handshakes []struct {
		InitiatorSeed, ResponderSeed                   hexBytes
		InitiatorEphemeralSeed, ResponderEphemeralSeed hexBytes
		ResponderPublic, InitiatorPublic               hexBytes
		Payload1, Payload2, Msg1, Msg2, Hash           hexBytes
		InitiatorTx, InitiatorRx, HolepunchSecret      hexBytes
		InitiatorStreamID                              hexBytes `json:"initiatorStreamId"`
		ResponderStreamID                              hexBytes `json:"responderStreamId"`
	} `json:"handshakes"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.DH) == 0 || len(v.Handshakes) == 0 || len(v.Namespaces) != 2 {
		t.Fatalf("%s: missing vectors", vectorsPath)
	}
	return v
}

func TestNamespaceVectors(t *testing.T) {
	for name, ns := range loadVectors(t).Namespaces {
		got := Namespace(ns.Name, ns.IDs...)
		for i := range got {
			if !bytes.Equal(got[i][:], ns.Values[i]) {
				t.Errorf("Namespace(%q)[%d] = %x, want %x", name, i, got[i], ns.Values[i])
			}
		}
	}
}

func TestDHVectors(t *testing.T) {
	for _, c := range loadVectors(t).DH {
		t.Run(c.Name, func(t *testing.T) {
			k := KeyFromSeed(c.Seed)
			got, err := DH.DH(k.Private, c.Public)
			if c.Shared == nil {
				if !errors.Is(err, ErrBadPoint) {
					t.Fatalf("DH(%x) = %x, %v; libsodium refuses it", []byte(c.Public), got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, c.Shared) {
				t.Fatalf("DH(%x) = %x, %v; want %x", []byte(c.Public), got, err, []byte(c.Shared))
			}
		})
	}
}

// seedReader hands out one fixed ephemeral seed.
type seedReader struct{ b []byte }

func (r *seedReader) Read(p []byte) (int, error) {
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestHandshakeVectors(t *testing.T) {
	for i, v := range loadVectors(t).Handshakes {
		ik, rk := KeyFromSeed(v.InitiatorSeed), KeyFromSeed(v.ResponderSeed)
		if !bytes.Equal(rk.Public, v.ResponderPublic) || !bytes.Equal(ik.Public, v.InitiatorPublic) {
			t.Fatalf("%d: public keys differ", i)
		}
		init, err := fnoise.NewHandshakeState(fnoise.Config{
			CipherSuite: CipherSuite, Pattern: fnoise.HandshakeIK, Initiator: true,
			Prologue: PeerHandshakePrologue(), StaticKeypair: ik, PeerStatic: rk.Public,
			Random: &seedReader{v.InitiatorEphemeralSeed},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fnoise.NewHandshakeState(fnoise.Config{
			CipherSuite: CipherSuite, Pattern: fnoise.HandshakeIK,
			Prologue: PeerHandshakePrologue(), StaticKeypair: rk,
			Random: &seedReader{v.ResponderEphemeralSeed},
		})
		if err != nil {
			t.Fatal(err)
		}
		msg1, _, _, err := init.WriteMessage(nil, v.Payload1)
		if err != nil || !bytes.Equal(msg1, v.Msg1) {
			t.Fatalf("%d: msg1 = %x, %v; want %x", i, msg1, err, []byte(v.Msg1))
		}
		p1, _, _, err := resp.ReadMessage(nil, msg1)
		if err != nil || !bytes.Equal(p1, v.Payload1) {
			t.Fatalf("%d: responder read %x, %v", i, p1, err)
		}
		msg2, _, _, err := resp.WriteMessage(nil, v.Payload2)
		if err != nil || !bytes.Equal(msg2, v.Msg2) {
			t.Fatalf("%d: msg2 = %x, %v; want %x", i, msg2, err, []byte(v.Msg2))
		}
		p2, tx, rx, err := init.ReadMessage(nil, msg2)
		if err != nil || !bytes.Equal(p2, v.Payload2) {
			t.Fatalf("%d: initiator read %x, %v", i, p2, err)
		}
		hash := init.ChannelBinding()
		if !bytes.Equal(hash, v.Hash) {
			t.Errorf("%d: hash = %x, want %x", i, hash, []byte(v.Hash))
		}
		if k := tx.UnsafeKey(); !bytes.Equal(k[:], v.InitiatorTx) {
			t.Errorf("%d: tx = %x, want %x", i, k, []byte(v.InitiatorTx))
		}
		if k := rx.UnsafeKey(); !bytes.Equal(k[:], v.InitiatorRx) {
			t.Errorf("%d: rx = %x, want %x", i, k, []byte(v.InitiatorRx))
		}
		if s := HolepunchSecret(hash); !bytes.Equal(s[:], v.HolepunchSecret) {
			t.Errorf("%d: holepunch secret = %x, want %x", i, s, []byte(v.HolepunchSecret))
		}
		if s := StreamID(hash, true); !bytes.Equal(s[:], v.InitiatorStreamID) {
			t.Errorf("%d: initiator stream id = %x, want %x", i, s, []byte(v.InitiatorStreamID))
		}
		if s := StreamID(hash, false); !bytes.Equal(s[:], v.ResponderStreamID) {
			t.Errorf("%d: responder stream id = %x, want %x", i, s, []byte(v.ResponderStreamID))
		}
	}
}
