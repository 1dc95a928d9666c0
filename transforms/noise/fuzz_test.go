package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/frametest"
)

// FuzzServerHandshake feeds arbitrary client bytes to Server. With the
// vector's server keys and ephemeral key, only the vector's own
// msg1||msg3 may succeed.
func FuzzServerHandshake(f *testing.F) {
	v := loadVectors(f).Vectors[0]
	transcript := frametest.Cat(v.Msg1, v.Msg3)
	f.Add(transcript)
	f.Add([]byte(v.Msg1))
	f.Add(frametest.Cat(v.Msg1, v.Msg3[:5]))
	f.Add(frametest.Cat(v.Msg1, []byte{0, 16}, make([]byte, 16)))
	f.Add(frametest.Cat([]byte{0, 128}, make([]byte, 128)))
	f.Add([]byte{0xff, 0xff})
	f.Add([]byte{})
	f.Add([]byte(v.Msg2))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Config{
			Identity: mustIdentity(ed25519.NewKeyFromSeed(v.Responder.Seed), v.AppKey),
			Rand:     bytes.NewReader(v.Responder.EphemeralSK),
		}
		c, err := Server(context.Background(), &frametest.ScriptConn{R: bytes.NewReader(data)}, cfg)
		if err == nil && !bytes.HasPrefix(data, transcript) {
			t.Fatalf("Server accepted %x", data)
		}
		if err == nil && !bytes.Equal(c.RemoteKey(), v.Initiator.Ed25519PK) {
			t.Fatalf("RemoteKey = %x", c.RemoteKey())
		}
	})
}

// FuzzFrameReader reads arbitrary bytes as the initiator's transport
// frames of the first vector. It must not panic, and a stream that starts
// with the vector's frames must decode to their plaintext and end.
func FuzzFrameReader(f *testing.F) {
	v := loadVectors(f).Vectors[0]
	var wire, plain []byte
	for _, fr := range v.Frames {
		if fr.From == "initiator" {
			wire = append(wire, fr.Wire...)
			plain = append(plain, fr.Plaintext...)
		}
	}
	key := [32]byte(v.Initiator.TransportKey)
	f.Add(wire, uint8(7))
	f.Add(wire[:10], uint8(0))
	f.Add(frametest.Cat(wire, []byte{1, 2, 3}), uint8(100))
	f.Add([]byte{0, 15, 1}, uint8(1))
	f.Add([]byte{0xff, 0xff, 1, 2, 3}, uint8(255))
	f.Add(make([]byte, 40), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		r := newTestReader(key, 1)
		src := bytes.NewReader(data)
		p := make([]byte, int(size)+1)
		var got []byte
		var err error
		for i := 0; err == nil && i < len(data)+2; i++ {
			var n int
			n, err = r.read(src, p)
			if n > len(p) || n < 0 {
				t.Fatalf("Read returned %d for %d bytes", n, len(p))
			}
			got = append(got, p[:n]...)
		}
		if err == nil {
			t.Fatal("reader did not end")
		}
		if bytes.HasPrefix(data, wire) && (err != io.EOF || !bytes.Equal(got, plain)) {
			t.Fatalf("valid stream: read %q, %v", got, err)
		}
		if err == io.EOF && !bytes.HasPrefix(plain, got) && !bytes.HasPrefix(data, wire) {
			t.Fatalf("forged stream ended cleanly with %q", got)
		}
	})
}
