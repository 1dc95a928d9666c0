package hyperdht

import (
	"bytes"
	"errors"
	"testing"

	fnoise "github.com/flynn/noise"
)

// FuzzDH feeds peer keys to DH: refused keys give ErrBadPoint, accepted
// ones a 32-byte result that is itself an acceptable peer key.
func FuzzDH(f *testing.F) {
	for _, c := range loadVectors(f).DH {
		f.Add([]byte(c.Public))
	}
	k := KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	f.Fuzz(func(t *testing.T, pub []byte) {
		out, err := DH.DH(k.Private, pub)
		if err != nil {
			if !errors.Is(err, ErrBadPoint) {
				t.Fatalf("DH(%x): %v, want ErrBadPoint", pub, err)
			}
			return
		}
		if len(out) != 32 {
			t.Fatalf("DH(%x) = %d bytes", pub, len(out))
		}
		if _, err := peerPoint(out); err != nil {
			t.Fatalf("DH(%x) = %x, which is refused as a key: %v", pub, out, err)
		}
	})
}

// FuzzHandshakeRead feeds the responder mutations of a valid first
// message and the initiator mutations of a valid second one: they fail
// with an error, never a panic, and only the unmodified messages succeed.
func FuzzHandshakeRead(f *testing.F) {
	v := loadVectors(f).Handshakes[0]
	f.Add([]byte(v.Msg1), true)
	f.Add([]byte(v.Msg2), false)
	f.Add([]byte(v.Msg1[:40]), true)
	f.Fuzz(func(t *testing.T, msg []byte, first bool) {
		ik, rk := KeyFromSeed(v.InitiatorSeed), KeyFromSeed(v.ResponderSeed)
		init, _ := fnoise.NewHandshakeState(fnoise.Config{
			CipherSuite: CipherSuite, Pattern: fnoise.HandshakeIK, Initiator: true,
			Prologue: PeerHandshakePrologue(), StaticKeypair: ik, PeerStatic: rk.Public,
			Random: &seedReader{append([]byte(nil), v.InitiatorEphemeralSeed...)},
		})
		resp, _ := fnoise.NewHandshakeState(fnoise.Config{
			CipherSuite: CipherSuite, Pattern: fnoise.HandshakeIK,
			Prologue: PeerHandshakePrologue(), StaticKeypair: rk,
			Random: &seedReader{append([]byte(nil), v.ResponderEphemeralSeed...)},
		})
		if _, _, _, err := init.WriteMessage(nil, v.Payload1); err != nil {
			t.Fatal(err)
		}
		if first {
			_, _, _, err := resp.ReadMessage(nil, msg)
			if (err == nil) != bytes.Equal(msg, v.Msg1) {
				t.Fatalf("responder read %x: %v", msg, err)
			}
			return
		}
		if _, _, _, err := resp.ReadMessage(nil, v.Msg1); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := init.ReadMessage(nil, msg)
		if (err == nil) != bytes.Equal(msg, v.Msg2) {
			t.Fatalf("initiator read %x: %v", msg, err)
		}
	})
}
