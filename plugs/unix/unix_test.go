package unix_test

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seg(path string) address.Segment {
	return address.Segment{Name: "unix", Fields: []string{path}}
}

func TestListenModeAndAdvertise(t *testing.T) {
	path := t.TempDir() + "/a:b.sock" // ':' belongs to the path
	p := &unix.Plug{}
	ln, err := p.Listen(context.Background(), seg(path))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want 0600", fi.Mode().Perm())
	}
	ad := ln.(multiserver.Advertiser)
	if got := ad.Advertise(multiserver.ScopeDevice); len(got) != 1 || got[0].Value() != path {
		t.Errorf("Advertise(device) = %v, want unix:%s", got, path)
	}
	if got := ad.Advertise(multiserver.ScopeLocal); got != nil {
		t.Errorf("Advertise(local) = %v, want nothing", got)
	}
	back, err := (&address.Parser{Kinds: []address.Kind{unix.Kind()}}).ParseSegment(ad.Advertise(multiserver.ScopeDevice)[0].String(), 0)
	if err != nil || back.Value() != path {
		t.Fatalf("advertised segment reparses as %v, %v", back, err)
	}
	ln.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := t.TempDir() + "/s.sock"
	// Leave a socket file behind with no listener.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	p := &unix.Plug{}
	ln, err := p.Listen(context.Background(), seg(path))
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	// A live one is not taken over.
	if ln2, err := p.Listen(context.Background(), seg(path)); !errors.Is(err, syscall.EADDRINUSE) {
		if ln2 != nil {
			ln2.Close()
		}
		t.Errorf("second Listen = %v, want EADDRINUSE", err)
	}
	ln.Close()
}

func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		p := &unix.Plug{}
		path := t.TempDir() + "/c.sock"
		ln, err := p.Listen(context.Background(), seg(path))
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		done := make(chan net.Conn)
		go func() { c, _ := ln.Accept(); done <- c }()
		c1, err = p.Dial(context.Background(), seg(path))
		c2 = <-done
		if err != nil || c2 == nil {
			return nil, nil, nil, errors.Join(err, errors.New("accept failed"))
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}
