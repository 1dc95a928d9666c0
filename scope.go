package multiserver

import (
	"net"
	"net/netip"
	"slices"

	"github.com/f7d52a8e/multiserver/address"
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

// AdvertiseHosts returns the hosts a plug writes into the addresses it
// advertises in scope for a listener bound to bind, a host as the listen
// address gave it, so that every plug follows one rule:
//
//   - In ScopePublic, external (the names or addresses peers elsewhere
//     reach the listener by, behind NAT or a proxy) if not empty.
//   - An IP address as [ScopeAddrs] has it: an unspecified one expanded to
//     the interface addresses in scope, link-local ones left out, and its
//     zone dropped.
//   - "localhost", or an empty host (which JavaScript dials as localhost),
//     as "localhost" in ScopeDevice alone.
//   - Any other name as is, in every scope.
//
// IPv6 hosts are returned unbracketed; each plug writes them in its own
// grammar.
func AdvertiseHosts(scope Scope, bind string, external []string) []string {
	if scope == ScopePublic && len(external) > 0 {
		return slices.Clone(external)
	}
	ip, err := netip.ParseAddr(bind)
	if err != nil {
		if bind != "" && bind != "localhost" {
			return []string{bind}
		}
		if scope != ScopeDevice {
			return nil
		}
		return []string{"localhost"}
	}
	var hosts []string
	for _, a := range ScopeAddrs(scope, ip.WithZone("")) {
		hosts = append(hosts, a.String())
	}
	return hosts
}

// DeviceOnly returns segs in ScopeDevice and nothing in other scopes: the
// rule for a listener whose address means nothing off this machine (a
// unix socket, an in-memory name).
func DeviceOnly(scope Scope, segs ...address.Segment) []address.Segment {
	if scope != ScopeDevice {
		return nil
	}
	return segs
}
