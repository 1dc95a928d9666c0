package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// The relay row, relay:ws~noise: a relay (package relayserver) on
// loopback, a listener that registers its noise stack through it with
// the relay plug, and a dialer that dials the listener's key through it.
// Noise runs end to end over the relay plug's resumable stream, which
// runs over two WebSockets (dialer to relay, relay to listener); the
// relay copies their messages.
//
// For the standard measures the relay runs in this process, next to the
// listener and the dialer (in the memory child too, so heap/conn and
// rss/conn count both ends and the relay's share). The relay's own cost
// per idle pairing is measured apart ([relayMemory]), with the relay in
// a process of its own: this program again, run as a relay.

func init() {
	extraPlugs = append(extraPlugs, func(id *keys.Identity) (multiserver.Plug, error) {
		return &relay.Plug{Identity: id}, nil
	})
}

// Relay measures: what one idle pairing costs the relay's process.
const (
	mRelayHeap       = "relay heap/pairing"
	mRelayRSS        = "relay rss/pairing"
	mRelayGoroutines = "relay goroutines/pairing"
)

// relayConfig is the relay's configuration in the suite: the defaults,
// but for the per-address limits, since every client is on loopback.
func relayConfig() relayserver.Config {
	return relayserver.Config{MaxConnsPerIP: 1 << 16, MaxUnauthenticated: 1 << 14, MaxRegistrationsPerIP: 1 << 10, MaxBridgeSessions: 1 << 16}
}

// localRelay is a relay served on loopback at /relay, with /mem.
type localRelay struct {
	srv  *relayserver.Server
	http *http.Server
	ln   net.Listener
	url  string // ws://127.0.0.1:PORT/relay
	base string // http://127.0.0.1:PORT
	done chan struct{}
}

// startRelay serves a relay on loopback.
func startRelay() (*localRelay, error) {
	srv, err := relayserver.NewServer(relayConfig())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", srv)
	mux.HandleFunc("/mem", func(w http.ResponseWriter, _ *http.Request) {
		m, err := snapshot()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(relayMem{Heap: m.heap, RSS: m.rss, Goroutines: m.goroutines})
	})
	r := &localRelay{srv: srv, http: &http.Server{Handler: mux}, ln: ln, done: make(chan struct{})}
	r.base = "http://" + ln.Addr().String()
	r.url = "ws://" + ln.Addr().String() + "/relay"
	go func() {
		defer close(r.done)
		r.http.Serve(ln)
	}()
	return r, nil
}

func (r *localRelay) close() error {
	err := r.srv.Close()
	r.http.Close()
	<-r.done
	return err
}

// relayed is the relay row's system: ours, through a relay.
type relayed struct {
	*ours
	relay *localRelay // nil when the relay runs elsewhere
}

// startRelayed starts a relay in this process and the row's listener and
// dialer through it.
func startRelayed(ctx context.Context) (system, error) {
	r, err := startRelay()
	if err != nil {
		return nil, err
	}
	s, err := startThrough(ctx, r.url)
	if err != nil {
		r.close()
		return nil, err
	}
	return &relayed{ours: s, relay: r}, nil
}

// startRelayedOver is startRelayed with both ends reaching the relay by
// carrier alone: "sse" or "poll", the relay's HTTP bridge (the rows
// relay:sse~noise and relay:poll~noise).
func startRelayedOver(ctx context.Context, carrier string) (system, error) {
	r, err := startRelay()
	if err != nil {
		return nil, err
	}
	s, err := startThrough(ctx, r.url, func(p multiserver.Plug) {
		if rp, ok := p.(*relay.Plug); ok {
			rp.Carriers = []string{carrier}
		}
	})
	if err != nil {
		r.close()
		return nil, err
	}
	return &relayed{ours: s, relay: r}, nil
}

// startThrough starts the row's listener and dialer through the relay
// at url.
func startThrough(ctx context.Context, url string, adjust ...func(multiserver.Plug)) (*ours, error) {
	sys, err := startOurs(ctx, "relay:"+url+"~noise", false, adjust...)
	if err != nil {
		return nil, err
	}
	return sys.(*ours), nil
}

func (s *relayed) close() error {
	err := s.ours.close()
	if s.relay != nil {
		err = errors.Join(err, s.relay.close())
	}
	return err
}

// relayChildEnv makes this program a relay alone: it serves one on
// loopback, prints its base URL and runs until its stdin closes.
const relayChildEnv = "MULTISERVER_BENCH_RELAY"

// relayMem is what a relay process reports of itself at /mem, after
// collecting garbage and returning free memory to the OS: bytes, and
// goroutines.
type relayMem struct {
	Heap       float64 `json:"heap"`
	RSS        float64 `json:"rss"`
	Goroutines float64 `json:"goroutines"`
}

// relayChildMain runs the relay child if this process is one, and
// reports whether it was.
func relayChildMain() bool {
	if os.Getenv(relayChildEnv) == "" {
		return false
	}
	r, err := startRelay()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(r.base)
	bufio.NewReader(os.Stdin).ReadString('\n')
	r.close()
	return true
}

// relayChild is a relay in a process of its own.
type relayChild struct {
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	url   string // ws://127.0.0.1:PORT/relay
	base  string // http://127.0.0.1:PORT
}

// startRelayChild runs this program again as a relay.
func startRelayChild(ctx context.Context) (*relayChild, error) {
	cmd, err := selfCommand(ctx, relayChildEnv+"=1")
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &relayChild{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("relay child: %w", err)
	}
	c.base = strings.TrimSpace(line)
	c.url = "ws" + strings.TrimPrefix(c.base, "http") + "/relay"
	return c, nil
}

// stop ends the child: it closes the relay when its stdin closes.
func (c *relayChild) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

func (c *relayChild) mem(ctx context.Context) (relayMem, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/mem", nil)
	if err != nil {
		return relayMem{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return relayMem{}, err
	}
	defer resp.Body.Close()
	var m relayMem
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("relay child /mem: %s", resp.Status)
	}
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// relayMemory measures what n idle pairings cost a relay in a process
// of its own: it opens them through the row's stack (the listener and
// the dialer in this process), each a relayed net~noise conn that has
// carried a 1-byte echo and stays open, and returns the relay process's
// live heap (KiB), VmRSS (KiB) and goroutines after minus before,
// divided by n.
func relayMemory(ctx context.Context, n int) ([]float64, error) {
	child, err := startRelayChild(ctx)
	if err != nil {
		return nil, err
	}
	defer child.stop()
	sys, err := startThrough(ctx, child.url)
	if err != nil {
		return nil, err
	}
	defer sys.close()
	var conns []conn
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	var mu sync.Mutex
	open := func(k int) error {
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for w := range errs {
			wg.Go(func() {
				for i := w; i < k; i += len(errs) {
					c, err := sys.dial(ctx, i)
					if err != nil {
						errs[w] = err
						return
					}
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
					if err := echoOnce(c); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// Warm up: the listener's registration, the relay's first pairings.
	if err := open(4); err != nil {
		return nil, err
	}
	time.Sleep(100 * time.Millisecond)
	before, err := child.mem(ctx)
	if err != nil {
		return nil, err
	}
	if err := open(n); err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond) // the handshakes' goroutines end
	after, err := child.mem(ctx)
	if err != nil {
		return nil, err
	}
	per := func(a, b float64) float64 { return (b - a) / float64(n) }
	return []float64{
		per(before.Heap, after.Heap) / 1024,
		per(before.RSS, after.RSS) / 1024,
		per(before.Goroutines, after.Goroutines),
	}, nil
}

// relayJobs are the relay row's measures beyond the standard ones.
func relayJobs(r row, o *options) []job {
	note := fmt.Sprintf("%d idle pairings, the relay in a process of its own", o.memConns)
	heap := fig(r, mRelayHeap, "KiB/pairing", true)
	heap.Note = note
	rss := fig(r, mRelayRSS, "KiB/pairing", true)
	rss.Note = note
	return []job{{
		figs: []*figure{heap, rss, fig(r, mRelayGoroutines, "", true)},
		run:  func(ctx context.Context) ([]float64, error) { return relayMemory(ctx, o.memConns) },
	}}
}
