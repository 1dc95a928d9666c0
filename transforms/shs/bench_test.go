package shs

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/frametest"
	"github.com/f7d52a8e/multiserver/internal/secretbox"
)

// BenchmarkSecretbox is the baseline: sealing 4 KiB with no framing, with
// the secretbox that box streams use.
func BenchmarkSecretbox(b *testing.B) {
	msg := make([]byte, MaxFrameBody)
	out := make([]byte, 0, MaxFrameBody+secretbox.Overhead)
	var nonce [24]byte
	b.SetBytes(MaxFrameBody)
	b.ReportAllocs()
	for b.Loop() {
		secretbox.Seal(out[:0], msg, &nonce, &frameKey)
		increment(&nonce)
	}
}

func BenchmarkBoxStreamWrite(b *testing.B) {
	for _, size := range []int{MaxFrameBody, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			w := newTestWriter(frameKey[:], frameNonce[:])
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

func BenchmarkBoxStreamRead(b *testing.B) {
	const total = 1 << 20
	w := newTestWriter(frameKey[:], frameNonce[:])
	var wire bytes.Buffer
	w.write(&wire, make([]byte, total))
	for _, size := range []int{MaxFrameBody, 1024} {
		b.Run(sizeName(size), func(b *testing.B) {
			r := newTestReader(frameKey[:], frameNonce[:])
			src := bytes.NewReader(wire.Bytes())
			p := make([]byte, size)
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset()
				r.o.nonce = frameNonce
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
