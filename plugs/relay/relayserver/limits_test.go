//go:build !js

package relayserver_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// closeIdle is the status both sides of an idle pairing get
// (spec/relay.md §3.5).
const closeIdle websocket.StatusCode = 4002

// TestIdlePairing: a pairing that carries nothing for the idle timeout
// is closed on both sides with 4002; one that carries a little now and
// then outlives the timeout many times over.
func TestIdlePairing(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	r := relaytest.Start(t, relayserver.Config{IdlePairingTimeout: timeout})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")

	busyD, busyA := relaytest.Pair(t, r.URL, id, reg, "noise")
	idleD, idleA := relaytest.Pair(t, r.URL, id, reg, "noise")
	start := time.Now()
	type end struct {
		err   error
		after time.Duration
	}
	ended := make(chan end, 2)
	for _, c := range []net.Conn{idleD, idleA} {
		go func() {
			_, err := io.ReadAll(c)
			ended <- end{err, time.Since(start)}
		}()
	}
	// The busy pairing sends a byte each way every timeout/3, for four
	// timeouts.
	buf := make([]byte, 1)
	for range 12 {
		time.Sleep(timeout / 3)
		if _, err := busyD.Write([]byte{1}); err != nil {
			t.Fatalf("the busy pairing, dialer side: %v", err)
		}
		if _, err := io.ReadFull(busyA, buf); err != nil {
			t.Fatalf("the busy pairing, listener side: %v", err)
		}
		if _, err := busyA.Write([]byte{2}); err != nil {
			t.Fatalf("the busy pairing, listener side: %v", err)
		}
		if _, err := io.ReadFull(busyD, buf); err != nil {
			t.Fatalf("the busy pairing, dialer side: %v", err)
		}
	}
	// Each idle side's end is timed where it is read, not after the busy
	// pairing's twelve round trips, which take more than four timeouts
	// on a loaded machine.
	for range 2 {
		e := <-ended
		if websocket.CloseStatus(e.err) != closeIdle {
			t.Errorf("an idle pairing ended with %v, want status %d", e.err, closeIdle)
		}
		if e.after > 4*timeout+time.Second {
			t.Errorf("the idle pairing lasted %v with a timeout of %v", e.after, timeout)
		}
	}
	// The relay forgets a pairing once both its sides have ended.
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Pairings > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := r.Stats(); st.IdleClosed != 1 || st.Pairings != 1 {
		t.Errorf("Stats() = %+v, want 1 pairing closed as idle and 1 open", st)
	}
}

// TestIdlePairingDisabled: with a negative timeout an idle pairing
// stays.
func TestIdlePairingDisabled(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{IdlePairingTimeout: -1})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
	time.Sleep(300 * time.Millisecond)
	d.Write([]byte("still"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(a, buf); err != nil {
		t.Fatalf("a pairing with the idle timeout off: %v", err)
	}
}

// TestPairingRate: a rate-limited pairing moves 256 KiB at about
// 256 KiB/s in each direction; a pairing of an unlimited relay moves it
// faster than that.
func TestPairingRate(t *testing.T) {
	t.Parallel()
	const (
		size  = 256 << 10
		rate  = 256 << 10 // the floor, near a second, dwarfs the unlimited move even under load
		burst = 32 << 10
	)
	// The first burst passes at once, the rest at the rate.
	floor := time.Duration(float64(size-burst) / rate * float64(time.Second))
	move := func(cfg relayserver.Config) time.Duration {
		r := relaytest.Start(t, cfg)
		id := relaytest.NewIdentity(t)
		reg := relaytest.Register(t, r.URL, id, "noise")
		d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
		data := bytes.Repeat([]byte("relay"), size/5+1)[:size]
		start := time.Now()
		errs := make(chan error, 2)
		for _, dir := range [][2]net.Conn{{d, a}, {a, d}} {
			go func() {
				_, err := dir[0].Write(data)
				errs <- err
			}()
		}
		for _, c := range []net.Conn{a, d} {
			got := make([]byte, size)
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes through the relay: %v, or not what was sent", size, err)
			}
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	limited := move(relayserver.Config{PairingRate: rate, PairingBurst: burst})
	unlimited := move(relayserver.Config{})
	t.Logf("256 KiB each way: %v at 256 KiB/s (at least %v), %v unlimited", limited, floor, unlimited)
	if limited < floor*9/10 || limited > floor*4+time.Second {
		t.Errorf("the limited pairing took %v, want about %v", limited, floor)
	}
	if unlimited >= floor {
		t.Errorf("the unlimited pairing took %v, as long as the limited one should (%v)", unlimited, floor)
	}
}

// TestPairingRateShutdown: a pairing waiting for its rate does not hold
// up a Shutdown whose deadline has passed.
func TestPairingRateShutdown(t *testing.T) {
	t.Parallel()
	// The first 4 KiB pass at once, then each piece of 4 KiB waits 4s.
	r := relaytest.Start(t, relayserver.Config{PairingRate: 1 << 10, PairingBurst: 4 << 10})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
	const size = 64 << 10 // a minute at 1 KiB/s
	go d.Write(make([]byte, size))
	go io.Copy(io.Discard, d) // answers the relay's close frame
	if _, err := io.ReadFull(a, make([]byte, 4<<10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r.Close()
	took := time.Since(start)
	t.Logf("Close took %v", took)
	if took > closeGrace {
		t.Errorf("Close took %v with a pairing waiting for its rate", took)
	}
	if n, _ := io.Copy(io.Discard, a); n >= size-4<<10 {
		t.Errorf("the listener read the rest, %d bytes, after Close", n)
	}
}

// closeGrace is how long a forced Shutdown waits for the close frames of
// the pairings it ends to be answered.
const closeGrace = time.Second

// TestCollector gathers the relay's metrics from a registry of the
// test's after a pairing.
func TestCollector(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	metrics := prometheus.NewPedanticRegistry()
	metrics.MustRegister(r.Collector())
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
	d.Write([]byte("hello"))
	io.ReadFull(a, make([]byte, 5))
	d.Close()
	io.ReadAll(a)
	// The relay counts the pairing's end once both its sides have.
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Pairings > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	dialer := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}
	if _, err := dialer.Connect(relaytest.Context(t), id.Public(), "shs", relaytest.RandomStream()); !errors.Is(err, relay.ErrNoPeer) {
		t.Fatalf("CONNECT for a label nobody registered = %v, want NO_PEER", err)
	}

	want := `
# HELP multiserver_relay_pairings_total Pairings made.
# TYPE multiserver_relay_pairings_total counter
multiserver_relay_pairings_total 1
# HELP multiserver_relay_pairings Pairings open.
# TYPE multiserver_relay_pairings gauge
multiserver_relay_pairings 0
# HELP multiserver_relay_registrations Control connections registered.
# TYPE multiserver_relay_registrations gauge
multiserver_relay_registrations 1
# HELP multiserver_relay_forwarded_bytes_total Payload bytes forwarded between paired WebSockets, by direction: to_listener, to_dialer.
# TYPE multiserver_relay_forwarded_bytes_total counter
multiserver_relay_forwarded_bytes_total{direction="to_dialer"} 0
multiserver_relay_forwarded_bytes_total{direction="to_listener"} 5
`
	if err := testutil.GatherAndCompare(metrics, strings.NewReader(want),
		"multiserver_relay_pairings_total", "multiserver_relay_pairings", "multiserver_relay_registrations",
		"multiserver_relay_forwarded_bytes_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(metrics, "multiserver_relay_denied_total"); err != nil || n != 10 {
		t.Errorf("multiserver_relay_denied_total has %d series (%v), want one per code, 10", n, err)
	}
	mfs, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "multiserver_relay_denied_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel()[0]; l.GetValue() == "no_peer" && m.GetCounter().GetValue() != 1 {
				t.Errorf("denied{code=no_peer} = %v, want 1", m.GetCounter().GetValue())
			}
		}
	}
	if problems, err := testutil.GatherAndLint(metrics); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestPairingBytes: each open pairing has its own byte counters in the
// metrics, labelled by its stream, and they go when it closes, so that
// the series stay as many as the open pairings.
func TestPairingBytes(t *testing.T) {
	t.Parallel()
	r := relaytest.Start(t, relayserver.Config{})
	metrics := prometheus.NewPedanticRegistry()
	metrics.MustRegister(r.Collector())
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	d1, a1 := relaytest.Pair(t, r.URL, id, reg, "noise")
	d2, a2 := relaytest.Pair(t, r.URL, id, reg, "noise")
	d1.Write([]byte("hello"))
	io.ReadFull(a1, make([]byte, 5))
	a2.Write([]byte("hi"))
	io.ReadFull(d2, make([]byte, 2))
	const name = "multiserver_relay_pairing_forwarded_bytes_total"
	mfs, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var pairing, dir string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "pairing":
					pairing = l.GetValue()
				case "direction":
					dir = l.GetValue()
				}
			}
			got[pairing+" "+dir] = m.GetCounter().GetValue()
		}
	}
	var fives, twos int
	for k, v := range got {
		switch {
		case strings.HasSuffix(k, "to_listener") && v == 5:
			fives++
		case strings.HasSuffix(k, "to_dialer") && v == 2:
			twos++
		}
	}
	if len(got) != 4 || fives != 1 || twos != 1 {
		t.Errorf("%s = %v; want 4 series, 5 bytes to one listener and 2 to the other dialer", name, got)
	}
	for _, c := range []io.Closer{d1, a1, d2, a2} {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Pairings > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, err := testutil.GatherAndCount(metrics, name); err != nil || n != 0 {
		t.Errorf("%s has %d series after the pairings closed (%v), want 0", name, n, err)
	}
}
