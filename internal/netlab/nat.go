//go:build linux

package netlab

import (
	"fmt"
	"net/netip"
	"testing"
)

// A World is a small internet for NAT tests: a public namespace at
// PublicAddr (where a relay and its STUN run) behind a router, Inet, to
// which sites are joined, each a NAT router with one host on its LAN:
//
//	Public 203.0.113.10 ── Inet ──┬─ wan0 100.64.N.2 [NAT] lan0 10.N.0.1 ── eth0 10.N.0.2 Host
//	                              └─ ...
type World struct {
	Public, Inet *Namespace
	prefix       string
	sites        int
}

// PublicAddr is the address of the World's public namespace.
const PublicAddr = "203.0.113.10"

// NewWorld builds the public side of a World; it needs iptables for
// its sites. Everything goes when the test ends.
func NewWorld(t testing.TB) *World {
	t.Helper()
	Require(t, "iptables")
	p := Prefix("msw")
	w := &World{Public: New(t, p+"pub"), Inet: New(t, p+"inet"), prefix: p}
	Link(t, w.Public, "eth0", PublicAddr+"/24", w.Inet, "pub0", "203.0.113.1/24")
	for _, c := range [][]string{
		{"ip", "-n", w.Public.Name, "route", "add", "default", "via", "203.0.113.1"},
		{"ip", "netns", "exec", w.Inet.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
	} {
		if err := Run(c...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// NAT kinds of a Site.
const (
	// Cone is MASQUERADE: one mapping per source, kept for every
	// destination (endpoint-independent), and the source port kept
	// when it is free.
	Cone = "cone"
	// Symmetric is MASQUERADE --random-fully: a random port per
	// destination (endpoint-dependent).
	Symmetric = "symmetric"
	// TCP443 is a cone that lets out only TCP to port 443.
	TCP443 = "tcp443"
)

// A Site is a NAT router and the host on its LAN.
type Site struct {
	Host, NAT *Namespace
	LAN       netip.Addr // the host's address
	WAN       netip.Addr // the NAT's public address
}

// Site adds a site with a NAT of kind (Cone, Symmetric, TCP443) that
// drops loss (0 to 1) of the packets its host sends, at random
// (iptables' statistic match: this lab does not need netem). The
// router's filter passes what the LAN started and drops every
// unsolicited packet in INPUT, so that a hole-punching probe that comes
// early leaves no conntrack entry that would make the NAT remap the
// host's own probes.
func (w *World) Site(t testing.TB, kind string, loss float64) *Site {
	t.Helper()
	w.sites++
	n := w.sites
	nat := New(t, fmt.Sprintf("%sn%d", w.prefix, n))
	host := New(t, fmt.Sprintf("%sh%d", w.prefix, n))
	wan, lan := fmt.Sprintf("100.64.%d.", n), fmt.Sprintf("10.%d.0.", n)
	Link(t, w.Inet, fmt.Sprintf("n%d", n), wan+"1/24", nat, "wan0", wan+"2/24")
	Link(t, nat, "lan0", lan+"1/24", host, "eth0", lan+"2/24")
	ipt := func(args ...string) []string {
		return append([]string{"ip", "netns", "exec", nat.Name, "iptables"}, args...)
	}
	masq := []string{"-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"}
	if kind == Symmetric {
		masq = append(masq, "--random-fully")
	}
	out := []string{"-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-j", "ACCEPT"}
	if kind == TCP443 {
		out = []string{"-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-p", "tcp", "--dport", "443", "-j", "ACCEPT"}
	}
	cmds := [][]string{
		{"ip", "-n", nat.Name, "route", "add", "default", "via", wan + "1"},
		{"ip", "-n", host.Name, "route", "add", "default", "via", lan + "1"},
		{"ip", "netns", "exec", nat.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		ipt("-P", "FORWARD", "DROP"),
		ipt("-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		ipt(out...),
		ipt("-A", "INPUT", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		ipt("-A", "INPUT", "-i", "wan0", "-j", "DROP"),
		ipt(masq...),
	}
	if loss > 0 {
		cmds = append(cmds, ipt("-t", "mangle", "-A", "PREROUTING", "-i", "lan0", "-m", "statistic",
			"--mode", "random", "--probability", fmt.Sprint(loss), "-j", "DROP"))
	}
	for _, c := range cmds {
		if err := Run(c...); err != nil {
			Unavailable(t, err.Error())
		}
	}
	return &Site{Host: host, NAT: nat, LAN: netip.MustParseAddr(lan + "2"), WAN: netip.MustParseAddr(wan + "2")}
}

// AddIPv6 gives the host of site s a global IPv6 address, 2001:db8:N::2,
// routed through its router to Inet (2001:db8:ff:N::/64 between them)
// with no translation: the router is, for IPv6, only a stateful firewall
// (ip6tables) that passes what its LAN sends and the packets of
// connections the LAN started (ESTABLISHED, RELATED), and drops every
// other packet from outside, as home routers do. It returns the host's
// address. Addresses skip duplicate address detection, so they are
// usable at once.
func (w *World) AddIPv6(t testing.TB, s *Site) netip.Addr {
	t.Helper()
	Require(t, "ip6tables")
	n := int(s.WAN.As4()[2])
	lan, link := fmt.Sprintf("2001:db8:%d::", n), fmt.Sprintf("2001:db8:ff:%d::", n)
	ip6t := func(args ...string) []string {
		return append([]string{"ip", "netns", "exec", s.NAT.Name, "ip6tables"}, args...)
	}
	sysctl := func(ns *Namespace) []string {
		return []string{"ip", "netns", "exec", ns.Name, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"}
	}
	for _, c := range [][]string{
		{"ip", "-n", w.Inet.Name, "addr", "add", link + "1/64", "dev", fmt.Sprintf("n%d", n), "nodad"},
		{"ip", "-n", s.NAT.Name, "addr", "add", link + "2/64", "dev", "wan0", "nodad"},
		{"ip", "-n", s.NAT.Name, "addr", "add", lan + "1/64", "dev", "lan0", "nodad"},
		{"ip", "-n", s.Host.Name, "addr", "add", lan + "2/64", "dev", "eth0", "nodad"},
		{"ip", "-n", s.Host.Name, "-6", "route", "add", "default", "via", lan + "1"},
		{"ip", "-n", s.NAT.Name, "-6", "route", "add", "default", "via", link + "1"},
		{"ip", "-n", w.Inet.Name, "-6", "route", "add", lan + "/64", "via", link + "2"},
		sysctl(w.Inet),
		sysctl(s.NAT),
		ip6t("-P", "FORWARD", "DROP"),
		ip6t("-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		ip6t("-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-j", "ACCEPT"),
	} {
		if err := Run(c...); err != nil {
			Unavailable(t, err.Error())
		}
	}
	return netip.MustParseAddr(lan + "2")
}
