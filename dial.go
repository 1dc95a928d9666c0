package multiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/race"
)

// Dial connects to a peer through the first address of addr that works.
//
// addr is a multiserver address, alternatives separated by ';'.
// Alternatives that do not parse or that name a plug or transform this
// Network lacks are skipped. The rest are tried in the advertised order,
// direct addresses before those of a [FallbackPlug] (a relay), and the
// address that last worked for the same peer first among its class.
// Attempts race: while one is in progress the next starts after
// [Config.DialStagger], or at once when one fails. The first attempt whose
// whole stack succeeds wins, and the others are closed.
//
// When every attempt fails, the error is errors.Join of one [*DialError]
// per address, each naming the address, the layer that failed and why.
// If no address was usable, it also matches [ErrUnsupportedAddress].
//
// ctx bounds the whole dial; once Dial returns, ctx no longer affects the
// connection. Dial's signature fits grpc.WithContextDialer.
//
// An address ending in a muxer ("~yamux") gives a new session's first
// stream; closing the stream closes the session. Use
// [Network.DialSession] for more streams. The muxer starts, and the
// stream opens, within the attempt: a muxer that fails is a failed
// attempt, and the next address is tried.
func (n *Network) Dial(ctx context.Context, addr string) (net.Conn, error) {
	x, won, t, err := n.dial(ctx, addr, false)
	if err != nil {
		return nil, err
	}
	c := newConn(x.(net.Conn), won.st.addr)
	c.setTrack(t)
	return c, nil
}

// DialSession is [Network.Dial] for the addresses of addr that carry
// sessions: those that end in a muxer, and those of a [SessionPlug] with
// no transforms (quic). It returns a session on which to open streams.
// Other addresses are skipped.
func (n *Network) DialSession(ctx context.Context, addr string) (Session, error) {
	x, _, t, err := n.dial(ctx, addr, true)
	if err != nil {
		return nil, err
	}
	// A muxer's session ends with the conn of ours under it; a
	// SessionPlug's (quic) is not followed.
	if w, ok := x.(interface{ NetConn() net.Conn }); ok {
		if c, ok := w.NetConn().(*conn); ok {
			c.setTrack(t)
			return x.(Session), nil
		}
	}
	t.end()
	return x.(Session), nil
}

// dial parses addr, orders its usable addresses (only those that carry
// sessions if sessions is set) and races them. It returns the upgraded
// conn, the sole stream of a muxed address, or if sessions is set the
// Session; and the track that counts it open while counting, which the
// caller ends when it closes.
func (n *Network) dial(ctx context.Context, addr string, sessions bool) (io.Closer, attempt, *pathTrack, error) {
	var (
		tries []attempt
		errs  []error
		tr    = ContextDialTrace(ctx)
	)
	skip := func(part string, err error) {
		de := &DialError{Addr: address.Redact(part), Err: err}
		tr.skipped(de.Addr, de)
		errs = append(errs, de)
	}
	for _, part := range strings.Split(addr, ";") {
		l, unknown, err := n.parser.ParseKnown(part)
		if err != nil {
			skip(part, fmt.Errorf("%w: %w", ErrUnsupportedAddress, err))
			continue
		}
		if len(unknown) > 0 {
			skip(part, n.unsupported(unknown[0]))
			continue
		}
		a := l[0]
		st, err := n.stackFor(a)
		native := false
		if err == nil && sessions && st.muxer == nil {
			_, native = st.plug.(SessionPlug)
			if !native || len(st.transforms) > 0 {
				err = fmt.Errorf("%w: no muxer at the end", ErrUnsupportedAddress)
			}
		}
		if err != nil {
			skip(part, err)
			continue
		}
		tries = append(tries, attempt{addr: a.String(), shown: a.Redacted(), st: st, native: native, session: sessions})
	}
	if len(tries) == 0 {
		return nil, attempt{}, nil, errors.Join(errs...)
	}
	// Direct before fallback, always; then the address that last worked
	// first within its class.
	slices.SortStableFunc(tries, func(a, b attempt) int { return cmpBool(a.fallback(), b.fallback()) })
	peer := peerID(tries)
	promote(tries, n.worked.get(peer))
	c, won, failed := n.race(ctx, tries)
	if c == nil {
		return nil, attempt{}, nil, errors.Join(append(errs, failed...)...)
	}
	n.worked.set(peer, won.addr)
	t := n.cfg.Stats.dial(won.st, won.fallback()).win(c)
	return c, won, t, nil
}

// promote moves the attempt for the address that last worked ahead of
// the others of its class, direct or fallback, into the first place that
// class holds: the memory reorders within a class and never moves a
// fallback (a relay) ahead of a direct address.
func promote(tries []attempt, last string) {
	at := slices.IndexFunc(tries, func(t attempt) bool { return t.addr == last })
	if at < 0 {
		return
	}
	class := tries[at].fallback()
	won := tries[at]
	// Shift the class's earlier members one class slot later.
	for i := at - 1; i >= 0; i-- {
		if tries[i].fallback() == class {
			tries[at], at = tries[i], i
		}
	}
	tries[at] = won
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// fallback reports whether t goes through a third party (see
// [FallbackPlug]).
func (t attempt) fallback() bool {
	f, ok := t.st.plug.(FallbackPlug)
	return ok && f.Fallback()
}

// An attempt is one address to dial and the stack it names.
type attempt struct {
	addr    string // the address as dialed
	shown   string // addr for errors, shs seeds redacted
	st      stack
	native  bool // dial a session of the SessionPlug st.plug
	session bool // give the Session of a muxed address, not its sole stream
}

// race dials tries in order, staggered as [race.First] does, and returns
// the first success, closing the losers, or else why each attempt failed.
func (n *Network) race(ctx context.Context, tries []attempt) (io.Closer, attempt, []error) {
	c, won, errs := race.First(ctx, len(tries), n.cfg.DialStagger,
		func(ctx context.Context, i int) (io.Closer, error) { return n.dialOne(ctx, tries[i]) },
		func(c io.Closer) { c.Close() })
	if won >= 0 {
		return c, tries[won], nil
	}
	for i, err := range errs {
		if errors.Is(err, race.ErrNotTried) {
			errs[i] = &DialError{Addr: tries[i].shown, Err: err}
		}
	}
	return nil, attempt{}, errs
}

// dialOne dials one address through its whole stack. For an address
// that ends in a muxer it starts the session too, and opens the sole
// stream unless t.session, so that a muxer that fails is a failed
// attempt, as any layer's failure is, and the race goes on to the next
// address. It does not ask the peer to confirm the session with a round
// trip (a yamux ping): the transforms' handshakes have just shown that
// the peer is there and speaks the stack, a yamux Open needs no answer,
// and a ping would cost a round trip on every dial, more than the dial
// itself on loopback (about 220µs against 130µs for TCP dial, session
// start and Open). A peer whose muxer does not answer shows on the
// stream's first read, as a dead TCP peer does.
//
// It counts the attempt and its failure ([Config.Stats]) and tells the
// dial's trace, if any, of the attempt and each of its layers.
func (n *Network) dialOne(ctx context.Context, t attempt) (_ io.Closer, err error) {
	tr := ContextDialTrace(ctx)
	ds := n.cfg.Stats.dial(t.st, t.fallback())
	ds.attempt()
	tr.attemptStart(t.shown)
	defer func() {
		var de *DialError
		// An attempt abandoned, because another won or the caller
		// cancelled, did not fail; one that ran out of the caller's time
		// did.
		if errors.As(err, &de) && !errors.Is(ctx.Err(), context.Canceled) {
			ds.fail(de.Layer)
		}
		tr.attemptDone(t.shown, err)
	}()
	// A plug's dial may hold a handshake of its own (a WebSocket upgrade,
	// a proxy's CONNECT, QUIC's TLS): bound it as the transforms are.
	pctx, cancel := context.WithTimeout(ctx, n.cfg.HandshakeTimeout)
	defer cancel()
	pctx = tr.plugSteps(pctx, t.shown, t.st.plug.Name())
	done := tr.layer(t.shown, t.st.plug.Name(), "", t.st.addr.Plug().Redacted())
	plugFailed := func(err error) error {
		done("", err)
		return &DialError{Addr: t.shown, Layer: t.st.plug.Name(), Err: err}
	}
	if t.native {
		sess, err := t.st.plug.(SessionPlug).DialSession(pctx, t.st.addr.Plug())
		if err != nil {
			return nil, plugFailed(err)
		}
		done("", nil)
		return sess, nil
	}
	var c net.Conn
	if sp, ok := t.st.plug.(StackPlug); ok {
		c, err = sp.DialStack(pctx, DialOptions{Addr: t.st.addr, Authenticated: t.st.authenticated()})
	} else {
		c, err = t.st.plug.Dial(pctx, t.st.addr.Plug())
	}
	if err != nil {
		return nil, plugFailed(err)
	}
	done("", nil)
	up, layer, err := n.upgrade(ctx, c, t.st, true, tr, t.shown)
	if err != nil {
		return nil, &DialError{Addr: t.shown, Layer: layer, Err: err}
	}
	if t.st.muxer == nil {
		return up, nil
	}
	done = tr.layer(t.shown, t.st.muxer.Name(), "", "")
	x, err := n.startSession(ctx, up, t)
	done("", err)
	return x, err
}

// startSession starts t's muxer over up, the upgraded conn, and gives the
// session, or its sole stream unless t.session; it closes up if that
// fails. HandshakeTimeout bounds it, as it bounds each handshake.
func (n *Network) startSession(ctx context.Context, up net.Conn, t attempt) (io.Closer, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.HandshakeTimeout)
	defer cancel()
	fail := func(err error) error { return &DialError{Addr: t.shown, Layer: t.st.muxer.Name(), Err: err} }
	sess, err := t.st.muxer.Client(ctx, newConn(up, t.st.addr)) // its streams' Info finds the stack through it
	if err != nil {
		up.Close()
		return nil, fail(err)
	}
	if t.session {
		return sess, nil
	}
	s, err := sess.Open(ctx)
	if err != nil {
		sess.Close()
		return nil, fail(err)
	}
	return &soleStream{Conn: s, sess: sess}, nil
}

// peerID names the peer behind tries for remembering what worked: its
// first key, or else the addresses themselves.
func peerID(tries []attempt) string {
	for _, t := range tries {
		if k := t.st.addr.PeerKey(); k != "" {
			return k
		}
	}
	var b strings.Builder
	for _, t := range tries {
		b.WriteString(t.addr)
		b.WriteByte(';')
	}
	return b.String()
}
