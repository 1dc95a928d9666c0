//go:build !js

package relayserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// Config configures a [Server]. The zero value serves with the defaults
// of spec/relay.md §6.
type Config struct {
	// URLs are the relay URLs clients dial ("wss://relay.example/ms").
	// AUTH must sign the origin of one of them. If empty, the relay
	// takes the origin of each request's Host header, ws or wss, which a
	// relay in the middle can forge: set it for a public relay.
	URLs []string
	// MaxFrame is the largest control message read before pairing, in
	// bytes. If zero, 4096.
	MaxFrame int
	// HandshakeTimeout bounds the time from the upgrade to the request
	// (LISTEN, CONNECT, ACCEPT). If zero, 10s.
	HandshakeTimeout time.Duration
	// PairingTimeout bounds CONNECT → PAIRED. If zero, 10s.
	PairingTimeout time.Duration
	// PingInterval is how often control conns are pinged; one silent for
	// three intervals is closed. If zero, 15s.
	PingInterval time.Duration
	// MaxPendingPerTopic bounds the CONNECTs waiting for one listener.
	// If zero, 16.
	MaxPendingPerTopic int
	// MaxRegistrationsPerIP bounds the control conns from one source
	// address. If zero, 64.
	MaxRegistrationsPerIP int
	// MaxConnsPerIP bounds the carriers (WebSockets and HTTP bridge
	// sessions) from one source address, of any job. If zero, 1024.
	MaxConnsPerIP int
	// MaxUnauthenticated bounds the carriers (WebSockets and HTTP bridge
	// sessions) not yet authenticated, in all. If zero, 1024.
	MaxUnauthenticated int
	// MaxBridgeSessions bounds the HTTP bridge sessions open at once, of
	// every job (spec/relay.md §11). If zero, 4096.
	MaxBridgeSessions int
	// ReadLimit is the largest data message after pairing, in bytes. If
	// zero, 1 MiB.
	ReadLimit int64
	// IdlePairingTimeout closes a pairing that carried no data, in either
	// direction, for that long: both sides get status 4002 ("idle"). If
	// zero, 5 minutes; if negative, a pairing may stay idle forever.
	IdlePairingTimeout time.Duration
	// PairingRate bounds the payload a pairing forwards in each
	// direction, in bytes per second: a faster sender is slowed down by
	// TCP backpressure, nothing is dropped. If zero or negative,
	// unlimited.
	PairingRate int
	// PairingBurst is, for a rate-limited pairing, the most bytes a
	// direction forwards at once after a pause, and the largest piece in
	// which it writes a message. If zero, 64 KiB.
	PairingBurst int
	// ReconnectIn and TryFor are what RESTARTING tells clients on
	// Shutdown. If zero, 2s and 60s.
	ReconnectIn, TryFor time.Duration
	// STUNRate bounds the STUN Binding requests [Server.ServeSTUN]
	// answers per source and second, over all its ports; a source is an
	// IPv4 address or an IPv6 /64. If zero, 10.
	STUNRate float64
	// STUNBurst is how many requests a source may send at once after a
	// pause. If zero, 20.
	STUNBurst int
	// STUNSources bounds the sources whose rate is tracked at once; a
	// request from a new source is dropped while the table is full of
	// sources seen less than STUNBurst/STUNRate ago. If zero, 16384.
	STUNSources int
	// SourceIP returns the address a request counts against the per-IP
	// limits. If nil, the TCP peer's (behind a reverse proxy, say which
	// header to trust here).
	SourceIP func(r *http.Request) netip.Addr
	// Logger receives debug records of refused and failed conns. If nil,
	// nothing is logged.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxFrame, 4096)
	def(&c.MaxPendingPerTopic, 16)
	def(&c.MaxRegistrationsPerIP, 64)
	def(&c.MaxConnsPerIP, 1024)
	def(&c.MaxUnauthenticated, 1024)
	def(&c.MaxBridgeSessions, 4096)
	defDur(&c.HandshakeTimeout, 10*time.Second)
	defDur(&c.PairingTimeout, 10*time.Second)
	defDur(&c.PingInterval, 15*time.Second)
	defDur(&c.ReconnectIn, 2*time.Second)
	defDur(&c.TryFor, 60*time.Second)
	if c.ReadLimit <= 0 {
		c.ReadLimit = 1 << 20
	}
	if c.IdlePairingTimeout == 0 {
		c.IdlePairingTimeout = 5 * time.Minute
	}
	def(&c.PairingBurst, copyBufSize)
	def(&c.STUNBurst, 20)
	def(&c.STUNSources, 16384)
	if c.STUNRate <= 0 {
		c.STUNRate = 10
	}
	if c.SourceIP == nil {
		c.SourceIP = func(r *http.Request) netip.Addr {
			ap, _ := netip.ParseAddrPort(r.RemoteAddr)
			return ap.Addr().Unmap()
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.URLs = append([]string(nil), c.URLs...)
	return c
}

// Server is a relay: an http.Handler that pairs listeners and dialers by
// topic and copies opaque bytes between them (spec/relay.md). Mount it on
// a mux at the relay's path. Its state lives in memory: registrations,
// pending connects and pairings of this process only.
type Server struct {
	cfg     Config
	origins map[string]bool // nil: from the Host header
	limits  wire.Limits

	mu       sync.Mutex
	closing  bool
	unauth   int
	perIP    map[netip.Addr]*ipCount
	keys     map[string]*control // by key
	topics   map[relay.Topic]*control
	pending  map[[wire.TokenSize]byte]*pending
	waiting  map[relay.Topic]int   // pending CONNECTs per topic
	early    map[msgconn.Conn]bool // carriers not yet paired or registered
	pairings map[*pairing]bool
	wg       sync.WaitGroup // handlers and pairings under way
	idle     chan struct{}  // closed when a draining server has no pairing left

	bridge     *ibridge.Server // the HTTP bridge's sessions, for clients without WebSocket
	bridgeOnce sync.Once       // starts acceptBridge
	bridgeLoop sync.WaitGroup  // acceptBridge

	stunConns map[net.PacketConn]bool // served by ServeSTUN
	stunLimit *stunLimiter

	epoch time.Time // the origin of pairing.last
	chunk int       // the largest piece a pairing writes
	stats stats
}

type ipCount struct{ conns, regs int }

// NewServer returns a relay with cfg, or an error if a URL in cfg.URLs
// is not a relay URL.
func NewServer(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:       cfg,
		perIP:     map[netip.Addr]*ipCount{},
		keys:      map[string]*control{},
		topics:    map[relay.Topic]*control{},
		pending:   map[[wire.TokenSize]byte]*pending{},
		waiting:   map[relay.Topic]int{},
		early:     map[msgconn.Conn]bool{},
		pairings:  map[*pairing]bool{},
		stunConns: map[net.PacketConn]bool{},
		stunLimit: newSTUNLimiter(cfg.STUNRate, cfg.STUNBurst, cfg.STUNSources),
		epoch:     time.Now(),
		chunk:     copyBufSize,
		limits: wire.Limits{
			MaxFrame:         cfg.MaxFrame,
			HandshakeTimeout: cfg.HandshakeTimeout,
			PairingTimeout:   cfg.PairingTimeout,
			PingInterval:     cfg.PingInterval,
		},
	}
	s.bridge = ibridge.NewServer(ibridge.ServerConfig{
		MaxSessions:  cfg.MaxBridgeSessions,
		MaxPerSource: cfg.MaxConnsPerIP,
		Wait:         cfg.HandshakeTimeout,
		Source:       s.bridgeSource,
	}, ibridge.URLAddr(bridgeURL(cfg.URLs)))
	if cfg.PairingRate > 0 {
		s.chunk = min(copyBufSize, cfg.PairingBurst)
	}
	for _, u := range cfg.URLs {
		o, err := relay.Origin(u)
		if err != nil {
			return nil, err
		}
		if s.origins == nil {
			s.origins = map[string]bool{}
		}
		s.origins[o] = true
	}
	return s, nil
}

// conn is one carrier the relay took (a WebSocket or a bridge session),
// with what it counts against.
type conn struct {
	mc   msgconn.Conn   // a WebSocket, or a framed bridge session
	raw  net.Conn       // under mc
	sock *wsconn.Socket // under a WebSocket's writer, or nil
	ip   netip.Addr
	key  ed25519.PublicKey // once authenticated
}

// ServeHTTP serves a relay client's request: a WebSocket upgrade, or a
// request of the HTTP bridge (a kind in "k", or a CORS preflight), whose
// sessions carry the relay protocol too (spec/relay.md §11). Anything
// else is answered 426.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		if isBridge(r) {
			s.serveBridge(w, r)
			return
		}
		http.Error(w, "relay: this is a multiserver relay; it speaks WebSocket ("+relay.Subprotocol+"), or the HTTP bridge with a kind in k", http.StatusUpgradeRequired)
		return
	}
	if !asksFor(r, relay.Subprotocol) {
		http.Error(w, "relay: the WebSocket subprotocol "+relay.Subprotocol+" is required", http.StatusBadRequest)
		return
	}
	ip := s.cfg.SourceIP(r)
	if why, text := s.admit(ip); text != "" {
		s.stats.refused[why].Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Connection", "close")
		http.Error(w, "relay: "+text, http.StatusServiceUnavailable)
		return
	}
	h := &smallHijacker{ResponseWriter: w}
	ws, err := websocket.Accept(h, r, &websocket.AcceptOptions{
		Subprotocols:       []string{relay.Subprotocol},
		InsecureSkipVerify: true, // any web origin: AUTH decides who the client is
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		s.release(ip, nil, true)
		return
	}
	s.stats.accepted.Add(1)
	ws.SetReadLimit(int64(s.cfg.MaxFrame))
	c := &conn{mc: msgconn.WS(ws), raw: h.raw, sock: h.sock, ip: ip}
	s.mu.Lock()
	s.early[c.mc] = true
	s.mu.Unlock()
	if s.handshake(r.Host, c) {
		s.release(ip, c.mc, false)
	}
}

// asksFor reports whether r asks for the WebSocket subprotocol p.
func asksFor(r *http.Request, p string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, v := range strings.Split(h, ",") {
			if strings.TrimSpace(v) == p {
				return true
			}
		}
	}
	return false
}

// admit counts a new unauthenticated WebSocket from ip, or says why not
// (text not empty).
func (s *Server) admit(ip netip.Addr) (why refusal, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.perIP[ip]
	switch {
	case s.closing:
		return refusedShutdown, "shutting down"
	case s.unauth >= s.cfg.MaxUnauthenticated:
		return refusedUnauth, "too many unauthenticated connections"
	case n != nil && n.conns >= s.cfg.MaxConnsPerIP:
		return refusedPerIP, "too many connections from " + ip.String()
	}
	if n == nil {
		n = &ipCount{}
		s.perIP[ip] = n
	}
	n.conns++
	s.unauth++
	s.wg.Add(1)
	return 0, ""
}

// release forgets a carrier from ip that has ended (mc nil: never
// upgraded), unauthenticated or not.
func (s *Server) release(ip netip.Addr, mc msgconn.Conn, unauth bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if unauth {
		s.unauth--
	}
	delete(s.early, mc)
	if n := s.perIP[ip]; n != nil {
		if n.conns--; n.conns == 0 && n.regs == 0 {
			delete(s.perIP, ip)
		}
	}
	s.wg.Done()
}

// handshake runs HELLO, AUTH and the request on c, which came with the
// Host header host, and the job the request asks for. It reports whether
// c is done with (false: a pairing took it over).
func (s *Server) handshake(host string, c *conn) bool {
	unauth := true
	defer func() {
		if unauth {
			s.mu.Lock()
			s.unauth--
			s.mu.Unlock()
		}
	}()
	hello := &wire.Frame{Type: wire.FrameHello, Limits: s.limits}
	rand.Read(hello.Challenge[:])
	timer := time.AfterFunc(s.cfg.HandshakeTimeout, func() {
		s.deny(c, relay.CodeHandshakeTimeout, "no request within "+s.cfg.HandshakeTimeout.String())
	})
	defer timer.Stop()
	if s.send(c, hello) != nil {
		c.mc.CloseNow()
		return true
	}
	f, err := s.read(c, wire.FrameAuth)
	if err != nil {
		return true
	}
	if code, why := s.verify(host, hello.Challenge[:], f); code != 0 {
		s.stats.authFailed.Add(1)
		s.deny(c, code, why)
		return true
	}
	c.key = f.Key
	s.mu.Lock()
	s.unauth--
	unauth = false
	s.mu.Unlock()
	if s.send(c, &wire.Frame{Type: wire.FrameOK}) != nil {
		c.mc.CloseNow()
		return true
	}
	f, err = s.read(c, wire.FrameListen, wire.FrameConnect, wire.FrameAccept)
	if err != nil || !timer.Stop() {
		return true
	}
	switch f.Type {
	case wire.FrameListen:
		s.serveControl(c, f.Labels)
	case wire.FrameConnect:
		return s.connect(c, f)
	case wire.FrameAccept:
		return s.accept(c, f)
	}
	return true
}

// verify checks AUTH: its origin is the relay's and its signature good.
func (s *Server) verify(host string, challenge []byte, f *wire.Frame) (relay.DenyCode, string) {
	ok := s.origins[f.Origin]
	if s.origins == nil {
		ok = f.Origin == wire.HostOrigin("ws", host) || f.Origin == wire.HostOrigin("wss", host)
	}
	if !ok {
		return relay.CodeBadOrigin, fmt.Sprintf("origin %q is not this relay's", f.Origin)
	}
	if !ed25519.Verify(f.Key, wire.AuthMessage(challenge, f.Origin), f.Sig) {
		return relay.CodeBadSignature, "signature does not verify"
	}
	return 0, ""
}

// read reads frames from c until one of the types in want, answering
// PINGs. Anything else is denied as BAD_FRAME.
func (s *Server) read(c *conn, want ...byte) (*wire.Frame, error) {
	for {
		msg, err := c.mc.Read(context.Background())
		if errors.Is(err, msgconn.ErrText) {
			s.deny(c, relay.CodeBadFrame, "text message")
			return nil, wire.ErrFrame
		}
		if err != nil {
			return nil, err
		}
		f, err := wire.Decode(msg)
		if err != nil {
			s.deny(c, relay.CodeBadFrame, err.Error())
			return nil, err
		}
		if f.Type == wire.FramePing {
			s.send(c, &wire.Frame{Type: wire.FramePong, Ping: f.Ping})
			continue
		}
		for _, t := range want {
			if f.Type == t {
				return f, nil
			}
		}
		s.deny(c, relay.CodeBadFrame, fmt.Sprintf("frame type %#02x not expected now", f.Type))
		return nil, wire.ErrFrame
	}
}

// writeTimeout bounds one control frame's write: a client that takes
// longer is gone.
const writeTimeout = 10 * time.Second

// send writes f to c.
func (s *Server) send(c *conn, f *wire.Frame) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return c.mc.Write(ctx, f.Encode())
}

// deny sends DENIED and closes c.
func (s *Server) deny(c *conn, code relay.DenyCode, text string) {
	s.stats.denied(code)
	s.cfg.Logger.Debug("relay: denied", "code", code.String(), "text", text, "ip", c.ip)
	if len(text) > wire.MaxDenyText {
		text = strings.ToValidUTF8(text[:wire.MaxDenyText], "")
	}
	if s.send(c, &wire.Frame{Type: wire.FrameDenied, Code: uint16(code), Text: text}) != nil {
		c.mc.CloseNow()
		return
	}
	c.mc.Close(websocket.StatusNormalClosure, "denied")
}
