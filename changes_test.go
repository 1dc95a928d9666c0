package multiserver_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
)

// late is the tcp plug with listeners that come up in the background, as
// a relay listener registers: they advertise nothing until register is
// called, and say when that changes.
type late struct {
	tcp.Plug
	mu  sync.Mutex
	lns []*lateListener
}

func (p *late) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	ln, err := p.Plug.Listen(ctx, s)
	if err != nil {
		return nil, err
	}
	l := &lateListener{Listener: ln, changed: make(chan struct{})}
	p.mu.Lock()
	p.lns = append(p.lns, l)
	p.mu.Unlock()
	return l, nil
}

type lateListener struct {
	net.Listener
	mu         sync.Mutex
	registered bool
	changed    chan struct{}
}

func (l *lateListener) register() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.registered = true
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *lateListener) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *lateListener) Advertise(scope multiserver.Scope) []address.Segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.registered || scope != multiserver.ScopeDevice {
		return nil
	}
	return []address.Segment{{Name: "net", Fields: []string{"127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)}}}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("Changed did not fire when %s", what)
	}
}

// TestListenerChanged: a stack that comes up in the background does not
// hold up Listen, is advertised once it is up, and the Listener says
// when its address changes: a plug listener registering, Add, Drop and
// Close.
func TestListenerChanged(t *testing.T) {
	p := &late{}
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{p}})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	echo(t, ln)
	if got := ln.Address(multiserver.ScopeDevice); got != "" {
		t.Fatalf("Address before registration = %q, want nothing", got)
	}
	changed := ln.Changed()
	select {
	case <-changed:
		t.Fatal("Changed fired before anything changed")
	default:
	}
	p.lns[0].register()
	waitClosed(t, changed, "the plug listener registered")
	addr := ln.Address(multiserver.ScopeDevice)
	if addr == "" {
		t.Fatal("Address after registration is empty")
	}
	c, err := n.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "registered")
	c.Close()

	changed = ln.Changed()
	if err := ln.Add(context.Background(), "net:127.0.0.1:0~hello"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, changed, "a stack was added")
	changed = ln.Changed()
	if err := ln.Drop(addr); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, changed, "a stack was dropped")
	changed = ln.Changed()
	ln.Close()
	waitClosed(t, changed, "the Listener closed")
}

// slowClose is the tcp plug with listeners whose Close waits for release.
type slowClose struct {
	tcp.Plug
	release chan struct{}
}

func (p *slowClose) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	ln, err := p.Plug.Listen(ctx, s)
	if err != nil {
		return nil, err
	}
	return slowCloseListener{ln, p.release}, nil
}

type slowCloseListener struct {
	net.Listener
	release chan struct{}
}

func (l slowCloseListener) Close() error {
	<-l.release
	return l.Listener.Close()
}

// TestCloseWaitsForClose: a second Close returns only once the first has
// finished, so that a program that closes its Listener from a signal
// handler and again on the way out exits with its sockets gone. Before,
// the second returned at once.
func TestCloseWaitsForClose(t *testing.T) {
	p := &slowClose{release: make(chan struct{})}
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{p}})
	ln, err := n.Listen(context.Background(), "net:127.0.0.1:0~hello")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	go func() { ln.Close(); close(first) }()
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Accept succeeded on a closing Listener")
	}
	second := make(chan struct{})
	go func() { ln.Close(); close(second) }()
	select {
	case <-second:
		t.Fatal("the second Close returned while the first was still closing")
	case <-time.After(100 * time.Millisecond):
	}
	close(p.release)
	<-first
	<-second
}
