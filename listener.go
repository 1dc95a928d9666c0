package multiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// A Listener serves several stacks at once behind one net.Listener.
// Accept returns connections whose whole stack succeeded; failed inbound
// handshakes are logged at debug level and dropped, so one bad peer
// never stops a server loop such as http.Serve.
//
// # Sessions
//
// On a stack that ends in a muxer ("~yamux"), and on a [SessionPlug]
// (quic), whose connections are sessions, Accept returns the streams that
// peers open, and the Listener owns the sessions that carry them, the
// same way for both. [Listener.Close] treats those streams as
// net.Listener.Close treats accepted conns: it leaves them open. It stops
// accepting streams from every session (yamux and quic tell the peer
// with a GoAway, so that its further opens fail at once), and ends each
// session once the streams that Accept returned from it are closed, at
// once for a session with none open. [Listener.Shutdown] also waits for
// that, as http.Server.Shutdown waits for its conns, and cuts what is
// left when its ctx ends. So http.Server.Shutdown, which closes the
// Listener first and then its idle conns, lets requests in flight over
// sessions finish.
type Listener struct {
	n         *Network
	conns     chan net.Conn
	ctx       context.Context // cancelled by Close; bounds inbound handshakes
	cancel    context.CancelFunc
	budget    *budget // inbound handshakes in progress on stacks reachable beyond the device
	device    *budget // those on stacks reachable only from this device
	wg        sync.WaitGroup
	log       *ratelog.Logger
	mu        sync.Mutex
	serving   []*served
	sessions  map[*inbound]bool // inbound sessions, ended with the Listener
	sessWG    sync.WaitGroup    // the goroutines of sessions
	dropped   []*served         // stacks that Drop took out of serving
	changed   chan struct{}     // closed at the next change of the addresses; nil until asked for
	use       *usage            // nil under a StreamListener
	closed    bool
	closeDone chan struct{} // closed when the first Close has finished

	backlog int // Config.AcceptBacklog
	bmu     sync.Mutex
	queued  int           // handshaken conns and streams waiting for Accept
	room    chan struct{} // closed when queued drops below the backlog; nil unless a stack waits
}

// A served stack is one address of a Listener and its plug's listener.
type served struct {
	stack
	ln     plugListener
	budget atomic.Pointer[budget] // the Listener's budget this stack's handshakes count against
	done   chan struct{}          // closed when the stack is dropped or the Listener closed
	stats  *stackStats            // nil unless the Network counts
	// drainUntil is when a Drain in progress drops the stack: zero
	// unless draining. A draining stack is served and not advertised.
	// Under Listener.mu.
	drainUntil time.Time
	drainTimer *time.Timer
}

// Listen listens on every address of addrs, a multiserver address such as
// "net:0.0.0.0:8008~shs;unix:/run/app.sock~noauth", and returns one
// Listener for all of them. Transform segments may omit their keys: the
// Listener's [Listener.Address] fills them in. If any address cannot be
// served, Listen closes what it opened and fails.
//
// A stack whose transform refuses a scope in which its plug is reachable
// is refused: noauth, and an address with no transform (which is
// plaintext and needs the noauth transform configured), are served only
// where the noauth transform allows, by default on this device alone.
func (n *Network) Listen(ctx context.Context, addrs string) (*Listener, error) {
	list, err := n.parse(addrs)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		n:        n,
		conns:    make(chan net.Conn),
		ctx:      lctx,
		cancel:   cancel,
		budget:   newBudget(n.cfg.MaxHandshakes, n.cfg.MaxHandshakesPerSource),
		device:   newBudget(n.cfg.MaxHandshakes, n.cfg.MaxHandshakesPerSource),
		sessions: make(map[*inbound]bool),
		log:      newLimitedLog(n.log),
		use:      newUsage(),
		backlog:  n.cfg.AcceptBacklog,
	}
	for _, a := range list {
		s, err := l.listenOne(ctx, a)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.serving = append(l.serving, s)
	}
	l.mu.Lock()
	for _, s := range l.serving {
		l.start(s)
	}
	l.mu.Unlock()
	return l, nil
}

// listenOne starts serving a, without accepting yet.
func (l *Listener) listenOne(ctx context.Context, a address.Addr) (*served, error) {
	st, err := l.n.stackFor(a)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", a.Redacted(), err)
	}
	s := &served{stack: st, done: make(chan struct{})}
	s.budget.Store(l.budget)
	var ln plugListener
	if sp, ok := st.plug.(SessionPlug); ok {
		if len(st.transforms) > 0 || st.muxer != nil {
			return nil, fmt.Errorf("listen %s: %w: %s carries sessions itself and takes no transform or muxer", a.Redacted(), ErrUnsupportedAddress, st.plug.Name())
		}
		ln, err = sp.ListenSessions(ctx, a.Plug())
	} else if sp, ok := st.plug.(StackPlug); ok {
		ln, err = sp.ListenStack(ctx, ListenOptions{
			Addr:             a,
			Authenticated:    st.authenticated(),
			Admit:            func(remote net.Addr) bool { return s.budget.Load().allows(remote) },
			HandshakeTimeout: l.n.cfg.HandshakeTimeout,
		})
	} else {
		ln, err = st.plug.Listen(ctx, a.Plug())
	}
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", a.Redacted(), err)
	}
	s.ln = ln
	// Only this device reaches it: its handshakes have their budget. A
	// listener whose address changes may be reached from anywhere later.
	if _, changing := ln.(ChangingListener); !changing &&
		len(s.plugSegments(ScopeLocal)) == 0 && len(s.plugSegments(ScopePublic)) == 0 {
		s.budget.Store(l.device)
	}
	for _, scope := range []Scope{ScopeLocal, ScopePublic} {
		if len(s.plugSegments(scope)) == 0 {
			continue
		}
		for _, t := range s.layers() {
			if !advertises(t, scope) {
				ln.Close()
				return nil, fmt.Errorf("listen %s: %s is refused on an address reachable in the %s scope", a.Redacted(), t.Name(), scope)
			}
		}
	}
	s.stats = l.n.cfg.Stats.stack(a.Redacted()) // once its plug listens: an address refused makes no series
	return s, nil
}

// layers returns the transforms of s, with the noauth transform standing
// in for none on a plaintext address.
func (s *served) layers() []Transform {
	if s.bare != nil {
		return []Transform{s.bare}
	}
	return s.transforms
}

// advertises reports whether t may appear in addresses for scope.
func advertises(t Transform, scope Scope) bool {
	ad, ok := t.(Advertiser)
	return !ok || ad.Advertise(scope) != nil
}

// plugSegments returns the plug segments of s for scope.
func (s *served) plugSegments(scope Scope) []address.Segment {
	if ad, ok := s.ln.(Advertiser); ok {
		return ad.Advertise(scope)
	}
	return []address.Segment{s.addr.Plug()}
}

// addresses returns what s advertises in scope.
func (s *served) addresses(scope Scope) address.List {
	if s.bare != nil && !advertises(s.bare, scope) {
		return nil
	}
	var tail []address.Segment
	for i, t := range s.transforms {
		ad, ok := t.(Advertiser)
		if !ok {
			tail = append(tail, s.addr[i+1])
			continue
		}
		segs := ad.Advertise(scope)
		if segs == nil {
			return nil
		}
		tail = append(tail, segs...)
	}
	if s.muxer != nil {
		tail = append(tail, s.addr[len(s.addr)-1])
	}
	var l address.List
	for _, p := range s.plugSegments(scope) {
		l = append(l, append(address.Addr{p}, tail...))
	}
	return l
}

// Add serves the stacks of addrs beside those already served, as Listen
// does: serve a new protocol beside the old before retiring the old with
// [Listener.Drop]. If any address cannot be served, Add serves none.
func (l *Listener) Add(ctx context.Context, addrs string) error {
	list, err := l.n.parse(addrs)
	if err != nil {
		return err
	}
	var added []*served
	for _, a := range list {
		s, err := l.listenOne(ctx, a)
		if err != nil {
			for _, s := range added {
				s.ln.Close()
			}
			return err
		}
		added = append(added, s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		for _, s := range added {
			s.ln.Close()
		}
		return net.ErrClosed
	}
	for _, s := range added {
		l.serving = append(l.serving, s)
		l.start(s)
	}
	l.changedLocked()
	return nil
}

// Drop stops serving the stacks that addr names, live: it stops
// accepting on them and stops advertising them, and touches no other
// stack and no connection already made. Sessions on those stacks are
// treated as [Listener.Close] treats them: no more streams are accepted
// from them, and each ends once the streams Accept returned from it are
// closed (a SessionPlug's listener, such as quic's UDP socket, ends once
// its last session has). [Listener.Shutdown] waits for these too. addr is an address as
// given to Listen or Add, or as advertised. Drop fails if it names no
// stack served, and after Close with net.ErrClosed.
func (l *Listener) Drop(addr string) error {
	list, err := l.n.parse(addr)
	if err != nil {
		return err
	}
	n, err := l.dropWhere(func(s *served) bool { return s.named(list) })
	if n == 0 && err == nil {
		return fmt.Errorf("multiserver: drop %s: no such stack served", address.Redact(addr))
	}
	return err
}

// dropWhere drops the stacks served that match, as Drop says, and
// returns how many it dropped. After Close it drops none and fails with
// net.ErrClosed: Close has stopped every stack already.
func (l *Listener) dropWhere(match func(*served) bool) (int, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, net.ErrClosed
	}
	var kept, dropped []*served
	for _, s := range l.serving {
		if match(s) {
			dropped = append(dropped, s)
		} else {
			kept = append(kept, s)
		}
	}
	l.serving = kept
	l.dropped = append(l.dropped, dropped...)
	var ins []*inbound
	for _, s := range dropped {
		s.retire()
		l.use.drop(s)
	}
	if len(dropped) > 0 {
		l.changedLocked()
	}
	for in := range l.sessions {
		if in.s.gone() {
			ins = append(ins, in)
		}
	}
	l.mu.Unlock()
	if len(dropped) == 0 {
		return 0, nil
	}
	return len(dropped), l.stop(dropped, ins)
}

// stop closes the plug listeners of stacks and drains sessions, all
// together, and without the lock, so that Address and the like do not
// wait: a plug listener or a session may take a while to close cleanly
// (it lets what was written be delivered first).
func (l *Listener) stop(stacks []*served, sessions []*inbound) error {
	var (
		closing sync.WaitGroup
		errMu   sync.Mutex
		errs    []error
	)
	for _, s := range stacks {
		closing.Go(func() {
			if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		})
	}
	for _, in := range sessions {
		closing.Go(func() { l.drain(in) })
	}
	closing.Wait()
	return errors.Join(errs...)
}

// named reports whether list names s: its listen address, or one it
// advertises in some scope.
func (s *served) named(list address.List) bool {
	for _, a := range list {
		if a.Equal(s.addr) {
			return true
		}
		for _, scope := range []Scope{ScopeDevice, ScopeLocal, ScopePublic} {
			for _, b := range s.addresses(scope) {
				if a.Equal(b) {
					return true
				}
			}
		}
	}
	return false
}

// Address returns the multiserver address that peers in scope dial to
// reach this Listener: every stack it serves, with real ports and keys.
// It is empty when nothing is reachable in scope.
func (l *Listener) Address(scope Scope) string { return l.Addresses(scope).String() }

// Addresses is [Listener.Address] before it is written out.
func (l *Listener) Addresses(scope Scope) address.List {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all address.List
	for _, s := range l.serving {
		if s.drainUntil.IsZero() {
			all = append(all, s.addresses(scope)...)
		}
	}
	return all
}

// Addr returns the Listener's address in [ScopeDevice].
func (l *Listener) Addr() net.Addr { return listenerAddr(l.Addresses(ScopeDevice)) }

// Accept waits for and returns the next connection whose whole stack
// succeeded. After Close, its error matches net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: "multiserver", Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close stops every stack, aborts handshakes in progress, and waits for
// the Listener's goroutines to end. Connections already accepted stay
// open. So do streams of sessions: Close stops accepting streams from
// sessions and ends each once its accepted streams are closed (see
// Sessions above), without waiting for that; [Listener.Shutdown] waits.
// Accept fails as soon as Close begins; every call of Close returns once
// the first has finished (a unix socket's file is removed by then).
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		done := l.closeDone
		l.mu.Unlock()
		<-done
		return nil
	}
	l.closed = true
	l.closeDone = make(chan struct{})
	defer close(l.closeDone)
	l.cancel()
	serving := l.serving
	for _, s := range serving {
		s.retire()
	}
	l.changedLocked()
	sessions := make([]*inbound, 0, len(l.sessions))
	for in := range l.sessions {
		sessions = append(sessions, in)
	}
	l.mu.Unlock()
	err := l.stop(serving, sessions)
	l.wg.Wait()
	l.log.Close() // writes the count of records dropped, if any
	return err
}

// Shutdown closes the Listener, as Close does, then waits until every
// session has ended, on every stack served and dropped, and returns nil;
// or until ctx ends, then ends the sessions left, cutting their streams,
// and returns ctx's error. It is to the Listener what
// http.Server.Shutdown is to a server, and calling both works: the
// server's Shutdown closes the Listener, then closes streams as their
// requests finish.
func (l *Listener) Shutdown(ctx context.Context) error {
	err := l.Close()
	l.mu.Lock()
	stacks := append(l.serving[:len(l.serving):len(l.serving)], l.dropped...)
	l.mu.Unlock()
	var (
		waiting sync.WaitGroup
		errMu   sync.Mutex
		errs    = []error{err}
		cut     atomic.Bool
	)
	for _, s := range stacks {
		sh, ok := s.ln.(interface{ Shutdown(context.Context) error })
		if !ok {
			continue
		}
		waiting.Go(func() {
			err := sh.Shutdown(ctx)
			switch {
			case err == nil:
			case ctx.Err() != nil && errors.Is(err, ctx.Err()):
				cut.Store(true)
			default:
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		})
	}
	ended := make(chan struct{})
	go func() {
		l.sessWG.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-ctx.Done():
		cut.Store(true)
		l.endSessions()
		<-ended
	}
	waiting.Wait()
	if cut.Load() {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// A plugListener is what a plug listens with: a net.Listener, or a
// SessionPlug's SessionListener.
type plugListener interface {
	Close() error
	Addr() net.Addr
}

// serve accepts connections, or a SessionPlug's sessions, on one stack
// until its listener closes.
func (l *Listener) serve(s *served) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		if !l.waitRoom(s.done) {
			return
		}
		c, sess, err := accept(s.ln)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				return
			}
			// Like http.Server: back off on errors such as EMFILE.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Debug("accept failed", "addr", s.addr.Redacted(), "err", err, "retry", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-l.ctx.Done():
				return
			}
		}
		backoff = 0
		if sess != nil { // the plug ran the handshake
			l.addSession(s, sess, s.stats.accept(sessionRelayed(sess), sess))
			continue
		}
		// Over budget, close at once: a conn left in the backlog would
		// wait out the flood, and its peer with it.
		give, ok := s.budget.Load().take(c.RemoteAddr())
		if !ok {
			c.Close()
			s.stats.fail(ReasonOverBudget)
			l.log.Debug("handshake refused: too many in progress", "addr", s.addr.Redacted(), "remote", c.RemoteAddr())
			continue
		}
		l.wg.Add(1)
		go l.handshake(s, c, give)
	}
}

// accept takes the next conn of ln, or its next session if ln is a
// SessionListener.
func accept(ln plugListener) (net.Conn, Session, error) {
	if sl, ok := ln.(SessionListener); ok {
		sess, err := sl.AcceptSession()
		return nil, sess, err
	}
	c, err := ln.(net.Listener).Accept()
	return c, nil, err
}

// handshake upgrades an inbound conn and hands it to Accept.
func (l *Listener) handshake(s *served, c net.Conn, give func()) {
	defer l.wg.Done()
	up, _, err := l.n.upgrade(l.ctx, c, s.stack, false, nil, "")
	give()
	if err != nil {
		s.stats.fail(reasonOf(err))
		l.log.Debug("handshake failed", "addr", s.addr.Redacted(), "remote", c.RemoteAddr(), "err", err)
		return
	}
	if s.muxer != nil {
		l.serveSession(s, up)
		return
	}
	info := Info(up)
	t := s.stats.accept(info.Path.Relayed, up)
	l.use.connected(s, info.RemoteKey)
	l.deliver(newCountedConn(up, s.addr, s.stats, t))
}

// deliver hands c to Accept, or closes it if the Listener closes first.
// Until then it counts against the backlog.
func (l *Listener) deliver(c net.Conn) {
	l.bmu.Lock()
	l.queued++
	l.bmu.Unlock()
	select {
	case l.conns <- c:
	case <-l.ctx.Done():
		c.Close()
	}
	l.bmu.Lock()
	if l.queued--; l.queued < l.backlog && l.room != nil {
		close(l.room)
		l.room = nil
	}
	l.bmu.Unlock()
}

// waitRoom waits while the backlog is full: then the stacks accept
// nothing, and peers wait in their plug's queue. It reports false once
// the Listener is closed or done (the stack dropped) is.
func (l *Listener) waitRoom(done <-chan struct{}) bool {
	for {
		l.bmu.Lock()
		if l.queued < l.backlog {
			l.bmu.Unlock()
			return true
		}
		if l.room == nil {
			l.room = make(chan struct{})
		}
		room := l.room
		l.bmu.Unlock()
		select {
		case <-room:
		case <-done:
			return false
		case <-l.ctx.Done():
			return false
		}
	}
}

// listenerAddr is a Listener's addresses as a net.Addr: its String is the
// multiserver address. (An address.Addr is one address, its layers.)
type listenerAddr address.List

// Network returns "multiserver".
func (a listenerAddr) Network() string { return "multiserver" }

func (a listenerAddr) String() string { return address.List(a).String() }
