// Package holepunch is the "holepunch" plug: a direct path between two
// peers behind NATs, or nothing. "holepunch:URL~noise:KEY" meets KEY
// through the relay at URL, as "relay:URL~noise:KEY" does, punches a
// direct UDP path (spec/holepunch.md) and returns the conn only once its
// bytes flow over that path: the relay carries the signalling, never
// the application's data, and when the direct path dies the conn fails
// rather than fall back to the relay. For users who refuse relaying.
//
// The plug takes its rendezvous in its Config: a relay plug with hole
// punching on (plugs/relay's Plug with Direct set); it imports no other
// plug. A cone facing a symmetric NAT needs birthday punching, up to
// 30 s: the dial waits as long as its context and Config.Wait allow.
package holepunch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// ErrNoDirectPath is the error of a dial, and the reason an accepted
// conn is dropped, when no direct path came up.
var ErrNoDirectPath = errors.New("holepunch: no direct path")

// DefaultWait is how long a dial, and an accepted conn, wait for the
// direct path: the longest a cone-to-cone attempt takes (STUN, answer,
// probing), not a birthday one.
const DefaultWait = 15 * time.Second

// Config configures a Plug.
type Config struct {
	// Rendezvous is the relay plug that meets the peer and carries the
	// signalling: a *relay.Plug with Direct set. Required.
	Rendezvous multiserver.StackPlug
	// Wait bounds the wait for the direct path, after the relay paired
	// the two peers. If zero, DefaultWait.
	Wait time.Duration
	// Logger gets debug records of conns dropped for want of a direct
	// path. If nil, nothing is logged.
	Logger *slog.Logger
}

// Plug is the "holepunch" plug.
type Plug struct {
	cfg Config
}

var (
	_ multiserver.StackPlug      = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// New returns a Plug for cfg.
func New(cfg Config) (*Plug, error) {
	if cfg.Rendezvous == nil {
		return nil, errors.New("holepunch: Config.Rendezvous is required (a relay plug with Direct set)")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Plug{cfg: cfg}, nil
}

// Name returns "holepunch".
func (p *Plug) Name() string { return "holepunch" }

// Kind returns the grammar of the "holepunch" layer: a ws, wss, http or
// https URL, the relay's, as a relay segment carries it.
func Kind() address.Kind {
	return address.Kind{Name: "holepunch", Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := address.InnerURL(s, "ws", "wss", "http", "https")
	return err
}

var errDirect = errors.New("holepunch: the holepunch plug serves whole stacks: use it through a multiserver.Network")

// Dial fails: the plug needs the whole address.
func (p *Plug) Dial(context.Context, address.Segment) (net.Conn, error) { return nil, errDirect }

// Listen fails: the plug needs the whole address.
func (p *Plug) Listen(context.Context, address.Segment) (net.Listener, error) { return nil, errDirect }

// viaRelay returns a with its holepunch segment renamed "relay".
func viaRelay(a address.Addr) (address.Addr, error) {
	if len(a) == 0 || a[0].Name != "holepunch" {
		return nil, fmt.Errorf("holepunch: %s is not a holepunch address", a)
	}
	if err := checkSegment(a[0]); err != nil {
		return nil, err
	}
	out := append(address.Addr(nil), a...)
	out[0] = address.Segment{Name: "relay", Fields: a[0].Fields}
	return out, nil
}

// punchable is what the rendezvous's conns offer.
type punchable interface {
	multiserver.PathWatcher
	DirectOnly()
}

// direct makes c direct-only and waits, within ctx and the plug's
// wait, for its path to be direct.
func (p *Plug) direct(ctx context.Context, c net.Conn) error {
	pc, ok := c.(punchable)
	if !ok {
		return fmt.Errorf("holepunch: the rendezvous plug's conns (%T) do not punch: give it a relay plug with Direct set", c)
	}
	pc.DirectOnly()
	t := time.NewTimer(p.cfg.Wait)
	defer t.Stop()
	for {
		ch := pc.PathChanged()
		path := pc.Path()
		if !path.Relayed {
			return nil
		}
		if path.Reason != "" {
			return fmt.Errorf("%w: %s", ErrNoDirectPath, path.Reason)
		}
		select {
		case <-ch:
		case <-t.C:
			return fmt.Errorf("%w within %v", ErrNoDirectPath, p.cfg.Wait)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoDirectPath, ctx.Err())
		}
	}
}

// DialStack meets the peer through the relay, punches, and returns the
// conn once its path is direct; else it fails with ErrNoDirectPath and
// the reason.
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	a, err := viaRelay(o.Addr)
	if err != nil {
		return nil, err
	}
	c, err := p.cfg.Rendezvous.DialStack(ctx, multiserver.DialOptions{Addr: a, Authenticated: o.Authenticated})
	if err != nil {
		return nil, err
	}
	if err := p.direct(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ListenStack registers the stack with the relay and accepts only the
// conns whose path went direct; the others are closed.
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	a, err := viaRelay(o.Addr)
	if err != nil {
		return nil, err
	}
	ro := o
	ro.Addr = a
	inner, err := p.cfg.Rendezvous.ListenStack(ctx, ro)
	if err != nil {
		return nil, err
	}
	l := &listener{p: p, inner: inner, seg: o.Addr[0], conns: make(chan net.Conn), closed: make(chan struct{})}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

var _ multiserver.ChangingListener = (*listener)(nil)

type listener struct {
	p      *Plug
	inner  net.Listener
	seg    address.Segment
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// run accepts the relay's conns and waits for each to go direct.
func (l *listener) run() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-l.closed:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := l.p.direct(ctx, c)
			cancel()
			if err != nil {
				l.p.cfg.Logger.Debug("holepunch: dropped a conn", "remote", c.RemoteAddr(), "err", err)
				c.Close()
				return
			}
			select {
			case l.conns <- c:
			case <-l.closed:
				c.Close()
			}
		}()
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the conns not yet accepted.
func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.inner.Close()
		l.wg.Wait()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.inner.Addr() }

// Advertise returns the holepunch segment while the relay's stack is
// advertised.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	adv, ok := l.inner.(multiserver.Advertiser)
	if !ok || len(adv.Advertise(scope)) == 0 {
		return nil
	}
	return []address.Segment{l.seg}
}

// Changed returns the relay listener's channel of changes.
func (l *listener) Changed() <-chan struct{} {
	if ch, ok := l.inner.(multiserver.ChangingListener); ok {
		return ch.Changed()
	}
	return nil
}
