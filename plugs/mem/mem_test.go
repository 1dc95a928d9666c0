package mem_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/mem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seg(name string) address.Segment { return address.Segment{Name: "mem", Fields: []string{name}} }

func TestNamespaces(t *testing.T) {
	a, b := mem.New(), mem.New()
	ln, err := a.Listen(context.Background(), seg("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := a.Listen(context.Background(), seg("x")); err == nil {
		t.Error("second Listen on mem:x succeeded")
	}
	if _, err := b.Dial(context.Background(), seg("x")); err == nil {
		t.Error("Dial reached another Plug's listener")
	}
	auto, err := a.Listen(context.Background(), seg(""))
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	if got := auto.(multiserver.Advertiser).Advertise(multiserver.ScopeDevice); len(got) != 1 || got[0].Value() == "" {
		t.Errorf("mem: listener advertises %v, want a fresh name", got)
	}
}

func TestDialHonoursContext(t *testing.T) {
	p := mem.New()
	ln, err := p.Listen(context.Background(), seg("slow")) // nobody accepts
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Dial(ctx, seg("slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want DeadlineExceeded", err)
	}
}

func TestAcceptAfterClose(t *testing.T) {
	p := mem.New()
	ln, _ := p.Listen(context.Background(), seg("c"))
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if _, err := p.Dial(context.Background(), seg("c")); err == nil {
		t.Fatal("Dial reached a closed listener")
	}
}

func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		p := mem.New()
		ln, err := p.Listen(context.Background(), seg("t"))
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		done := make(chan net.Conn)
		go func() { c, _ := ln.Accept(); done <- c }()
		c1, err = p.Dial(context.Background(), seg("t"))
		c2 = <-done
		if err != nil {
			return nil, nil, nil, err
		}
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	})
}
