// Package mem is the "mem" plug: connections within one process, for
// tests and runnable examples.
//
// Its segment is "mem:NAME". Each [Plug] is a namespace of its own: a
// Dial reaches the listener of the same name on the same Plug value.
// Listening on "mem:" picks a fresh name. Connections are synchronous
// pipes (net.Pipe): a Write blocks until the peer reads it.
package mem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Plug is one in-memory namespace. Create it with [New].
type Plug struct {
	mu        sync.Mutex
	listeners map[string]*listener
	next      int
}

var (
	_ multiserver.Plug           = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// New returns an empty namespace.
func New() *Plug { return &Plug{listeners: make(map[string]*listener)} }

// Name returns "mem".
func (p *Plug) Name() string { return "mem" }

// Kind returns the grammar of the "mem" layer, "mem:NAME", for an
// [address.Parser]: one field, not empty.
func Kind() address.Kind { return address.Kind{Name: "mem", Role: address.Plug, Check: checkSegment} }

// CheckSegment reports what is wrong with s, a "mem" segment, by the
// rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	if len(s.Fields) != 1 || s.Fields[0] == "" {
		return errors.New("want mem:NAME")
	}
	return nil
}

// Dial connects to the listener named by s.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	name := s.Value()
	p.mu.Lock()
	ln := p.listeners[name]
	p.mu.Unlock()
	if ln == nil {
		return nil, &net.OpError{Op: "dial", Net: "mem", Addr: Addr(name), Err: errRefused}
	}
	client, server := net.Pipe()
	c := &conn{Conn: client, local: Addr("client"), remote: Addr(name)}
	sc := &conn{Conn: server, local: Addr(name), remote: Addr("client")}
	select {
	case ln.conns <- sc:
		return c, nil
	case <-ln.done:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "mem", Addr: Addr(name), Err: errRefused}
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "mem", Addr: Addr(name), Err: ctx.Err()}
	}
}

var errRefused = fmt.Errorf("connection refused")

// Listen listens on the name in s; "mem:" picks a fresh one.
func (p *Plug) Listen(_ context.Context, s address.Segment) (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := s.Value()
	if name == "" {
		p.next++
		name = fmt.Sprintf("auto%d", p.next)
	}
	if p.listeners[name] != nil {
		return nil, &net.OpError{Op: "listen", Net: "mem", Addr: Addr(name), Err: fmt.Errorf("name in use")}
	}
	ln := &listener{p: p, name: name, conns: make(chan net.Conn), done: make(chan struct{})}
	p.listeners[name] = ln
	return ln, nil
}

type listener struct {
	p     *Plug
	name  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "mem", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.p.mu.Lock()
		delete(l.p.listeners, l.name)
		l.p.mu.Unlock()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return Addr(l.name) }

// Advertise returns the listener's segment in ScopeDevice only: its name
// means nothing outside this process.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	return multiserver.DeviceOnly(scope, address.Segment{Name: "mem", Fields: []string{l.name}})
}

// Addr is the address of one end of a mem connection.
type Addr string

// Network returns "mem".
func (Addr) Network() string  { return "mem" }
func (a Addr) String() string { return string(a) }

type conn struct {
	net.Conn
	local, remote net.Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
