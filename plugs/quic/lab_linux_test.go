//go:build linux

package quic_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/netlab"
	"github.com/f7d52a8e/multiserver/plugs/quic"
)

// A lab is two network namespaces joined by a veth pair that loses a
// share of the packets in each direction:
//
//	namespace A  veth "lab0" 10.99.0.1/24 <-> veth "lab0" 10.99.0.2/24  namespace B
//
// Both ends of the pair are made inside the lab's namespaces, so nothing
// is added to, or routed through, the host's own network.
type lab struct {
	a, b   *netns
	method string // how loss is made: "netem" or "iptables"
}

// A netns is a namespace of a lab, with its address on the link.
type netns struct {
	*netlab.Namespace
	addr string
}

// labIface is the veth end in each namespace (names are per namespace).
const labIface = "lab0"

// newLab builds a lab whose link loses lossPercent of the packets in
// each direction, and removes it when the test ends, failed or not.
// It needs root and iproute2 ("ip", and "tc" for netem); where the
// kernel lacks netem, it drops packets with iptables' statistic match
// instead. Without them the test is skipped, or fails under
// MULTISERVER_INTEROP=1.
func newLab(t *testing.T, lossPercent float64) *lab {
	t.Helper()
	netlab.Require(t)
	prefix := netlab.Prefix("msq")
	l := &lab{
		a: &netns{netlab.New(t, prefix+"a"), "10.99.0.1"},
		b: &netns{netlab.New(t, prefix+"b"), "10.99.0.2"},
	}
	netlab.Link(t, l.a.Namespace, labIface, l.a.addr+"/24", l.b.Namespace, labIface, l.b.addr+"/24")
	l.makeLoss(t, lossPercent, func(why string) { t.Helper(); netlab.Unavailable(t, why) })
	return l
}

// makeLoss makes each direction of the link lose lossPercent of its
// packets: with netem on each end's egress if the kernel has it, else
// with iptables on each end's ingress.
func (l *lab) makeLoss(t *testing.T, lossPercent float64, unavailable func(string)) {
	t.Helper()
	loss := strconv.FormatFloat(lossPercent, 'f', -1, 64) + "%"
	var netemErr error
	for _, ns := range []*netns{l.a, l.b} {
		if netemErr = netlab.Run("tc", "-n", ns.Name, "qdisc", "add", "dev", labIface, "root", "netem", "loss", loss); netemErr != nil {
			break
		}
	}
	if netemErr == nil {
		l.method = "netem"
		return
	}
	// This kernel has no netem (CONFIG_NET_SCH_NETEM), or there is no tc:
	// drop at random as packets arrive, in each end's INPUT chain, so that
	// each direction loses its share. (Not in OUTPUT: a packet dropped
	// there fails the sender's sendmsg with EPERM, which a link never
	// does, and which QUIC rightly treats as fatal.)
	prob := strconv.FormatFloat(lossPercent/100, 'f', -1, 64)
	for _, ns := range []*netns{l.a, l.b} {
		exec.Command("tc", "-n", ns.Name, "qdisc", "del", "dev", labIface, "root").Run()
		err := ns.Exec("iptables", "-A", "INPUT", "-i", labIface,
			"-m", "statistic", "--mode", "random", "--probability", prob, "-j", "DROP")
		if err != nil {
			unavailable(fmt.Sprintf("no way to drop packets: netem: %v; iptables: %v", netemErr, err))
		}
	}
	l.method = "iptables"
}

// dropped returns how many packets the lab's links have dropped.
func (l *lab) dropped(t *testing.T) int {
	t.Helper()
	total := 0
	for _, ns := range []*netns{l.a, l.b} {
		var out []byte
		var err error
		if l.method == "netem" {
			out, err = exec.Command("tc", "-s", "-n", ns.Name, "qdisc", "show", "dev", labIface).Output()
		} else {
			out, err = exec.Command("ip", "netns", "exec", ns.Name, "iptables", "-L", "INPUT", "-v", "-x", "-n").Output()
		}
		if err != nil {
			t.Fatalf("reading the drop counters of %s: %v", ns.Name, err)
		}
		total += parseDropped(l.method, out)
	}
	return total
}

// parseDropped finds the drop count in the output of tc -s (", dropped N,")
// or iptables -L -v -x (the packet count of the DROP rule).
func parseDropped(method string, out []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i, w := range f {
			if method == "netem" && w == "dropped" && i+1 < len(f) {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i+1], ","))
				return n
			}
			if method == "iptables" && w == "DROP" && i >= 2 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// listenIn returns a Config.ListenPacket that opens sockets in ns.
func (ns *netns) listenIn() func(ctx context.Context, network, address string) (net.PacketConn, error) {
	return ns.ListenPacket
}

// TestLossyLink moves 32 MiB each way at once over one stream across a
// link that loses 1% of the packets in each direction, between a
// server and a client in two network namespaces, and checks every byte
// with SHA-256.
func TestLossyLink(t *testing.T) {
	const size = 32 << 20
	// Without GSO, every datagram is a packet of its own on the link, so
	// the link loses 1% of the datagrams. With GSO, quic-go hands the
	// kernel up to ten datagrams at once, which a veth pair carries as
	// one packet, and the link would lose whole batches.
	t.Setenv("QUIC_GO_DISABLE_GSO", "true")
	l := newLab(t, 1)
	server := newPlug(t, quic.Config{ListenPacket: l.a.listenIn()})
	client := newPlug(t, quic.Config{ListenPacket: l.b.listenIn()})
	ln := listen(t, server, "quic:"+l.a.addr+":0")
	type result struct {
		err  error
		sent uint64
	}
	results := make(chan result, 1)
	serve(t, ln, func(c net.Conn) {
		conn, _ := multiserver.SessionOf(c)
		err := exchange(c, size)
		results <- result{err, conn.(*quic.Conn).QUICConn().ConnectionStats().PacketsSent}
	})
	target := advertised(t, ln)
	if !strings.HasPrefix(target.String(), "quic:"+l.a.addr+":") {
		t.Fatalf("the server advertises %s, want its lab address %s", target, l.a.addr)
	}
	c := dial(t, client, target)
	conn, _ := multiserver.SessionOf(c)
	qc := conn.(*quic.Conn).QUICConn()
	if err := exchange(c, size); err != nil {
		t.Fatalf("client: %v", err)
	}
	r := <-results
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	sent := qc.ConnectionStats().PacketsSent + r.sent
	dropped := l.dropped(t)
	t.Logf("loss by %s: the link dropped %d of %d packets (%.2f%%)", l.method, dropped, sent, 100*float64(dropped)/float64(sent))
	if dropped == 0 {
		t.Fatalf("the lab dropped no packets (%s): the link was not lossy", l.method)
	}
}
