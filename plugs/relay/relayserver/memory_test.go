//go:build !js

package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary serve a relay alone (see TestMain).
const childEnv = "MULTISERVER_RELAY_TEST_CHILD"

// childAddrEnv, if set, is the address the child listens on.
const childAddrEnv = "MULTISERVER_RELAY_TEST_ADDR"

// memStats is what the child reports of itself.
type memStats struct {
	Heap, Stack, RSS uint64
	Goroutines       int
}

// serveChild serves a relay at /relay and its memory at /mem on
// loopback, prints the base URL, and runs until stdin closes.
func serveChild() {
	s, err := NewServer(Config{MaxConnsPerIP: 1 << 14}) // every client is on loopback
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", s)
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(memStats{Heap: ms.HeapInuse, Stack: ms.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()})
	})
	addr := os.Getenv(childAddrEnv)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic(err)
	}
	go (&http.Server{Handler: mux}).Serve(ln)
	fmt.Println("http://" + ln.Addr().String())
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// rss returns the process's resident set size from /proc, or 0.
func rss() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestIdlePairingMemory opens 1,000 idle pairings through a relay in a
// process of its own and reports what each costs the relay: Go heap and
// stacks (asserted to stay within 32 KiB) and RSS.
func TestIdlePairingMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1,000 pairings; memory figures mean nothing under -race")
	}
	const n = 1000
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	url := "ws" + strings.TrimPrefix(base, "http") + "/relay"
	mem := func() memStats {
		resp, err := http.Get(base + "/mem")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m memStats
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	id := newIdentity(t)
	reg := register(t, url, id, "noise")
	dialer := &Client{URL: url, Identity: newIdentity(t)}
	listener := &Client{URL: url, Identity: id}
	// Warm up (pools, the first pairing's allocations), then measure.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func(k int) {
		for range k {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			done := make(chan error, 1)
			go func() {
				c, err := dialer.Connect(ctx, id.Public(), "noise", randomStream())
				if err == nil {
					conns = append(conns, c)
				}
				done <- err
			}()
			a, err := listener.Accept(ctx, <-reg.Incoming())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, a)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			cancel()
		}
	}
	open(10)
	time.Sleep(100 * time.Millisecond)
	before := mem()
	open(n)
	time.Sleep(500 * time.Millisecond) // the handshakes' goroutines end
	after := mem()
	heap := (int64(after.Heap) - int64(before.Heap)) / n
	stack := (int64(after.Stack) - int64(before.Stack)) / n
	rssPer := (int64(after.RSS) - int64(before.RSS)) / n
	t.Logf("per idle pairing on the relay: heap %d B, stacks %d B, heap+stacks %d B, RSS %d B; goroutines %d → %d",
		heap, stack, heap+stack, rssPer, before.Goroutines, after.Goroutines)
	if heap+stack > 32<<10 {
		t.Errorf("an idle pairing costs the relay %d B of heap and stacks, want at most 32 KiB", heap+stack)
	}
	if g := (after.Goroutines - before.Goroutines) / n; g > 2 {
		t.Errorf("%d goroutines per idle pairing, want at most 2", g)
	}
}
