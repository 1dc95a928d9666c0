//go:build !js

package relayserver_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/stun"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// stunResponder is a relay serving STUN on two loopback ports.
type stunResponder struct {
	srv   *relayserver.Server
	ports []netip.AddrPort
	errs  chan error // what each ServeSTUN returned
}

func startSTUN(t *testing.T, cfg relayserver.Config) *stunResponder {
	t.Helper()
	srv, err := relayserver.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &stunResponder{srv: srv, errs: make(chan error, 2)}
	for range 2 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.ports = append(r.ports, pc.LocalAddr().(*net.UDPAddr).AddrPort())
		go func() { r.errs <- srv.ServeSTUN(pc) }()
	}
	t.Cleanup(func() { r.close(t) })
	return r
}

// close closes the server and checks that both ServeSTUNs returned
// net.ErrClosed.
func (r *stunResponder) close(t *testing.T) {
	t.Helper()
	if r.srv == nil {
		return
	}
	r.srv.Close()
	r.srv = nil
	for range 2 {
		if err := <-r.errs; !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeSTUN after Close: %v, want net.ErrClosed", err)
		}
	}
}

// stats returns the server's counters once it counts responses
// responses: a client may read a response before it is counted.
func (r *stunResponder) stats(t *testing.T, responses int64) relayserver.Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := r.srv.Stats()
		if st.STUNResponses >= responses || time.Now().After(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}

func clientConn(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func probeCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestSTUNLoopback: Probe, from one socket to both ports of the relay's
// responder, finds its own socket's address from both, so the mapping
// is endpoint-independent.
func TestSTUNLoopback(t *testing.T) {
	r := startSTUN(t, relayserver.Config{})
	pc := clientConn(t)
	res, err := stun.Probe(probeCtx(t, 10*time.Second), pc, r.ports)
	if err != nil {
		t.Fatal(err)
	}
	self := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	for i, a := range res.Answers {
		t.Logf("%v saw %v (rtt %v)", a.Server, a.Mapped, a.RTT)
		if a.Server != r.ports[i] || a.Mapped != self {
			t.Errorf("answer %d: %+v, want %v seen by %v", i, a, self, r.ports[i])
		}
	}
	if res.Mapping != stun.MappingEndpointIndependent || res.Reflexive() != self {
		t.Errorf("mapping %v, reflexive %v; want endpoint-independent, %v", res.Mapping, res.Reflexive(), self)
	}
	if st := r.stats(t, 2); st.STUNRequests != 2 || st.STUNDropped != 0 {
		t.Errorf("stats %+v, want 2 requests, 2 responses", st)
	}
	// The read deadline Probe set is cleared.
	pc.WriteTo([]byte("x"), pc.LocalAddr())
	if _, _, err := pc.ReadFrom(make([]byte, 8)); err != nil {
		t.Errorf("reading after Probe: %v", err)
	}
}

// TestSTUNDropped: garbage, truncated, oversized and non-Binding packets
// get no response, and the responder still answers after them.
func TestSTUNDropped(t *testing.T) {
	r := startSTUN(t, relayserver.Config{STUNBurst: 100})
	pc := clientConn(t)
	id := stun.NewTransactionID()
	req := (&stun.Message{Type: stun.BindingRequest, ID: id, Fingerprint: true}).Append(nil)
	badFP := append([]byte(nil), req...)
	badFP[len(badFP)-1] ^= 1
	big := (&stun.Message{Type: stun.BindingRequest, ID: id, Attrs: []stun.Attr{{Type: 0x8030, Value: make([]byte, relayserver.MaxSTUNRequest)}}}).Append(nil)
	for _, p := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{},
		req[:19],
		req[:len(req)-4],
		badFP,
		big,
		(&stun.Message{Type: stun.BindingIndication, ID: id}).Append(nil),
		(&stun.Message{Type: stun.BindingSuccess, ID: id}).Append(nil),
	} {
		if _, err := pc.WriteTo(p, net.UDPAddrFromAddrPort(r.ports[0])); err != nil {
			t.Fatal(err)
		}
	}
	res, err := stun.Probe(probeCtx(t, 10*time.Second), pc, r.ports[:1])
	if err != nil || res.Reflexive() != pc.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("Probe after garbage: %+v, %v", res, err)
	}
	// Probe discards anything but its answer; the responder sent just one.
	if st := r.stats(t, 1); st.STUNRequests != 9 || st.STUNResponses != 1 || st.STUNDropped != 8 {
		t.Errorf("stats %+v, want 9 requests, 1 response, 8 dropped", st)
	}
	pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, from, err := pc.ReadFrom(make([]byte, 1500)); err == nil {
		t.Errorf("a second response of %d bytes from %v", n, from)
	}
}

// TestSTUNFlood: one source sending far over its rate gets about its
// burst answered, and the rest is dropped.
func TestSTUNFlood(t *testing.T) {
	const burst, flood = 5, 200
	r := startSTUN(t, relayserver.Config{STUNRate: 1, STUNBurst: burst})
	pc := clientConn(t)
	req := (&stun.Message{Type: stun.BindingRequest, ID: stun.NewTransactionID(), Fingerprint: true}).Append(nil)
	for range flood {
		pc.WriteTo(req, net.UDPAddrFromAddrPort(r.ports[0]))
	}
	got := 0
	pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 1500)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		if n > relayserver.MaxSTUNResponse {
			t.Errorf("a response of %d bytes, over %d", n, relayserver.MaxSTUNResponse)
		}
		got++
	}
	st := r.stats(t, int64(got))
	t.Logf("%d requests: %d answered, %d dropped by rate (%d read)", flood, got, st.STUNRateDrops, st.STUNRequests)
	if got < burst || got > burst+1 {
		t.Errorf("%d answers to a flood of %d, want the burst, %d", got, flood, burst)
	}
	if st.STUNRateDrops != st.STUNRequests-int64(got) {
		t.Errorf("stats %+v: every request but the %d answered should be dropped by rate", st, got)
	}
}

// TestServeSTUNAfterClose: a closed server closes the conn it is given.
func TestServeSTUNAfterClose(t *testing.T) {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	srv.Close()
	pc := clientConn(t)
	if err := srv.ServeSTUN(pc); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ServeSTUN after Close: %v, want net.ErrClosed", err)
	}
	if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the conn is still open: %v", err)
	}
}
