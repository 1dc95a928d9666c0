package transformtest

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// pipePlug is the suite's own plug, "pipe:NAME", so that a transform runs
// through a Network without the suite depending on a plug package:
// a dial hands one end of a net.Pipe to the listener of that name.
type pipePlug struct {
	mu        sync.Mutex
	listeners map[string]*pipeListener
}

var _ multiserver.Plug = (*pipePlug)(nil)

func newPipePlug() *pipePlug { return &pipePlug{listeners: map[string]*pipeListener{}} }

func (p *pipePlug) Name() string { return "pipe" }

var errNoListener = errors.New("pipe: nothing listens there")

func (p *pipePlug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	p.mu.Lock()
	l := p.listeners[s.Value()]
	p.mu.Unlock()
	if l == nil {
		return nil, errNoListener
	}
	c, sv := net.Pipe()
	select {
	case l.conns <- sv:
		return c, nil
	case <-l.done:
	case <-ctx.Done():
	}
	c.Close()
	sv.Close()
	return nil, errNoListener
}

func (p *pipePlug) Listen(_ context.Context, s address.Segment) (net.Listener, error) {
	l := &pipeListener{p: p, name: s.Value(), conns: make(chan net.Conn), done: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listeners[l.name] != nil {
		return nil, errors.New("pipe: name taken")
	}
	p.listeners[l.name] = l
	return l, nil
}

type pipeListener struct {
	p     *pipePlug
	name  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() {
		l.p.mu.Lock()
		delete(l.p.listeners, l.name)
		l.p.mu.Unlock()
		close(l.done)
	})
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }
