package multiserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/unix"
	"github.com/f7d52a8e/multiserver/plugs/ws"
)

// attacker is the second loopback address floods come from, so that a
// client on 127.0.0.1 is another source.
var attacker = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

// idleConns opens k TCP conns from the attacker to hostport that send
// nothing, and closes them at cleanup. It returns them.
func idleConns(t *testing.T, hostport string, k int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: attacker}
	conns := make([]net.Conn, 0, k)
	for range k {
		c, err := d.Dial("tcp", hostport)
		if err != nil {
			t.Fatalf("flood conn %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// closedBy counts the conns the server has closed within d.
func closedBy(conns []net.Conn, d time.Duration) int {
	var n atomic.Int32
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(deadline)
			if _, err := c.Read(make([]byte, 1)); err == io.EOF || err != nil && !isTimeout(err) {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// dialWithin dials addr and round-trips a message, all within d.
func dialWithin(t *testing.T, n *multiserver.Network, addr string, d time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := n.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial(%s) during the flood: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d))
	roundTrip(t, c, "through the flood")
	t.Logf("dial and round trip during the flood: %v", time.Since(start).Round(time.Millisecond))
}

// TestIdleFloodFromOneSource: 400 conns from one address that never
// send a byte must not delay a client from another address. Before the
// per-source budget they held all 256 handshake slots for the 10 s
// handshake timeout, and renewed them forever.
func TestIdleFloodFromOneSource(t *testing.T) {
	n := newNetwork(t, multiserver.Config{})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	echo(t, ln)
	hostport := strings.TrimSuffix(strings.TrimPrefix(ln.Address(multiserver.ScopeDevice), "net:"), "~hello")
	before := heapInUse()
	flood := idleConns(t, hostport, 400)
	dialWithin(t, n, ln.Address(multiserver.ScopeDevice), time.Second)
	// All but the source's budget are closed at once.
	if got := closedBy(flood, time.Second); got < 400-16 {
		t.Errorf("%d of 400 idle flood conns were closed within 1s, want at least %d", got, 400-16)
	}
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap in use grew by %d KiB under 400 idle conns", grown>>10)
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB under 400 idle conns", grown>>20)
	}
}

// TestFloodCannotStarveTheDevice: a flood from the network that fills the
// budget of the stacks the network reaches (MaxHandshakesPerSource
// disabled, as behind a reverse proxy) leaves a local unix client alone:
// it waited out the 10 s handshake timeout before.
func TestFloodCannotStarveTheDevice(t *testing.T) {
	n := newNetwork(t, multiserver.Config{
		// A public address: the listener serves peers on the network.
		Plugs:                  []multiserver.Plug{&tcp.Plug{External: []string{"203.0.113.5"}}, &unix.Plug{}},
		MaxHandshakesPerSource: -1,
	})
	sock := t.TempDir() + "/s.sock"
	ln := listen(t, n, "net:127.0.0.1:0~hello;unix:"+sock+"~noauth")
	echo(t, ln)
	dev := ln.Addresses(multiserver.ScopeDevice)
	hostport := strings.TrimSuffix(strings.TrimPrefix(dev[0].String(), "net:"), "~hello")
	flood := idleConns(t, hostport, 300)
	dialWithin(t, n, dev[1].String(), time.Second)
	if got := closedBy(flood, time.Second); got < 300-256 {
		t.Errorf("%d of 300 idle flood conns were closed within 1s, want the %d over the budget", got, 300-256)
	}
}

// upgrade sends a WebSocket upgrade for url from c and returns the status.
func upgrade(c net.Conn, host, path string, header map[string]string) (int, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", path, host)
	b.WriteString("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestUpgradeFloodFromOneSource: 3,000 WebSocket upgrades from one
// address, each left idle once upgraded, must not delay a client from
// another address nor pile up on the server: the listener upgrades only
// what it can take and answers the rest 503. Before, every request was
// upgraded and waited for a handshake slot without limit or timeout.
func TestUpgradeFloodFromOneSource(t *testing.T) {
	// Upgraded flood conns hold their handshake slots for the whole
	// timeout: make it outlast the flood on a slow machine.
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&ws.Plug{}}, HandshakeTimeout: time.Minute})
	ln := listen(t, n, "ws://127.0.0.1:0~hello")
	echo(t, ln)
	host := strings.TrimSuffix(strings.TrimPrefix(ln.Address(multiserver.ScopeDevice), "ws://"), "~hello")
	before := heapInUse()
	var (
		mu       sync.Mutex
		upgraded []net.Conn
		statuses = map[int]int{}
		wg       sync.WaitGroup
		next     atomic.Int32
	)
	d := net.Dialer{LocalAddr: attacker}
	for range 32 {
		wg.Go(func() {
			for next.Add(1) <= 3000 {
				c, err := d.Dial("tcp", host)
				if err != nil {
					t.Errorf("flood dial: %v", err)
					return
				}
				code, err := upgrade(c, host, "/", nil)
				mu.Lock()
				statuses[code]++
				if code == http.StatusSwitchingProtocols {
					upgraded = append(upgraded, c) // idle from here on
					c = nil
				}
				mu.Unlock()
				if c != nil {
					c.Close()
				}
				if err != nil {
					t.Errorf("flood upgrade: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range upgraded {
			c.Close()
		}
	})
	grown := int64(heapInUse()) - int64(before)
	t.Logf("3,000 upgrades from one source: %v by status; heap in use grew by %d KiB", statuses, grown>>10)
	if statuses[http.StatusSwitchingProtocols] > 16 {
		t.Errorf("%d upgrades from one source are in progress, want at most 16", statuses[http.StatusSwitchingProtocols])
	}
	if statuses[http.StatusServiceUnavailable] < 3000-16 {
		t.Errorf("%d upgrades answered 503, want the rest of 3,000", statuses[http.StatusServiceUnavailable])
	}
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB under the upgrade flood", grown>>20)
	}
	dialWithin(t, n, ln.Address(multiserver.ScopeDevice), time.Second)
}

// TestIdleFloodOnWebSocket: 400 TCP conns from one address that never
// send their request's header hold nothing the listener needs: the
// HTTP server reads each header on its own goroutine, bounded by its
// header timeout, so a client from another address still dials at once.
func TestIdleFloodOnWebSocket(t *testing.T) {
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&ws.Plug{}}})
	ln := listen(t, n, "ws://127.0.0.1:0~hello")
	echo(t, ln)
	host := strings.TrimSuffix(strings.TrimPrefix(ln.Address(multiserver.ScopeDevice), "ws://"), "~hello")
	before := heapInUse()
	idleConns(t, host, 400)
	dialWithin(t, n, ln.Address(multiserver.ScopeDevice), time.Second)
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap in use grew by %d KiB under 400 conns that send no header", grown>>10)
	if grown > 32<<20 {
		t.Errorf("heap grew by %d MiB under 400 idle conns", grown>>20)
	}
}

// TestAcceptBacklog: a Listener whose application does not Accept stops
// accepting on its stacks once AcceptBacklog conns wait for Accept, so
// later peers wait in the kernel's listen backlog, their handshakes not
// begun; each Accept lets one more in, and every dial completes.
func TestAcceptBacklog(t *testing.T) {
	const backlog, dials = 2, 8
	n := newNetwork(t, multiserver.Config{AcceptBacklog: backlog})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	addr := ln.Address(multiserver.ScopeDevice)
	var done atomic.Int32
	errs := make(chan error, dials)
	for i := range dials {
		go func() {
			// One after another, so that the backlog fills before the
			// last peers come (handshakes under way may pass it).
			time.Sleep(time.Duration(i) * 100 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := n.Dial(ctx, addr)
			if err == nil {
				done.Add(1)
				c.Close()
			}
			errs <- err
		}()
	}
	time.Sleep(time.Duration(dials)*100*time.Millisecond + 300*time.Millisecond)
	k := done.Load()
	t.Logf("%d of %d dials done while nobody accepts, with a backlog of %d", k, dials, backlog)
	if k < backlog || k >= dials {
		t.Fatalf("%d of %d dials done while nobody accepts, want the backlog (%d) and a few at most", k, dials, backlog)
	}
	for i := range dials {
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept %d: %v", i, err)
		}
		c.Close()
	}
	for range dials {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
