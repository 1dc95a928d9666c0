package punch

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"

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

// Host candidates offered per family, at most: with a reflexive address
// of each family, 3+3+2 = maxCandidates.
const hostPerFamily = 3

// gather finds this side's candidates and mapping: its host addresses
// with the socket's port, and the reflexive addresses the STUN servers
// saw, of each family the socket reaches.
func (a *Agent) gather(ctx context.Context, sock *socket) (byte, []candidate) {
	port := uint16(sock.pc.LocalAddr().(*net.UDPAddr).Port)
	dual := sock.dualStack()
	var cands []candidate
	var n4, n6 int
	if addrs, err := a.cfg.HostAddrs(); err == nil {
		for _, ip := range addrs {
			ip = ip.Unmap()
			switch {
			case !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalUnicast():
			case ip.Is4() && n4 < hostPerFamily:
				n4++
				cands = append(cands, candidate{candHost, netip.AddrPortFrom(ip, port)})
			case ip.Is6() && dual && n6 < hostPerFamily:
				n6++
				cands = append(cands, candidate{candHost, netip.AddrPortFrom(ip, port)})
			}
		}
	}
	if a.cfg.STUN == nil {
		return mapUnknown, cands
	}
	sctx, cancel := context.WithTimeout(ctx, stunBudget)
	defer cancel()
	all, err := a.cfg.STUN(sctx)
	var servers []netip.AddrPort
	for _, s := range all {
		s = netip.AddrPortFrom(s.Addr().Unmap(), s.Port())
		// IPv6 servers only from a host with an IPv6 address to offer:
		// elsewhere they would only hold the probe up.
		if s.Addr().Is4() || n6 > 0 {
			servers = append(servers, s)
		}
	}
	if err != nil || len(servers) == 0 {
		a.cfg.Logger.Debug("punch: no STUN servers", "err", err)
		return mapUnknown, cands
	}
	res, err := stun.Probe(sctx, &stunConn{s: sock}, servers)
	if err != nil {
		a.cfg.Logger.Debug("punch: STUN", "err", err)
		return mapBlocked, cands
	}
	// Each family on its own: the IPv4 answers say what the IPv4 NAT
	// does, the IPv6 ones what happens to IPv6 (mostly no translation
	// at all). The message carries the IPv4 mapping if IPv4 answered.
	mapping := byte(mapUnknown)
	for _, v4 := range []bool{false, true} {
		r, m := familyResult(res.Answers, v4)
		if !r.IsValid() {
			continue
		}
		if m != mapUnknown || v4 {
			mapping = m
		}
		if !slices.ContainsFunc(cands, func(c candidate) bool { return c.addr == r }) {
			cands = append(cands, candidate{candReflexive, r})
		}
	}
	return mapping, cands
}

// familyResult returns the first reflexive address the servers of one
// family (IPv4, or IPv6) saw, and the mapping their answers show: the
// same address from two servers is endpoint-independent, two addresses
// endpoint-dependent, fewer than two answers unknown.
func familyResult(answers []stun.Answer, v4 bool) (netip.AddrPort, byte) {
	var first netip.AddrPort
	mapping := byte(mapUnknown)
	for _, an := range answers {
		if !an.Mapped.IsValid() || an.Server.Addr().Unmap().Is4() != v4 {
			continue
		}
		r := netip.AddrPortFrom(an.Mapped.Addr().Unmap(), an.Mapped.Port())
		switch {
		case !first.IsValid():
			first = r
		case r != first:
			return first, mapDependent
		default:
			mapping = mapIndependent
		}
	}
	return first, mapping
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
