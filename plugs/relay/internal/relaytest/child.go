//go:build !js

package relaytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// childEnv makes the test binary serve a relay alone (see [ServeChild]).
const childEnv = "MULTISERVER_RELAY_TEST_CHILD"

// childAddrEnv, if set, is the address the child listens on.
const childAddrEnv = "MULTISERVER_RELAY_TEST_ADDR"

// MemStats is what a child relay reports of itself at /mem.
type MemStats struct {
	Heap, Stack, RSS uint64
	Goroutines       int
}

// ServeChild, in a test binary that [StartChild] started, serves a relay
// at /relay and its memory at /mem on loopback, prints the base URL,
// runs until stdin closes and reports true; elsewhere it reports false
// at once. Call it first in TestMain, and return when it reports true.
func ServeChild() bool {
	if os.Getenv(childEnv) == "" {
		return false
	}
	s, err := relayserver.NewServer(relayserver.Config{MaxConnsPerIP: 1 << 14}) // every client is on loopback
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
		json.NewEncoder(w).Encode(MemStats{Heap: ms.HeapInuse, Stack: ms.StackInuse, RSS: rss(), Goroutines: runtime.NumGoroutine()})
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
	return true
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

// Child is a relay in a process of its own.
type Child struct {
	URL  string // ws://127.0.0.1:PORT/relay
	Base string // http://127.0.0.1:PORT, which serves /mem too
	Kill func() // kills it with SIGKILL, once; the test's cleanup calls it too
}

// StartChild runs a relay in a process of its own, the test binary
// again, on addr ("127.0.0.1:0" for any port, "" likewise), until the
// test ends or Kill: a relay killed so says nothing to anybody.
func StartChild(t testing.TB, addr string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if addr != "" {
		cmd.Env = append(cmd.Env, childAddrEnv+"="+addr)
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			stdin.Close()
		})
	}
	t.Cleanup(kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	return &Child{URL: "ws" + strings.TrimPrefix(base, "http") + "/relay", Base: base, Kill: kill}
}
