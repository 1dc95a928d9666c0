package stun

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzDecode feeds arbitrary packets to Decode, seeded with the vectors:
// it must not panic, IsMessage must hold for whatever it accepts, and
// what it accepts must encode and decode again to the same message.
func FuzzDecode(f *testing.F) {
	v := readVectors(f)
	for _, r := range v.RFC5769 {
		w, _ := hex.DecodeString(r.Wire)
		f.Add(w)
	}
	for _, e := range v.Encoded {
		w, _ := hex.DecodeString(e.Wire)
		f.Add(w)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if !IsMessage(b) {
			t.Fatalf("Decode accepted %x, which IsMessage refuses", b)
		}
		m.XORMappedAddress()
		m.MappedAddress()
		again, err := Decode(m.Append(nil))
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", m, err)
		}
		if again.Type != m.Type&0x3fff || again.ID != m.ID || again.Fingerprint != m.Fingerprint || len(again.Attrs) != len(m.Attrs) {
			t.Fatalf("round trip: %+v, want %+v", again, m)
		}
		for i, a := range again.Attrs {
			if a.Type != m.Attrs[i].Type || !bytes.Equal(a.Value, m.Attrs[i].Value) {
				t.Fatalf("attribute %d: %+v, want %+v", i, a, m.Attrs[i])
			}
		}
	})
}
