//go:build linux

package relayserver_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/netlab"
	"github.com/f7d52a8e/multiserver/internal/stun"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// TestSTUNThroughNAT runs the relay's STUN responder in a "public"
// namespace and Probe in a client namespace behind a Linux NAT router,
// in three namespaces of a lab of their own:
//
//	public  pub0 203.0.113.10/24 <-> wan0 203.0.113.1/24  router  lan0 10.77.1.1/24 <-> eth0 10.77.1.2/24  client
//
// The router forwards and masquerades out of wan0. MASQUERADE keeps the
// client's port, one mapping for every destination: both STUN ports see
// the same address (endpoint-independent). MASQUERADE --random-fully
// picks a port per connection: the two ports see two (symmetric).
func TestSTUNThroughNAT(t *testing.T) {
	netlab.Require(t, "iptables")
	p := netlab.Prefix("mss")
	public, router, client := netlab.New(t, p+"p"), netlab.New(t, p+"r"), netlab.New(t, p+"c")
	netlab.Link(t, public, "pub0", "203.0.113.10/24", router, "wan0", "203.0.113.1/24")
	netlab.Link(t, router, "lan0", "10.77.1.1/24", client, "eth0", "10.77.1.2/24")
	for _, s := range [][]string{
		{"ip", "-n", client.Name, "route", "add", "default", "via", "10.77.1.1"},
		{"ip", "netns", "exec", router.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
	} {
		if err := netlab.Run(s...); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	var ports []netip.AddrPort
	for range 2 {
		pc, err := public.ListenPacket(ctx, "udp4", "203.0.113.10:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, pc.LocalAddr().(*net.UDPAddr).AddrPort())
		go func() { served <- srv.ServeSTUN(pc) }()
	}
	defer func() {
		srv.Close()
		<-served
		<-served
	}()

	for _, tt := range []struct {
		name string
		rule []string // POSTROUTING's rule
		want stun.Mapping
	}{
		{"masquerade", []string{"-j", "MASQUERADE"}, stun.MappingEndpointIndependent},
		{"random-fully", []string{"-j", "MASQUERADE", "--random-fully"}, stun.MappingEndpointDependent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rule := append([]string{"iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0"}, tt.rule...)
			if err := router.Exec(rule...); err != nil {
				netlab.Unavailable(t, err.Error())
			}
			defer func() {
				rule[3] = "-D"
				if err := router.Exec(rule...); err != nil {
					t.Fatal(err)
				}
			}()
			// A new socket, so a new port: conntrack keeps the mappings
			// of the last subtest's for 30 s.
			pc, err := client.ListenPacket(ctx, "udp4", "10.77.1.2:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			local := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			res, err := stun.Probe(ctx, pc, ports)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Answers {
				t.Logf("%s: from %v, %v saw %v", tt.name, local, a.Server, a.Mapped)
				if a.Mapped.Addr() != netip.MustParseAddr("203.0.113.1") {
					t.Errorf("%v saw %v, want the router's address 203.0.113.1", a.Server, a.Mapped)
				}
			}
			t.Logf("%s: mapping %v", tt.name, res.Mapping)
			if res.Mapping != tt.want {
				t.Errorf("mapping %v, want %v", res.Mapping, tt.want)
			}
		})
	}
}
