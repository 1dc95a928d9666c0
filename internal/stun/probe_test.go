package stun

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func udpConn(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func addrOf(pc net.PacketConn) netip.AddrPort { return pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// fakeServer answers Binding requests on pc with mapped(source), and
// first drops the number of requests given.
func fakeServer(t *testing.T, pc net.PacketConn, drop int, mapped func(netip.AddrPort) netip.AddrPort) {
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := Decode(buf[:n])
			if err != nil || m.Type != BindingRequest {
				continue
			}
			if drop > 0 {
				drop--
				continue
			}
			src := from.(*net.UDPAddr).AddrPort()
			r := &Message{Type: BindingSuccess, ID: m.ID, Attrs: []Attr{{AttrXORMappedAddress, XORAddress(mapped(src), m.ID)}}}
			pc.WriteTo(r.Append(nil), from)
			// A stray answer with another id is ignored by Probe.
			r.ID[0] ^= 1
			pc.WriteTo(r.Append(nil), from)
		}
	}()
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestProbeDependent: two ports that see other ports of the client make
// the mapping endpoint-dependent; a lost first request is retransmitted.
func TestProbeDependent(t *testing.T) {
	a, b := udpConn(t), udpConn(t)
	fakeServer(t, a, 0, func(s netip.AddrPort) netip.AddrPort { return s })
	fakeServer(t, b, 1, func(s netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(s.Addr(), s.Port()+1) })
	pc := udpConn(t)
	res, err := Probe(ctxFor(t, 5*time.Second), pc, []netip.AddrPort{addrOf(a), addrOf(b)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mapping != MappingEndpointDependent || res.Answers[0].Mapped != addrOf(pc) || res.Answers[1].Mapped.Port() != addrOf(pc).Port()+1 {
		t.Fatalf("result %+v, want endpoint-dependent", res)
	}
}

// TestProbeStraggler: one port silent, the other answering: Probe returns
// the answer it has, mapping unknown, Straggler after it.
func TestProbeStraggler(t *testing.T) {
	a, silent := udpConn(t), udpConn(t)
	fakeServer(t, a, 0, func(s netip.AddrPort) netip.AddrPort { return s })
	pc := udpConn(t)
	start := time.Now()
	res, err := Probe(ctxFor(t, 10*time.Second), pc, []netip.AddrPort{addrOf(silent), addrOf(a)})
	took := time.Since(start)
	if err != nil || res.Mapping != MappingUnknown || res.Answers[0].Mapped.IsValid() || res.Reflexive() != addrOf(pc) {
		t.Fatalf("Probe = %+v, %v; want one answer, mapping unknown", res, err)
	}
	if took < Straggler || took > Straggler+time.Second {
		t.Errorf("took %v, want about %v", took, Straggler)
	}
}

// TestProbeUDPBlocked: nothing answering is ErrUDPBlocked, with the
// context's error when it ended first; requests follow the RTO.
func TestProbeUDPBlocked(t *testing.T) {
	silent, pc := udpConn(t), udpConn(t)
	_, err := Probe(ctxFor(t, 1200*time.Millisecond), pc, []netip.AddrPort{addrOf(silent)})
	if !errors.Is(err, ErrUDPBlocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Probe to a silent port: %v, want ErrUDPBlocked and the deadline", err)
	}
	t.Log(err)
	n := 0
	silent.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		if _, _, err := silent.ReadFrom(make([]byte, 1500)); err != nil {
			break
		}
		n++
	}
	if n != 2 { // at 0 and after the RTO of 500 ms; the next is due at 1.5 s
		t.Errorf("%d requests in 1.2 s, want 2", n)
	}
	// Cancelling wakes a Probe at once.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := Probe(ctx, pc, []netip.AddrPort{addrOf(silent)}); !errors.Is(err, context.Canceled) || time.Since(start) > 400*time.Millisecond {
		t.Errorf("cancelled Probe: %v after %v", err, time.Since(start))
	}
}
