package frame

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"
)

var testEndTimeout = time.Second

// testConn is a Conn of the test codec, a net.Conn.
type testConn struct{ Conn }

func (c *testConn) Close() error { return c.Conn.Close(testEndTimeout) }

func wrap(c net.Conn) net.Conn {
	tc := new(testConn)
	tc.Init(c, testFormat(4096), new(testSealer), new(testOpener))
	return tc
}

func TestConn(t *testing.T) {
	frametest.TestConn(t, frametest.Transform{
		Handshake: func(_ context.Context, c, s net.Conn) (net.Conn, net.Conn, error) {
			return wrap(c), wrap(s), nil
		},
		Wrap:       wrap,
		EndTimeout: &testEndTimeout,
	})
}
