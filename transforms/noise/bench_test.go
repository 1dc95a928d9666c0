package noise

import (
	"github.com/f7d52a8e/multiserver/internal/frametest"

	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/f7d52a8e/multiserver"

	"golang.org/x/crypto/chacha20poly1305"
)

// BenchmarkChaChaPoly is the baseline: sealing one full frame's payload
// with no framing.
func BenchmarkChaChaPoly(b *testing.B) {
	aead, _ := chacha20poly1305.New(frameKey[:])
	msg := make([]byte, MaxPayload)
	out := make([]byte, 0, MaxMessage)
	var nonce [12]byte
	b.SetBytes(MaxPayload)
	b.ReportAllocs()
	for b.Loop() {
		aead.Seal(out[:0], nonce[:], msg, nil)
	}
}

func BenchmarkFrameWrite(b *testing.B) {
	for _, size := range []int{1024, 16 << 10, MaxPayload, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			w := newTestWriter(frameKey, 0)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.write(io.Discard, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFrameRead(b *testing.B) {
	for _, frame := range []int{1024, MaxPayload} {
		total := (4 << 20) / frame * frame
		w := newTestWriter(frameKey, 0)
		var wire bytes.Buffer
		w.write(&wire, make([]byte, total))
		for _, size := range []int{4096, 32 << 10, 1 << 20} {
			b.Run("frame="+sizeName(frame)+"/buf="+sizeName(size), func(b *testing.B) {
				r := newTestReader(frameKey, 0)
				src := bytes.NewReader(wire.Bytes())
				p := make([]byte, size)
				b.SetBytes(int64(total))
				b.ReportAllocs()
				for b.Loop() {
					r.Reset()
					r.o.n = 0
					src.Reset(wire.Bytes())
					for n := 0; n < total; {
						m, err := r.read(src, p)
						if err != nil {
							b.Fatal(err)
						}
						n += m
					}
				}
			})
		}
	}
}

// BenchmarkConnTCP streams through a Conn pair over loopback TCP, as
// io.Copy would (32 KiB writes).
func BenchmarkConnTCP(b *testing.B) {
	client, server := mustHandshake(b, frametest.TCPPipe)
	frametest.BenchConnTCP(b, client, server)
}

func BenchmarkHandshake(b *testing.B) {
	ccfg, scfg := testConfig(1), testConfig(2)
	serverKey := pub(testKey(2))
	b.ReportAllocs()
	for b.Loop() {
		c, s := frametest.MemPipe(b)
		cr, sr := runHandshake(context.Background(), c, s, ccfg, scfg, serverKey)
		if cr.err != nil || sr.err != nil {
			b.Fatal(cr.err, sr.err)
		}
		c.Close()
		s.Close()
	}
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// BenchmarkHandshakeTransform runs handshakes as a multiserver.Network
// does, through Transforms, which check their Config and derive their keys
// once; BenchmarkHandshake's Client and Server do that on every call.
func BenchmarkHandshakeTransform(b *testing.B) {
	ct, err := New(testConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	st, err := New(testConfig(2))
	if err != nil {
		b.Fatal(err)
	}
	frametest.BenchHandshakeTransform(b, ct, st, st.Advertise(multiserver.ScopePublic)[0])
}
