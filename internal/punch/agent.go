package punch

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver/keys"
)

// Why an attempt found no direct path. Each names the cause a user can
// act on; [Agent] reports them through [Config.Done].
var (
	// ErrUDPBlocked: no STUN answer on one side: UDP does not pass.
	ErrUDPBlocked = errors.New("punch: UDP blocked")
	// ErrBothSymmetric: both NATs map per destination, which no
	// probing gets through.
	ErrBothSymmetric = errors.New("punch: both peers are behind NATs that map per destination (symmetric)")
	// ErrTimeout: probing found no path within the budget.
	ErrTimeout = errors.New("punch: no direct path within the budget")
	// ErrNoAnswer: the peer did not answer the offer.
	ErrNoAnswer = errors.New("punch: the peer did not answer the offer")
	// ErrDeclined: the peer does not punch holes, or was busy.
	ErrDeclined = errors.New("punch: the peer declined")
)

// Budgets and timings; spec/holepunch.md §4 says why.
const (
	DefaultBudget  = 5 * time.Second       // probing, cone to cone
	stunBudget     = 3 * time.Second       // reflexive address: requests at 0, 0.5s, 1.5s
	offerInterval  = time.Second           // OFFER resent until an answer
	offerTries     = 8                     // then ErrNoAnswer
	probeInterval  = 50 * time.Millisecond // a round of probes to every candidate
	connectTimeout = 5 * time.Second       // QUIC handshake and first stream, after the path
)

// Config configures an [Agent].
type Config struct {
	// Identity is this side's key; Peer the other's, as authenticated
	// on the relayed conn. Signals are sealed between them, and the
	// direct path's QUIC authenticates both.
	Identity *keys.Identity
	Peer     ed25519.PublicKey
	// Dialer is true on the side that dialed the relayed conn: it
	// offers, and is the QUIC client.
	Dialer bool
	// Disabled makes the agent decline every offer.
	Disabled bool
	// STUN returns the STUN responders that tell this side its
	// reflexive address and mapping: the two ports of the relay's. If
	// nil, or it fails, the side offers host candidates only.
	STUN func(ctx context.Context) ([]netip.AddrPort, error)
	// ListenPacket opens the attempt's UDP socket: first ("udp",
	// "[::]:0"), a dual-stack socket; if that fails, ("udp4",
	// "0.0.0.0:0"). Birthday punching's extra sockets are always
	// ("udp4", "0.0.0.0:0"). If nil, net.ListenConfig{}.ListenPacket.
	ListenPacket func(ctx context.Context, network, address string) (net.PacketConn, error)
	// HostAddrs lists this host's addresses for host candidates, IPv4
	// and IPv6 (IPv6 ones only where the attempt's socket is
	// dual-stack; at most three of each family are offered, in the
	// order given). If nil, the addresses of the host's interfaces but
	// loopback and link-local ones.
	HostAddrs func() ([]netip.Addr, error)
	// Send sends a sealed signal to the peer (resume's Signal).
	Send func(p []byte) error
	// Done is called once per attempt, on the attempt's goroutine: with
	// the direct carrier, which the callee then owns, or with why there
	// is none.
	Done func(c *Carrier, err error)
	// Budget bounds probing. If zero, DefaultBudget.
	Budget time.Duration
	// BirthdayBudget bounds birthday punching, which one side behind a
	// symmetric NAT facing a cone needs (hundreds of probes; for the
	// background only). If zero, DefaultBirthdayBudget; if negative,
	// such pairs fail with ErrOneSymmetric.
	BirthdayBudget time.Duration
	// Logger gets debug records of attempts. If nil, nothing is logged.
	Logger *slog.Logger
}

// An Agent punches a direct path for one relayed conn: the dialer's
// starts attempts, the listener's answers them. See spec/holepunch.md.
type Agent struct {
	cfg    Config
	seal   *sealer
	cert   tls.Certificate
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running bool
	session [8]byte // of the running attempt
	answer  []byte  // the listener's sealed ANSWER to it, to resend
	restart func()  // the listener's: restarts the probing budget
	replies chan *message
}

// New returns an Agent for cfg.
func New(cfg Config) (*Agent, error) {
	if cfg.Identity == nil || len(cfg.Peer) != ed25519.PublicKeySize || cfg.Send == nil || cfg.Done == nil {
		return nil, errors.New("punch: Config needs Identity, Peer, Send and Done")
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.BirthdayBudget == 0 {
		cfg.BirthdayBudget = DefaultBirthdayBudget
	}
	if cfg.ListenPacket == nil {
		cfg.ListenPacket = (&net.ListenConfig{}).ListenPacket
	}
	if cfg.HostAddrs == nil {
		cfg.HostAddrs = interfaceAddrs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := newSealer(cfg.Identity.Private(), cfg.Peer)
	if err != nil {
		return nil, err
	}
	cert, err := certificate(cfg.Identity.Private())
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, seal: s, cert: cert, replies: make(chan *message, 4)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// Close stops the attempt under way, if any, and waits for it.
func (a *Agent) Close() {
	a.cancel()
	a.wg.Wait()
}

// Start starts an attempt in the background on the dialer's side,
// unless one runs or the Agent is closed; it reports whether it did.
func (a *Agent) Start() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.cfg.Dialer || a.running || a.ctx.Err() != nil {
		return false
	}
	a.running = true
	rand.Read(a.session[:])
	a.wg.Add(1)
	go a.run(nil)
	return true
}

// Signal takes a signal from the peer. It does not block.
func (a *Agent) Signal(p []byte) {
	m, err := a.seal.open(p)
	if err != nil {
		a.cfg.Logger.Debug("punch: dropped a signal", "err", err)
		return
	}
	want := byte(roleListener)
	if !a.cfg.Dialer {
		want = roleDialer
	}
	if m.role != want {
		a.cfg.Logger.Debug("punch: dropped a signal of our own role")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.cfg.Dialer && m.typ != msgOffer:
		if a.running && m.session == a.session {
			select {
			case a.replies <- m:
			default:
			}
		}
	case !a.cfg.Dialer && m.typ == msgOffer:
		switch {
		case a.running && m.session == a.session:
			if a.answer != nil { // the answer was lost, or is late
				a.cfg.Send(a.answer)
			}
			if a.restart != nil {
				a.restart()
			}
		case a.cfg.Disabled || a.running || a.ctx.Err() != nil:
			reason := byte(declineDisabled)
			if a.running {
				reason = declineBusy
			}
			a.cfg.Send(a.seal.seal(&message{typ: msgDecline, role: roleListener, session: m.session, reason: reason}))
		default:
			a.running, a.session, a.answer = true, m.session, nil
			a.wg.Add(1)
			go a.run(m)
		}
	}
}

func (a *Agent) run(offer *message) {
	defer a.wg.Done()
	c, err := a.attempt(a.ctx, offer)
	if err == nil && a.ctx.Err() != nil {
		c.Close()
		c, err = nil, a.ctx.Err()
	}
	a.mu.Lock()
	a.running = false
	a.mu.Unlock()
	if err != nil {
		a.cfg.Logger.Debug("punch: no direct path", "err", err)
	}
	a.cfg.Done(c, err)
}

func (a *Agent) role() byte {
	if a.cfg.Dialer {
		return roleDialer
	}
	return roleListener
}

// attempt runs one attempt: offer or answer, probe, QUIC.
func (a *Agent) attempt(ctx context.Context, offer *message) (*Carrier, error) {
	pc, err := a.listen(ctx)
	if err != nil {
		return nil, err
	}
	sock := newSocket(pc)
	handed := false
	defer func() {
		if !handed {
			sock.close()
		}
	}()
	mapping, cands := a.gather(ctx, sock)
	var peer *message
	var secret [secretSize]byte
	var ln *quicgo.Listener
	if a.cfg.Dialer {
		if mapping == mapBlocked { // nothing to offer
			return nil, viable(mapping, mapUnknown)
		}
		rand.Read(secret[:])
		a.mu.Lock()
		session := a.session
		a.mu.Unlock()
		peer, err = a.offer(ctx, &message{typ: msgOffer, role: roleDialer, session: session, secret: secret, mapping: mapping, cands: cands})
		if err != nil {
			return nil, err
		}
	} else {
		peer, secret = offer, offer.secret
		ln, err = sock.tr.Listen(tlsConfig(a.cert, a.cfg.Peer, true), quicConfig())
		if err != nil {
			return nil, fmt.Errorf("punch: QUIC listener: %w", err)
		}
		defer ln.Close()
		answer := a.seal.seal(&message{typ: msgAnswer, role: roleListener, session: offer.session, mapping: mapping, cands: cands})
		a.mu.Lock()
		a.answer = answer
		a.mu.Unlock()
		if err := a.cfg.Send(answer); err != nil {
			return nil, fmt.Errorf("punch: signal: %w", err)
		}
	}
	// Two symmetric NATs leave no IPv4 path, but two sides that both
	// offered IPv6 candidates can still meet over IPv6, where there is
	// mostly no NAT at all. Both sides see the same two messages, so
	// both decide the same.
	only6 := false
	if err := viable(mapping, peer.mapping); err != nil {
		if !errors.Is(err, ErrBothSymmetric) || !has6(cands) || !has6(peer.cands) {
			return nil, err
		}
		only6 = true // and neither birthday punching nor spraying below
	}
	budget := a.cfg.Budget
	birthday := mapping == mapDependent && peer.mapping == mapIndependent
	spray := mapping == mapIndependent && peer.mapping == mapDependent
	if birthday || spray {
		if a.cfg.BirthdayBudget < 0 {
			return nil, ErrOneSymmetric
		}
		budget = a.cfg.BirthdayBudget
	}
	sock.expect(peer.session, secret[:], a.role())
	// The budget runs from the exchange of candidates. The listener
	// starts when it answers, the dialer when the answer arrives, which
	// may be seconds later on a slow relayed conn; the dialer's repeated
	// OFFER says it is still waiting, and restarts the listener's
	// budget (§5), so that the two windows overlap.
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	expired := time.AfterFunc(budget, func() { cancel(context.DeadlineExceeded) })
	defer expired.Stop()
	if !a.cfg.Dialer {
		a.mu.Lock()
		a.restart = func() { expired.Reset(budget) }
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			a.restart = nil
			a.mu.Unlock()
		}()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	probing, stop := context.WithCancel(pctx)
	defer stop()
	conn := sock // the socket QUIC runs on
	switch {
	case spray:
		ip := netip.Addr{}
		if r := reflexive4Of(peer.cands); len(r) > 0 {
			ip = r[0].Addr()
		}
		if !ip.IsValid() {
			return nil, fmt.Errorf("%w: the peer has no reflexive address", ErrTimeout)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sprayLoop(probing, sock, ip)
		}()
	case birthday:
		win, from, err := a.birthdayOpen(pctx, reflexive4Of(peer.cands), peer.session, secret[:])
		if err != nil {
			return nil, fmt.Errorf("%w (%v, birthday): %w", ErrTimeout, budget, err)
		}
		defer func() {
			if !handed {
				win.close()
			}
		}()
		win.expect(peer.session, secret[:], a.role())
		if ln != nil {
			ln.Close()
			if ln, err = win.tr.Listen(tlsConfig(a.cert, a.cfg.Peer, true), quicConfig()); err != nil {
				return nil, fmt.Errorf("punch: QUIC listener: %w", err)
			}
			defer ln.Close()
		}
		conn = win
		wg.Add(1)
		go func() {
			defer wg.Done()
			probeLoop(probing, win, []netip.AddrPort{from})
		}()
	default:
		to := sock.reachable(peer.cands)
		if only6 {
			to = slices.DeleteFunc(to, func(a netip.AddrPort) bool { return a.Addr().Is4() })
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			probeLoop(probing, sock, to)
		}()
	}
	c, err := a.connect(pctx, conn, ln)
	if err != nil {
		if ctx.Err() == nil && pctx.Err() != nil {
			if only6 {
				return nil, fmt.Errorf("%w, and over IPv6: %w (%v): %w", ErrBothSymmetric, ErrTimeout, budget, err)
			}
			return nil, fmt.Errorf("%w (%v): %w", ErrTimeout, budget, err)
		}
		return nil, err
	}
	handed = true
	if conn != sock { // birthday: the carrier has a socket of its own
		sock.close()
	}
	return c, nil
}

// has6 reports whether cands hold an IPv6 candidate.
func has6(cands []candidate) bool {
	return slices.ContainsFunc(cands, func(c candidate) bool { return c.addr.Addr().Is6() })
}

// listen opens the attempt's socket: dual-stack ("udp" on [::]:0), so
// that one socket and one quic-go Transport reach candidates of both
// families, or IPv4 only ("udp4") where the host has no IPv6.
func (a *Agent) listen(ctx context.Context) (net.PacketConn, error) {
	pc, err := a.cfg.ListenPacket(ctx, "udp", "[::]:0")
	if err == nil {
		return pc, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("punch: UDP socket: %w", err)
	}
	a.cfg.Logger.Debug("punch: no IPv6 socket, IPv4 only", "err", err)
	pc, err4 := a.cfg.ListenPacket(ctx, "udp4", "0.0.0.0:0")
	if err4 != nil {
		return nil, fmt.Errorf("punch: UDP socket: %w", errors.Join(err, err4))
	}
	return pc, nil
}

// connect makes the QUIC connection and its stream once probes passed:
// the dialer dials the first address it heard from, the listener
// accepts.
func (a *Agent) connect(ctx context.Context, sock *socket, ln *quicgo.Listener) (*Carrier, error) {
	if a.cfg.Dialer {
		// Dial the first address heard from; if the handshake fails (the
		// peer was not listening there yet, packets were lost), the next
		// one heard, until the budget ends.
		var last error = errors.New("no probe came back")
		for {
			var to netip.AddrPort
			select {
			case to = <-sock.heard:
			case <-ctx.Done():
				return nil, last
			}
			c, err := a.dial(ctx, sock, to)
			if err == nil {
				return c, nil
			}
			a.cfg.Logger.Debug("punch: QUIC failed", "to", to, "err", err)
			last = err
		}
	}
	conn, err := ln.Accept(ctx)
	if err != nil {
		return nil, fmt.Errorf("punch: no QUIC connection: %w", err)
	}
	st, err := conn.AcceptStream(ctx)
	if err == nil {
		err = readHeader(ctx, st)
	}
	if err != nil {
		conn.CloseWithError(1, "no stream")
		return nil, fmt.Errorf("punch: QUIC stream: %w", err)
	}
	return newCarrier(conn, st, sock), nil
}

// dial opens QUIC from sock to the listener at to, and its stream.
func (a *Agent) dial(ctx context.Context, sock *socket, to netip.AddrPort) (*Carrier, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := sock.tr.Dial(cctx, net.UDPAddrFromAddrPort(to), tlsConfig(a.cert, a.cfg.Peer, false), quicConfig())
	if err != nil {
		return nil, fmt.Errorf("punch: QUIC to %v: %w", to, err)
	}
	st, err := conn.OpenStreamSync(cctx)
	if err == nil {
		_, err = st.Write([]byte{streamHeader}) // so that the listener sees the stream
	}
	if err != nil {
		conn.CloseWithError(1, "no stream")
		return nil, fmt.Errorf("punch: QUIC stream: %w", err)
	}
	return newCarrier(conn, st, sock), nil
}

// streamHeader is the first byte of the direct path's stream, which the
// dialer sends so that the listener sees the stream at once.
const streamHeader = 0x01

func readHeader(ctx context.Context, st *quicgo.Stream) error {
	if dl, ok := ctx.Deadline(); ok {
		st.SetReadDeadline(dl)
		defer st.SetReadDeadline(time.Time{})
	}
	var b [1]byte
	if _, err := io.ReadFull(st, b[:]); err != nil {
		return err
	}
	if b[0] != streamHeader {
		return fmt.Errorf("stream header 0x%02x, want 0x%02x", b[0], streamHeader)
	}
	return nil
}

// probeLoop sends a round of probes to every address each
// probeInterval until ctx ends.
func probeLoop(ctx context.Context, sock *socket, to []netip.AddrPort) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		sock.sendProbes(to)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// offer sends OFFER until the peer answers or declines.
func (a *Agent) offer(ctx context.Context, m *message) (*message, error) {
	sealed := a.seal.seal(m)
	t := time.NewTicker(offerInterval)
	defer t.Stop()
	for range offerTries {
		if err := a.cfg.Send(sealed); err != nil {
			return nil, fmt.Errorf("punch: signal: %w", err)
		}
		select {
		case r := <-a.replies:
			if r.typ == msgDecline {
				return nil, fmt.Errorf("%w (reason %d)", ErrDeclined, r.reason)
			}
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, ErrNoAnswer
}
