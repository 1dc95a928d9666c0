//go:build !js

package relayserver

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/f7d52a8e/multiserver/internal/stun"
)

// The bounds of the STUN responder (spec/stun.md §3).
const (
	// MaxSTUNRequest is the largest datagram the STUN responder reads, in
	// bytes: 576 (the smallest datagram every IPv4 host must take) less
	// the IP and UDP headers. Larger ones are dropped.
	MaxSTUNRequest = 548
	// MaxSTUNResponse bounds every response, in bytes: the header, an
	// IPv6 XOR-MAPPED-ADDRESS and a FINGERPRINT. Nothing of the request
	// is echoed.
	MaxSTUNResponse = stun.HeaderSize + 4 + 20 + 8
)

// stunDrop is why the STUN responder dropped a datagram.
type stunDrop int

const (
	stunTooLarge   stunDrop = iota // over MaxSTUNRequest
	stunRate                       // over the source's rate (Config.STUNRate)
	stunSources                    // too many sources tracked (Config.STUNSources)
	stunMalformed                  // not a STUN message that Decode takes
	stunNotBinding                 // STUN, but not a Binding request
	stunSendFailed                 // the response could not be sent
	numSTUNDrops
)

// stunDropNames are the values of the reason label.
var stunDropNames = [numSTUNDrops]string{"too_large", "rate", "sources", "malformed", "not_binding", "send_failed"}

// ServeSTUN answers STUN Binding requests (RFC 8489) that arrive on pc
// with the source address they came from, in XOR-MAPPED-ADDRESS, until
// pc fails or the server shuts down; it closes pc when it returns. Serve
// two ports of one host (in two goroutines) so that a client's
// stun.Probe can tell endpoint-independent mapping from a symmetric NAT.
//
// Datagrams larger than [MaxSTUNRequest], over a source's rate
// ([Config.STUNRate], [Config.STUNBurst]), not Binding requests, or
// malformed get no answer; every answer is at most [MaxSTUNResponse]
// bytes. [Server.Shutdown] and [Server.Close] stop it, and then its
// error matches net.ErrClosed.
func (s *Server) ServeSTUN(pc net.PacketConn) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		pc.Close()
		return fmt.Errorf("relay: stun: %w", net.ErrClosed)
	}
	s.stunConns[pc] = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.stunConns, pc)
		s.mu.Unlock()
		pc.Close()
		s.wg.Done()
	}()
	buf := make([]byte, MaxSTUNRequest+1)
	resp := make([]byte, 0, MaxSTUNResponse)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return fmt.Errorf("relay: stun: %w", net.ErrClosed)
			}
			return fmt.Errorf("relay: stun: %w", err)
		}
		s.stats.stunRequests.Add(1)
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		if why, ok := s.answerSTUN(pc, buf[:n], ua.AddrPort(), resp); !ok {
			s.stats.stunDropped[why].Add(1)
			continue
		}
		s.stats.stunResponses.Add(1)
	}
}

// answerSTUN answers the datagram b from src on pc, or says why not.
func (s *Server) answerSTUN(pc net.PacketConn, b []byte, src netip.AddrPort, resp []byte) (stunDrop, bool) {
	if len(b) > MaxSTUNRequest {
		return stunTooLarge, false
	}
	if why, ok := s.stunLimit.allow(src.Addr(), time.Now()); !ok {
		return why, false
	}
	if !stun.IsMessage(b) {
		return stunMalformed, false
	}
	m, err := stun.Decode(b)
	if err != nil {
		return stunMalformed, false
	}
	if m.Type != stun.BindingRequest {
		return stunNotBinding, false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	r := stun.Message{
		Type:        stun.BindingSuccess,
		ID:          m.ID,
		Attrs:       []stun.Attr{{Type: stun.AttrXORMappedAddress, Value: stun.XORAddress(src, m.ID)}},
		Fingerprint: true,
	}
	resp = r.Append(resp[:0])
	if _, err := pc.WriteTo(resp, net.UDPAddrFromAddrPort(src)); err != nil {
		return stunSendFailed, false
	}
	return 0, true
}

// closeSTUN closes the packet conns ServeSTUN serves. The server is
// closing: ServeSTUN takes no new one.
func (s *Server) closeSTUN() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pc := range s.stunConns {
		pc.Close()
	}
}

// stunLimiter is a token bucket per source: an IPv4 address, or the /64
// of an IPv6 address (one host has a whole /64 to send from).
type stunLimiter struct {
	rate  rate.Limit
	burst int
	max   int // sources tracked at once

	mu      sync.Mutex
	sources map[netip.Addr]*rate.Limiter
	swept   time.Time
}

// sweepEvery bounds how often a full table is swept.
const sweepEvery = time.Second

func newSTUNLimiter(perSecond float64, burst, max int) *stunLimiter {
	return &stunLimiter{rate: rate.Limit(perSecond), burst: burst, max: max, sources: map[netip.Addr]*rate.Limiter{}}
}

// allow takes a token of ip's source, or says why there is none.
func (l *stunLimiter) allow(ip netip.Addr, now time.Time) (stunDrop, bool) {
	ip = ip.Unmap()
	if ip.Is6() {
		ip = netip.PrefixFrom(ip.WithZone(""), 64).Masked().Addr()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.sources[ip]
	if lim == nil {
		if len(l.sources) >= l.max && now.Sub(l.swept) >= sweepEvery {
			l.sweep(now)
		}
		if len(l.sources) >= l.max {
			return stunSources, false
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.sources[ip] = lim
	}
	if !lim.AllowN(now, 1) {
		return stunRate, false
	}
	return 0, true
}

// sweep forgets the sources whose bucket is full again: a new bucket
// would be the same.
func (l *stunLimiter) sweep(now time.Time) {
	l.swept = now
	for ip, lim := range l.sources {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.sources, ip)
		}
	}
}
