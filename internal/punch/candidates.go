package punch

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/f7d52a8e/multiserver/internal/stun"
)

// viable says why two sides with these mappings cannot punch, or nil.
func viable(ours, theirs byte) error {
	switch {
	case ours == mapBlocked:
		return fmt.Errorf("%w here: no answer from the relay's STUN", ErrUDPBlocked)
	case theirs == mapBlocked:
		return fmt.Errorf("%w at the peer: no answer from the relay's STUN", ErrUDPBlocked)
	case ours == mapDependent && theirs == mapDependent:
		return ErrBothSymmetric
	}
	return nil
}

// gather finds this side's candidates and mapping: its host addresses
// with the socket's port, and the reflexive address the STUN servers
// saw.
func (a *Agent) gather(ctx context.Context, sock *socket) (byte, []candidate) {
	port := uint16(sock.pc.LocalAddr().(*net.UDPAddr).Port)
	var cands []candidate
	if addrs, err := a.cfg.HostAddrs(); err == nil {
		for _, ip := range addrs {
			if ip.Is4() && len(cands) < maxCandidates-1 {
				cands = append(cands, candidate{candHost, netip.AddrPortFrom(ip, port)})
			}
		}
	}
	if a.cfg.STUN == nil {
		return mapUnknown, cands
	}
	sctx, cancel := context.WithTimeout(ctx, stunBudget)
	defer cancel()
	servers, err := a.cfg.STUN(sctx)
	if err != nil || len(servers) == 0 {
		a.cfg.Logger.Debug("punch: no STUN servers", "err", err)
		return mapUnknown, cands
	}
	res, err := stun.Probe(sctx, &stunConn{s: sock}, servers)
	if err != nil {
		a.cfg.Logger.Debug("punch: STUN", "err", err)
		return mapBlocked, cands
	}
	if r := res.Reflexive(); r.IsValid() {
		r = netip.AddrPortFrom(r.Addr().Unmap(), r.Port())
		dup := false
		for _, c := range cands {
			dup = dup || c.addr == r
		}
		if !dup {
			cands = append(cands, candidate{candReflexive, r})
		}
	}
	switch res.Mapping {
	case stun.MappingEndpointIndependent:
		return mapIndependent, cands
	case stun.MappingEndpointDependent:
		return mapDependent, cands
	}
	return mapUnknown, cands
}

func addrsOf(cands []candidate) []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range cands {
		out = append(out, c.addr)
	}
	return out
}

func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}
