package wire

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
		f.Add(fr.Encode())
	}
	f.Add((&Frame{Type: FrameAuth, Key: make([]byte, 32), Sig: make([]byte, 64), Origin: "wss://relay.example"}).Encode())
	f.Add([]byte{FrameListen, 1, 1, 'a'})
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := Decode(msg)
		if err != nil {
			return
		}
		got := fr.Encode()
		if fr.Type == FrameHello {
			msg = msg[:helloSize]
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("decode(%x) then encode = %x", msg, got)
		}
	})
}
