package tunnel_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
)

// wantOpError checks that err is a *net.OpError for op over "tunnel"
// that names both ends and wraps target.
func wantOpError(t *testing.T, err error, op string, target any) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != "tunnel" || oe.Source == nil || oe.Addr == nil {
		t.Fatalf("%s error %#v, want a *net.OpError with Op %q, Net \"tunnel\" and both addresses", op, err, op)
	}
	switch target := target.(type) {
	case error:
		if !errors.Is(err, target) {
			t.Fatalf("%s error %v does not match %v", op, err, target)
		}
	case **tunnel.RoomError:
		if !errors.As(err, target) {
			t.Fatalf("%s error %v does not wrap a *tunnel.RoomError", op, err)
		}
	}
}

// TestConnErrors checks that a tunnel conn's Read and Write fail alike,
// with *net.OpError values that wrap the cause: the room's refusal, a
// deadline, a closed conn.
func TestConnErrors(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	a, nobody := newPeer(t, room.Addr), newPeer(t, room.Addr)
	addr, err := address.Parse("tunnel:" + room.ID + ":" + nobody.tunnelID() + "~shs:" + address.EncodeKey(nobody.id.Public()))
	if err != nil {
		t.Fatal(err)
	}
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := a.plug.DialStack(ctxT(t, 20*time.Second), multiserver.DialOptions{Addr: addr[0], Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("refused", func(t *testing.T) {
		c := dial(t)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var re *tunnel.RoomError
		wantOpError(t, err, "read", &re)
		if _, err2 := c.Read(make([]byte, 1)); err2 != err {
			t.Errorf("second Read error %v, want the first, %v", err2, err)
		}
		_, err = c.Write([]byte("x"))
		wantOpError(t, err, "write", &re)
	})
	t.Run("deadline", func(t *testing.T) {
		c := dial(t)
		c.SetDeadline(time.Unix(1, 0))
		_, err := c.Read(make([]byte, 1))
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("Read error %v is not a timeout", err)
		}
		_, err = c.Write([]byte("x"))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
	})
	t.Run("closed", func(t *testing.T) {
		c := dial(t)
		c.Close()
		_, err := c.Read(make([]byte, 1))
		wantOpError(t, err, "read", net.ErrClosed)
		_, err = c.Write([]byte("x"))
		wantOpError(t, err, "write", net.ErrClosed)
	})
}
