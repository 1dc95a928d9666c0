package punch

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Birthday punching, for a cone facing a symmetric NAT (spec/holepunch.md
// §3.1). The symmetric side opens birthdaySockets sockets and sends a
// probe from each to the cone's reflexive address: each opens a mapping
// on its NAT at a port nobody can predict. The cone side sprays probes at
// random ports of the symmetric side's public address: each has about
// birthdaySockets/64512 chances to hit one of those mappings, which
// passes it, and opens the cone's own NAT for the answer.
const (
	birthdaySockets = 256
	sprayInterval   = 10 * time.Millisecond // two probes to random ports each
	refreshInterval = 5 * time.Second       // the symmetric side's probes again, for mappings lost
	// DefaultBirthdayBudget bounds birthday punching: a hit is expected
	// after ~250 probes, ~1.3 s at 200 a second; the chance of none in
	// 30 s is below 10^-9 (if the probes go out at that rate).
	DefaultBirthdayBudget = 30 * time.Second
)

// ErrOneSymmetric: one side's NAT maps per destination and birthday
// punching is not allowed here (Config.BirthdayBudget < 0).
var ErrOneSymmetric = errors.New("punch: one peer's NAT maps per destination (symmetric), and birthday punching is off")

// sprayLoop sends probes from sock to random ports of ip until ctx ends.
func sprayLoop(ctx context.Context, sock *socket, ip netip.Addr) {
	t := time.NewTicker(sprayInterval)
	defer t.Stop()
	for {
		sock.sendProbes([]netip.AddrPort{
			netip.AddrPortFrom(ip, uint16(1024+rand.N(65536-1024))),
			netip.AddrPortFrom(ip, uint16(1024+rand.N(65536-1024))),
		})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// birthdayOpen opens birthdaySockets sockets and sends a probe from
// each to the targets, again every refreshInterval, until a probe of
// the peer reaches one: that socket comes back as a socket of its own
// (a quic-go Transport), with where the probe came from. The others are
// closed.
func (a *Agent) birthdayOpen(ctx context.Context, targets []netip.AddrPort, session [8]byte, secret []byte) (*socket, netip.AddrPort, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pcs []net.PacketConn
	defer func() {
		for _, pc := range pcs {
			if pc != nil {
				pc.Close()
			}
		}
	}()
	for range birthdaySockets {
		pc, err := a.cfg.ListenPacket(ctx, "udp4", "0.0.0.0:0")
		if err != nil {
			return nil, netip.AddrPort{}, err
		}
		pcs = append(pcs, pc)
	}
	kind, peerKind := byte(kindProbeDialer), byte(kindProbeListener)
	if !a.cfg.Dialer {
		kind, peerKind = kindProbeListener, kindProbeDialer
	}
	type hit struct {
		i    int
		from netip.AddrPort
	}
	hits := make(chan hit, 1)
	var wg sync.WaitGroup
	for i, pc := range pcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				p, ok := decodeProbe(buf[:n], secret)
				ua, isUDP := from.(*net.UDPAddr)
				if ok && isUDP && p.kind == peerKind && p.session == session {
					select {
					case hits <- hit{i, ua.AddrPort()}:
					default:
					}
					return
				}
			}
		}()
	}
	var seq uint32
	send := func() {
		seq++
		pkt := appendProbe(nil, secret, probe{kind: kind, session: session, seq: seq})
		for _, pc := range pcs {
			for _, to := range targets {
				pc.WriteTo(pkt, net.UDPAddrFromAddrPort(to))
			}
		}
	}
	send()
	t := time.NewTicker(refreshInterval)
	defer t.Stop()
	for {
		select {
		case h := <-hits:
			// Stop every reader: the winner's socket goes to a Transport.
			for _, pc := range pcs {
				pc.SetReadDeadline(time.Unix(1, 0))
			}
			wg.Wait()
			win := pcs[h.i]
			pcs[h.i] = nil
			win.SetReadDeadline(time.Time{})
			return newSocket(win), h.from, nil
		case <-t.C:
			send()
		case <-ctx.Done():
			for _, pc := range pcs {
				pc.SetReadDeadline(time.Unix(1, 0))
			}
			wg.Wait()
			return nil, netip.AddrPort{}, ctx.Err()
		}
	}
}

// reflexive4Of returns the IPv4 reflexive candidates of cands: birthday
// punching is about IPv4 NATs.
func reflexive4Of(cands []candidate) []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range cands {
		if c.kind == candReflexive && c.addr.Addr().Is4() {
			out = append(out, c.addr)
		}
	}
	return out
}
