package bridge

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// checkBase64 checks the codec against encoding/base64 on src, and the
// decoder on in.
func checkBase64(t *testing.T, src, in []byte) {
	t.Helper()
	prefix := []byte("id: 7\ndata: ")
	if got, want := appendBase64(bytes.Clone(prefix), src), base64.StdEncoding.AppendEncode(bytes.Clone(prefix), src); !bytes.Equal(got, want) {
		t.Fatalf("encoding % x: %q, want %q", src, got, want)
	}
	for _, in := range [][]byte{base64.StdEncoding.AppendEncode(nil, src), in} {
		got, err := appendBase64Decode([]byte{1, 2}, in)
		want, werr := base64.StdEncoding.Strict().AppendDecode([]byte{1, 2}, in)
		if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoding %q: % x, %v; want % x, %v", in, got, err, want, werr)
		}
	}
}

func TestBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(src)
		checkBase64(t, src, []byte(enc))
		if n == 0 {
			continue
		}
		// The same text spoiled at each place in turn: a character
		// outside the alphabet, padding, a line end, cut short.
		for i := range len(enc) {
			for _, c := range []byte{'-', '_', '=', '\n', '\r', 0, 0x80, ' '} {
				bad := []byte(enc)
				bad[i] = c
				checkBase64(t, src, bad)
			}
			checkBase64(t, src, []byte(enc[:i]))
		}
		// Padding bits that are not zero: Strict refuses them.
		if n%3 != 0 {
			bad := []byte(enc)
			k := len(bad) - 1 - (3 - n%3)
			bad[k] = b64Alphabet[(bytes.IndexByte([]byte(b64Alphabet), bad[k])+1)%64]
			checkBase64(t, src, bad)
		}
	}
	// Large: the sizes of events.
	for _, n := range []int{maxEventData, maxEventData - 1, minEventData + 5, chunkSize} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		checkBase64(t, src, nil)
	}
}

// FuzzBase64 checks the codec against encoding/base64: the same text
// for any bytes, the same bytes or a refusal for any text.
func FuzzBase64(f *testing.F) {
	f.Add([]byte("hello, world"), []byte("aGVsbG8sIHdvcmxk"))
	f.Add([]byte{0xff, 0xfe, 0xfd, 0, 1, 2, 3, 4, 5}, []byte("//79AAECAwQF"))
	f.Add([]byte("ab"), []byte("YWJjZGVmZ2hp\naWprbA=="))
	f.Add([]byte("abcdefg"), []byte("YWJjZGVmZ2hpamtsbW5vcA==YWJj"))
	f.Add([]byte{}, []byte("YWJjZGVmZ2hpamtsbW5vcB=="))
	f.Fuzz(func(t *testing.T, src, in []byte) { checkBase64(t, src, in) })
}

func BenchmarkBase64(b *testing.B) {
	src := make([]byte, maxEventData)
	for i := range src {
		src[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.AppendEncode(nil, src)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		buf := make([]byte, 0, len(enc))
		for range b.N {
			appendBase64(buf[:0], src)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		buf := make([]byte, 0, chunkSize)
		for range b.N {
			if _, err := appendBase64Decode(buf[:0], enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
