//go:build !js

package bridge_test

import (
	"context"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/plugs/bridge"
)

// BenchmarkIdleSessions opens 200 sessions of noise over sse and poll
// from one client Network to one listener, each carrying a 1-byte echo
// and then idle, and reports the live heap and goroutines they hold per
// session, both ends counted (run it with -benchtime 1x).
func BenchmarkIdleSessions(b *testing.B) {
	for _, scheme := range []string{"sse", "poll"} {
		b.Run(scheme, func(b *testing.B) {
			set := func(p *bridge.Plug) { p.MaxSessionsPerSource = 1 << 16 }
			ln, addr := serve(b, scheme, set)
			echo(b, ln)
			n, _ := peer(b, scheme, newIdentity(b), set)
			dial := func() net.Conn {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := n.Dial(ctx, addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write([]byte{1}); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
					b.Fatal(err)
				}
				return c
			}
			const sessions = 200
			var heap, goroutines float64
			for b.Loop() {
				dial().Close() // warm: what the first session makes once
				time.Sleep(100 * time.Millisecond)
				before, gBefore := liveHeap(), runtime.NumGoroutine()
				conns := make([]net.Conn, sessions)
				for i := range conns {
					conns[i] = dial()
				}
				time.Sleep(300 * time.Millisecond)
				after, gAfter := liveHeap(), runtime.NumGoroutine()
				heap += float64(after-before) / sessions / 1024
				goroutines += float64(gAfter-gBefore) / sessions
				for _, c := range conns {
					c.Close()
				}
			}
			b.ReportMetric(heap/float64(b.N), "heap-KiB/session")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/session")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// liveHeap collects garbage twice (the second frees what sync.Pools
// held) and returns the bytes of live heap objects.
func liveHeap() uint64 {
	debug.FreeOSMemory()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
