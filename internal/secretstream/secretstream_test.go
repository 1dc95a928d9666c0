package secretstream

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

const vectorsPath = "../../spec/vectors/secretstream.json"

var tags = map[string]byte{"message": TagMessage, "push": TagPush, "rekey": TagRekey, "final": TagFinal}

type vectorStream struct {
	Key, Header string
	Messages    []struct {
		Message, AD, Tag, Ciphertext string
	}
}

func loadVectors(t testing.TB) []vectorStream {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Streams []vectorStream }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Streams) == 0 {
		t.Fatalf("%s: no streams", vectorsPath)
	}
	return v.Streams
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors pushes the vectors' messages and compares the ciphertexts
// sodium-native produced, then pulls those ciphertexts.
func TestVectors(t *testing.T) {
	for i, s := range loadVectors(t) {
		key, header := unhex(t, s.Key), unhex(t, s.Header)
		push, err := NewPushHeader(key, header)
		if err != nil {
			t.Fatal(err)
		}
		pull, err := NewPull(key, header)
		if err != nil {
			t.Fatal(err)
		}
		for j, m := range s.Messages {
			msg, ad, want := unhex(t, m.Message), unhex(t, m.AD), unhex(t, m.Ciphertext)
			if got := push.Seal(nil, msg, ad, tags[m.Tag]); !bytes.Equal(got, want) {
				t.Fatalf("stream %d message %d: Seal = %x, want %x", i, j, got, want)
			}
			got, tag, err := pull.Open(nil, want, ad)
			if err != nil || !bytes.Equal(got, msg) || tag != tags[m.Tag] {
				t.Fatalf("stream %d message %d: Open = %x, %d, %v; want %x, %d", i, j, got, tag, err, msg, tags[m.Tag])
			}
		}
	}
}

// TestRejects checks that tampering, reordering, another key and another
// ad fail with ErrAuth, and that a failed message leaves the stream
// where it was.
func TestRejects(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	push, header, err := NewPush(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c1 := push.Seal(nil, []byte("first"), nil, TagMessage)
	c2 := push.Seal(nil, []byte("second"), []byte("ad"), TagMessage)

	pull, _ := NewPull(key, header)
	bad := [][]byte{c2, c1[:len(c1)-1], nil, c1[:Overhead-1]}
	for k := range c1 {
		x := bytes.Clone(c1)
		x[k] ^= 0x80
		bad = append(bad, x)
	}
	for _, b := range bad {
		if _, _, err := pull.Open(nil, b, nil); !errors.Is(err, ErrAuth) {
			t.Fatalf("Open(%x) = %v, want ErrAuth", b, err)
		}
	}
	if m, _, err := pull.Open(nil, c1, nil); err != nil || string(m) != "first" {
		t.Fatalf("Open(first) after failures = %q, %v", m, err)
	}
	if _, _, err := pull.Open(nil, c2, []byte("other")); !errors.Is(err, ErrAuth) {
		t.Fatalf("Open with another ad = %v, want ErrAuth", err)
	}
	other := bytes.Clone(key)
	other[0] ^= 1
	p2, _ := NewPull(other, header)
	if _, _, err := p2.Open(nil, c1, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("Open under another key = %v, want ErrAuth", err)
	}
	if m, _, err := pull.Open(nil, c2, []byte("ad")); err != nil || string(m) != "second" {
		t.Fatalf("Open(second) = %q, %v", m, err)
	}
}

// TestCounterWrap runs a stream past 2^32 messages' counter wrap by
// starting near it, as the rekey that libsodium does there must be
// mirrored on both sides.
func TestCounterWrap(t *testing.T) {
	key := make([]byte, KeySize)
	header := make([]byte, HeaderSize)
	push, _ := NewPushHeader(key, header)
	pull, _ := NewPull(key, header)
	push.s.nonce = [12]byte{0xfe, 0xff, 0xff, 0xff}
	pull.s.nonce = push.s.nonce
	for i := range 4 {
		c := push.Seal(nil, []byte{byte(i)}, nil, TagMessage)
		m, _, err := pull.Open(nil, c, nil)
		if err != nil || m[0] != byte(i) {
			t.Fatalf("message %d: %x, %v", i, m, err)
		}
	}
	if push.s.k == ([32]byte{}) || push.s.k != pull.s.k {
		t.Fatal("the sides' keys differ after the counter wrapped")
	}
}

// FuzzOpen feeds Open mutations of valid messages: only the unmodified
// message opens, and nothing panics.
func FuzzOpen(f *testing.F) {
	s := loadVectors(f)[0]
	key, header := unhex(f, s.Key), unhex(f, s.Header)
	first := unhex(f, s.Messages[0].Ciphertext)
	f.Add(first, []byte(nil))
	f.Add(first[:Overhead], []byte("ad"))
	f.Add(unhex(f, s.Messages[3].Ciphertext), []byte(nil))
	f.Fuzz(func(t *testing.T, in, ad []byte) {
		pull, _ := NewPull(key, header)
		m, _, err := pull.Open(nil, in, ad)
		ok := bytes.Equal(in, first) && len(ad) == 0
		if (err == nil) != ok {
			t.Fatalf("Open(%x, %x) = %x, %v", in, ad, m, err)
		}
	})
}
