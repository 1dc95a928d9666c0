//go:build !js

package ws_test

import (
	"io"
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/ws"
)

// BenchmarkThroughput sends 64 KiB writes from a dialed conn to an
// accepted one over loopback, the bench suite's throughput measure
// without a transform on top.
func BenchmarkThroughput(b *testing.B) {
	p := &ws.Plug{}
	c, s := pair(b, p, listen(b, p, "ws://127.0.0.1:0"))
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		_, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{s}, buf)
		done <- err
	}()
	msg := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
