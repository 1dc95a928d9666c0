package relay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/resume"
)

// Backoff of a listener's registration: 250ms doubling to 10s, with
// jitter; and how long ListenStack waits for the first registration
// before it returns and lets it come up in the background.
// While streams may wait to resume (10s after a registration was lost),
// it retries at most every 300ms (with jitter, 450ms) instead.
const (
	firstBackoff  = 250 * time.Millisecond
	maxBackoff    = 10 * time.Second
	resumeBackoff = 300 * time.Millisecond
	listenWait    = 5 * time.Second
)

// ListenStack registers o.Addr's stack with the relay its plug segment
// names and returns a listener for the conns dialed to it. It waits for
// the registration up to 5s (or ctx), then returns in any case: a relay
// that is down does not fail Listen. The listener advertises the relay
// stack only while it is registered, registers again by itself when the
// relay drops it (250ms doubling to 10s, with jitter), and says when its
// address changes ([multiserver.ChangingListener]).
//
// All the stacks a Plug serves through one relay share one registration
// (a relay keeps only the newest of a key).
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	u, label, err := stackOf(o.Addr, o.Authenticated)
	if err != nil {
		return nil, err
	}
	cl, err := p.client(u)
	if err != nil {
		return nil, err
	}
	ln := &listener{
		seg:    o.Addr.Plug(),
		host:   u.Hostname(),
		label:  label,
		admit:  o.Admit,
		conns:  make(chan *relayedConn, 16),
		closed: make(chan struct{}),
		addr:   Addr{URL: u.String(), Key: p.Identity.Public()},
	}
	r, err := p.join(u, cl, ln)
	if err != nil {
		return nil, err
	}
	ln.reg = r
	wait, cancel := context.WithTimeout(ctx, listenWait)
	defer cancel()
	r.waitFirst(wait, label)
	return ln, nil
}

// join adds ln to the registrar of u, starting it if need be.
func (p *Plug) join(u *url.URL, cl *Client, ln *listener) (*registrar, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := u.String()
	if r := p.regs[key]; r != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.lns[ln.label] != nil {
			return nil, errors.New("relay: " + ln.label + " is already served through " + key)
		}
		r.lns[ln.label] = ln
		notify(r.relabel)
		return r, nil
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &registrar{
		p: p, cl: cl, url: key, log: p.logger().With("relay", key),
		lns: map[string]*listener{ln.label: ln}, streams: map[StreamID]*stream{},
		relabel: make(chan struct{}, 1), changed: make(chan struct{}),
		stop: stop, done: make(chan struct{}),
	}
	if p.regs == nil {
		p.regs = map[string]*registrar{}
	}
	p.regs[key] = r
	go r.run(ctx)
	return r, nil
}

// leave removes ln from its registrar, and ends the registrar when it
// was the last.
func (p *Plug) leave(r *registrar, ln *listener) {
	p.mu.Lock()
	r.mu.Lock()
	delete(r.lns, ln.label)
	last := len(r.lns) == 0
	if last {
		delete(p.regs, r.url)
	}
	r.mu.Unlock()
	p.mu.Unlock()
	if last {
		r.stop()
		<-r.done
	} else {
		notify(r.relabel)
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// registrar keeps one control connection to one relay for the stacks a
// Plug serves through it, and routes the dialers it announces.
type registrar struct {
	p       *Plug
	cl      *Client
	url     string
	log     *slog.Logger
	relabel chan struct{} // the labels changed
	stop    context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	lns      map[string]*listener // by label
	up       []string             // the labels registered now, nil while down
	attempts int                  // registrations tried
	changed  chan struct{}        // closed and replaced at every change
	streams  map[StreamID]*stream // the streams accepted, to resume
}

// stream is an accepted relayed conn that a dialer may pair again.
type stream struct {
	key  ed25519.PublicKey
	conn *resume.Conn
	rc   *relayedConn
}

func (r *registrar) labels() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ls []string
	for l := range r.lns {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}

// set records the labels registered now (nil: none) after an attempt.
func (r *registrar) set(up []string, attempted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = up
	if attempted {
		r.attempts++
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// registered reports whether label is registered now, and returns the
// channel closed at the next change.
func (r *registrar) registered(label string) (bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.up, label), r.changed
}

// waitFirst waits until label is registered or an attempt made after
// the call failed, or ctx ends.
func (r *registrar) waitFirst(ctx context.Context, label string) {
	r.mu.Lock()
	start := r.attempts
	r.mu.Unlock()
	for {
		r.mu.Lock()
		ok := slices.Contains(r.up, label) || r.attempts > start+1 || r.attempts > start && r.up == nil
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// run registers with the relay, serves the registration while it lasts
// and registers again when it ends or the labels change, until ctx ends.
func (r *registrar) run(ctx context.Context) {
	defer close(r.done)
	var cur *Registration
	defer func() {
		if cur != nil {
			cur.Close()
		}
		r.set(nil, false)
	}()
	wait := firstBackoff
	var lost time.Time // when the last registration ended
	for ctx.Err() == nil {
		labels := r.labels()
		reg, err := r.register(ctx, cur, labels)
		if err != nil {
			if cur != nil { // the old one may still serve
				cur.Close()
				cur = nil
			}
			r.set(nil, true)
			d := wait/2 + rand.N(wait)
			wait = min(2*wait, maxBackoff)
			if time.Since(lost) < r.p.resumeTimeout() {
				wait = min(wait, resumeBackoff)
			}
			var re *RestartingError
			if errors.As(err, &re) {
				d = max(d, re.ReconnectIn)
			}
			r.log.Debug("relay: registration failed", "err", err, "retry", d)
			if !sleep(ctx, d, r.relabel) {
				return
			}
			continue
		}
		if cur != nil { // the relay moved the key to reg already
			r.handOver(ctx, cur)
			cur.Close()
		}
		cur, wait = reg, firstBackoff
		r.log.Debug("relay: registered", "labels", labels)
		r.set(labels, true)
		if !r.serve(ctx, reg) { // relabel: register again at once
			continue
		}
		err = reg.Err()
		lost = time.Now()
		cur.Close()
		cur = nil
		r.set(nil, false)
		r.log.Debug("relay: registration ended", "err", err)
		d := firstBackoff/2 + rand.N(firstBackoff)
		var re *RestartingError
		if errors.As(err, &re) {
			d = max(d, re.ReconnectIn)
		}
		if !sleep(ctx, d, nil) {
			return
		}
	}
}

// serve routes reg's dialers until reg ends (true) or the labels change
// or ctx ends (false).
func (r *registrar) serve(ctx context.Context, reg *Registration) bool {
	for {
		select {
		case in, ok := <-reg.Incoming():
			if !ok {
				return true
			}
			go r.incoming(ctx, in)
		case <-r.relabel:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// register registers labels with a new control connection while cur,
// the registration it replaces (nil if none), goes on routing the
// dialers the relay announces on it: until the new one authenticates,
// the relay sends them to cur, and on replacing cur it hands their
// pending pairings to the new one, so their tokens stay good. Left in
// cur's queue, unread, they would wait out the relay's pairing timeout
// for a stack served all along; the longer the registration takes (a
// bridge carrier, a loaded machine), the more of them.
func (r *registrar) register(ctx context.Context, cur *Registration, labels []string) (*Registration, error) {
	if cur == nil {
		return r.cl.Register(ctx, labels)
	}
	type result struct {
		reg *Registration
		err error
	}
	done := make(chan result, 1)
	go func() {
		reg, err := r.cl.Register(ctx, labels)
		done <- result{reg, err}
	}()
	in := cur.Incoming()
	for {
		select {
		case x, ok := <-in:
			if !ok {
				in = nil // cur ended; wait for the new one
				continue
			}
			go r.incoming(ctx, x)
		case res := <-done:
			return res.reg, res.err
		}
	}
}

// handOver routes the dialers still queued on cur, replaced now, before
// it is closed.
func (r *registrar) handOver(ctx context.Context, cur *Registration) {
	for {
		select {
		case x, ok := <-cur.Incoming():
			if !ok {
				return
			}
			go r.incoming(ctx, x)
		default:
			return
		}
	}
}

// sleep waits d, or until ctx ends (false) or wake.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-ctx.Done():
		return false
	}
	return true
}

// incoming takes a dialer the relay announced: a stream it holds paired
// again, or a new conn for the listener of the dialer's stack.
func (r *registrar) incoming(ctx context.Context, in *Incoming) {
	r.mu.Lock()
	s := r.streams[in.StreamID]
	ln := r.lns[in.Label]
	r.mu.Unlock()
	remote := Addr{URL: r.url, Key: in.Key}
	if s == nil && (ln == nil || !ln.admit(remote)) {
		return // the dialer's CONNECT times out
	}
	if s != nil && !s.key.Equal(in.Key) {
		r.log.Debug("relay: another key asked for a stream", "key", remote)
		return
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := r.cl.Accept(actx, in)
	cancel()
	if err != nil {
		r.log.Debug("relay: accept failed", "err", err)
		return
	}
	if s != nil {
		if s.rc.directOnly() {
			c.Close()
			return
		}
		if err := s.conn.Attach(c); err != nil {
			r.log.Debug("relay: stream ended before it resumed", "err", err)
			return
		}
		s.rc.carrier.set(c)
		return
	}
	u, _ := url.Parse(r.url)
	conn := newRelayedConn(r.p, u, false, ln.addr, remote, newCarrierVar(c))
	rc := resume.New(c, r.p.resumeConfig(conn, nil))
	conn.setStream(rc)
	conn.gone = func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.streams[in.StreamID] != nil && r.streams[in.StreamID].conn == rc {
			delete(r.streams, in.StreamID)
		}
	}
	r.mu.Lock()
	r.streams[in.StreamID] = &stream{key: in.Key, conn: rc, rc: conn}
	r.mu.Unlock()
	ln.deliver(conn)
}

// deliver hands c to Accept, or closes it if the listener closed. A
// select between a buffered send and the closed channel may pick the
// send after Close drained the queue, leaving c unseen for good; so a
// sender that finds the listener closed afterwards drains it too.
func (l *listener) deliver(c *relayedConn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
		return
	}
	select {
	case <-l.closed:
		l.drain()
	default:
	}
}

// drain closes the conns queued for Accept.
func (l *listener) drain() {
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return
		}
	}
}

// listener is one stack served through a relay.
type listener struct {
	reg    *registrar
	seg    address.Segment // the plug segment, as given
	host   string
	label  string
	admit  func(net.Addr) bool
	addr   Addr
	conns  chan *relayedConn
	closed chan struct{}
	once   sync.Once
}

var _ multiserver.ChangingListener = (*listener)(nil)

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.reg.p.leave(l.reg, l)
		l.drain()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

// Advertise returns the relay segment while the stack is registered, in
// the scopes that reach the relay's host.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	if ok, _ := l.reg.registered(l.label); !ok {
		return nil
	}
	if len(multiserver.AdvertiseHosts(scope, l.host, nil)) == 0 {
		return nil
	}
	return []address.Segment{l.seg}
}

// Changed returns a channel closed when the registration changes.
func (l *listener) Changed() <-chan struct{} {
	_, ch := l.reg.registered(l.label)
	return ch
}
