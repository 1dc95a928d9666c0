package relay

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds the frame decoder any message: it never panics, and a
// frame it accepts encodes back to the same bytes (HELLO may carry bytes
// after its limits, which encoding drops).
func FuzzDecode(f *testing.F) {
	fs, _ := vectorFrames()
	for _, fr := range fs {
		f.Add(fr.encode())
	}
	f.Add((&frame{typ: frameAuth, key: make([]byte, 32), sig: make([]byte, 64), origin: "wss://relay.example"}).encode())
	f.Add([]byte{frameListen, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := decode(msg)
		if err != nil {
			return
		}
		got := fr.encode()
		if fr.typ == frameHello {
			msg = msg[:helloSize]
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("decode(%x) then encode = %x", msg, got)
		}
	})
}
