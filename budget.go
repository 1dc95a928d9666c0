package multiserver

import (
	"net"
	"net/netip"
	"sync"
)

// A budget bounds the inbound handshakes in progress: in all, and from
// one source (an IPv4 address or an IPv6 /64). Sources it cannot name
// (unix sockets, mem) count against the total only.
type budget struct {
	max, perSource int // perSource <= 0: no bound per source

	mu      sync.Mutex
	total   int
	sources map[netip.Prefix]int
}

func newBudget(max, perSource int) *budget {
	return &budget{max: max, perSource: perSource, sources: make(map[netip.Prefix]int)}
}

// sourceOf returns the source that remote counts against.
func sourceOf(remote net.Addr) (netip.Prefix, bool) {
	var ip netip.Addr
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case nil:
		return netip.Prefix{}, false
	default:
		ap, err := netip.ParseAddrPort(remote.String())
		if err != nil {
			return netip.Prefix{}, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	switch {
	case ip.Is4():
		return netip.PrefixFrom(ip, 32), true
	case ip.Is6():
		p, _ := ip.Prefix(64)
		return p, true
	}
	return netip.Prefix{}, false
}

// allows reports whether take would succeed now, without taking.
func (b *budget) allows(remote net.Addr) bool {
	src, ok := sourceOf(remote)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fits(src, ok)
}

func (b *budget) fits(src netip.Prefix, named bool) bool {
	if b.total >= b.max {
		return false
	}
	return !named || b.perSource <= 0 || b.sources[src] < b.perSource
}

// take reserves a handshake for remote, if the budget allows it. The
// caller gives it back with the returned func.
func (b *budget) take(remote net.Addr) (give func(), ok bool) {
	src, named := sourceOf(remote)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fits(src, named) {
		return nil, false
	}
	b.total++
	if named {
		b.sources[src]++
	}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.total--
		if named {
			if b.sources[src]--; b.sources[src] == 0 {
				delete(b.sources, src)
			}
		}
	}, true
}
