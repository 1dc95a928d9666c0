package shs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/frametest"
)

// FuzzServerHandshake feeds arbitrary client bytes to Server. With the
// vector's server keys, only the vector's own msg1||msg3 may succeed.
func FuzzServerHandshake(f *testing.F) {
	v := loadVectors(f).SHS[0]
	transcript := frametest.Cat(v.Msg1, v.Msg3)
	f.Add(transcript)
	f.Add([]byte(v.Msg1))
	f.Add(frametest.Cat(v.Msg1, v.Msg3[:50]))
	f.Add(frametest.Cat(v.Msg1, make([]byte, msg3Size)))
	f.Add(make([]byte, msg1Size+msg3Size))
	f.Add([]byte{})
	f.Add([]byte(v.Msg2))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Config{
			Identity: mustIdentity(ed25519.NewKeyFromSeed(v.ServerSeed), v.AppKey),
			Rand:     bytes.NewReader(v.ServerEphSeed),
		}
		c, err := Server(context.Background(), &frametest.ScriptConn{R: bytes.NewReader(data)}, cfg)
		if err == nil && !bytes.HasPrefix(data, transcript) {
			t.Fatalf("Server accepted %x", data)
		}
		if err == nil && !bytes.Equal(c.RemoteKey(), v.ClientPK) {
			t.Fatalf("RemoteKey = %x", c.RemoteKey())
		}
	})
}

// FuzzBoxStreamReader reads arbitrary bytes as a box stream under the
// first box stream vector's key. It must not panic, and a stream that
// starts with the vector's wire must decode to its plaintext and end.
func FuzzBoxStreamReader(f *testing.F) {
	v := loadVectors(f).Boxstream[0]
	plain := bytes.Join(toSlices(v.PlaintextWrites), nil)
	f.Add([]byte(v.Wire), uint8(7))
	f.Add([]byte(v.Wire[:headerSize]), uint8(0))
	f.Add([]byte(v.Wire[:headerSize+3]), uint8(255))
	f.Add(frametest.Cat(v.Wire, []byte{1, 2, 3}), uint8(100))
	f.Add(make([]byte, 2*headerSize), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		r := newTestReader(v.Key, v.Nonce)
		src := bytes.NewReader(data)
		p := make([]byte, int(size)+1)
		var got []byte
		var err error
		for i := 0; err == nil && i < len(data)+2; i++ {
			var n int
			n, err = r.read(src, p)
			if n > len(p) {
				t.Fatalf("Read returned %d > %d", n, len(p))
			}
			got = append(got, p[:n]...)
		}
		if err == nil {
			t.Fatal("reader did not end")
		}
		if bytes.HasPrefix(data, v.Wire) && (err != io.EOF || !bytes.Equal(got, plain)) {
			t.Fatalf("valid stream: read %d bytes, %v", len(got), err)
		}
	})
}
