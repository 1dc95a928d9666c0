package frametest

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/f7d52a8e/multiserver/address"
)

// BenchConnTCP streams from client to server, an established pair over
// loopback TCP, in 32 KiB writes, as io.Copy would; client must have
// CloseWrite.
func BenchConnTCP(b *testing.B, client, server net.Conn) {
	p := make([]byte, 32<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, server)
	}()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Write(p); err != nil {
			b.Fatal(err)
		}
	}
	client.(interface{ CloseWrite() error }).CloseWrite()
	<-done
}

// A Handshaker runs handshakes as multiserver.Transform does.
type Handshaker interface {
	Client(ctx context.Context, c net.Conn, s address.Segment) (net.Conn, error)
	Server(ctx context.Context, c net.Conn) (net.Conn, error)
}

// BenchHandshakeTransform runs handshakes as a multiserver.Network does,
// through Transforms that were made once: ct dials seg, st answers.
func BenchHandshakeTransform(b *testing.B, ct, st Handshaker, seg address.Segment) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, s := net.Pipe()
		errc := make(chan error, 1)
		go func() {
			_, err := st.Server(ctx, s)
			errc <- err
		}()
		_, err := ct.Client(ctx, c, seg)
		if err := errors.Join(err, <-errc); err != nil {
			b.Fatal(err)
		}
		c.Close()
		s.Close()
	}
}
