package multiserver

import (
	"net"
	"net/netip"
)

// ScopeOf returns the scope in which ip is reachable: loopback addresses
// are for the device, private and link-local ones for the local network,
// and the rest for the public.
func ScopeOf(ip netip.Addr) Scope {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return ScopeDevice
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), isShared(ip):
		return ScopeLocal
	}
	return ScopePublic
}

// cgnat is the shared address space of RFC 6598, private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func isShared(ip netip.Addr) bool { return cgnat.Contains(ip) }

// ScopeAddrs returns the addresses under which a listener bound to bind
// is reached by peers in scope. A specific address is returned as is, in
// its own scope and in ScopeDevice (a peer on the same machine reaches
// every address). An unspecified address (0.0.0.0 or ::) stands for the
// host's interface addresses of its family (:: stands for both), those in
// scope; link-local ones are left out, since they need a zone to dial.
func ScopeAddrs(scope Scope, bind netip.Addr) []netip.Addr {
	bind = bind.Unmap()
	if !bind.IsUnspecified() {
		if scope == ScopeDevice || ScopeOf(bind) == scope {
			return []netip.Addr{bind}
		}
		return nil
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ia := range ifaddrs {
		pfx, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(pfx.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if bind.Is4() && !ip.Is4() || ip.IsLinkLocalUnicast() || ScopeOf(ip) != scope {
			continue
		}
		out = append(out, ip)
	}
	return out
}
