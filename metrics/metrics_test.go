package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/metrics"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/quic"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// network returns a Network of net, shs, noise and yamux with app key
// app, counting into stats (nil: not counting).
func network(t *testing.T, app []byte, stats *multiserver.Stats) *multiserver.Network {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), app)
	if err != nil {
		t.Fatal(err)
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:            []multiserver.Plug{&tcp.Plug{}},
		Transforms:       []multiserver.Transform{st, nz},
		Muxers:           []multiserver.Muxer{&yamux.Muxer{}},
		Stats:            stats,
		HandshakeTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// scrape serves reg over HTTP, as a program would, and returns the text
// a Prometheus server reads.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantLines fails unless every line of want is a line of text.
func wantLines(t *testing.T, text string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for l := range strings.Lines(text) {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("metrics lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("scraped:\n%s", text)
	}
}

// eventually polls f until it holds or 10s pass: the server counts a
// failed handshake after the client has seen it fail.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestScrape(t *testing.T) {
	ctx := context.Background()
	app := keys.OpenNetwork()
	serverStats, clientStats := multiserver.NewStats(), multiserver.NewStats()
	server, client := network(t, app, serverStats), network(t, app, clientStats)
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	list := ln.Addresses(multiserver.ScopeDevice)
	shsAddr, muxAddr := list[0].String(), list[1].String()

	// Two conns over shs: 5 bytes one way, 3 the other; one stays open.
	for i := range 2 {
		c, err := client.Dial(ctx, shsAddr)
		if err != nil {
			t.Fatal(err)
		}
		s := <-accepted
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("hey")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 3)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if i == 0 {
			s.Close()
		} else {
			defer s.Close()
		}
	}
	// A session with two streams open.
	sess, err := client.DialSession(ctx, muxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for range 2 {
		st, err := sess.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		st.Write([]byte{1}) // a yamux stream reaches Accept once it carries data
		s := <-accepted
		defer s.Close()
	}

	// A peer of another network (wrong app key) fails the handshake.
	other := network(t, []byte(strings.Repeat("x", 32)), nil)
	if _, err := other.Dial(ctx, shsAddr); !errors.Is(err, multiserver.ErrHandshake) {
		t.Fatalf("dial with the wrong app key: %v, want a handshake error", err)
	}
	// A peer that hangs up before the handshake.
	host, port, _ := address.HostPort(list[0].Plug())
	raw, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
	// A dial to a closed port fails at the net layer.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closed.Close()
	if _, err := client.Dial(ctx, "net:"+closed.Addr().String()+"~shs:"+list[0][1].Fields[0]); err == nil {
		t.Fatal("dial of a closed port succeeded")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(serverStats))
	eventually(t, "both failed handshakes counted", func() bool {
		for _, st := range serverStats.Stacks() {
			if st.Stack == "net:127.0.0.1:0~shs" {
				return st.Failed[multiserver.ReasonProtocol] == 1 && st.Failed[multiserver.ReasonClosed] == 1
			}
		}
		return false
	})
	wantLines(t, scrape(t, reg),
		`multiserver_accepted_total{path="direct",stack="net:127.0.0.1:0~shs"} 2`,
		`multiserver_accepted_total{path="relayed",stack="net:127.0.0.1:0~shs"} 0`,
		`multiserver_accepted_total{path="direct",stack="net:127.0.0.1:0~noise~yamux"} 1`,
		`multiserver_handshake_failures_total{reason="protocol",stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_handshake_failures_total{reason="closed",stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_handshake_failures_total{reason="timeout",stack="net:127.0.0.1:0~shs"} 0`,
		`multiserver_received_bytes_total{stack="net:127.0.0.1:0~shs"} 10`,
		`multiserver_sent_bytes_total{stack="net:127.0.0.1:0~shs"} 6`,
		`multiserver_open_connections{stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_open_connections{stack="net:127.0.0.1:0~noise~yamux"} 1`,
		`multiserver_open_connections_by_path{path="direct",stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_open_connections_by_path{path="relayed",stack="net:127.0.0.1:0~shs"} 0`,
		`multiserver_open_connections_by_path{path="direct",stack="net:127.0.0.1:0~noise~yamux"} 1`,
		`multiserver_path_switches_total{stack="net:127.0.0.1:0~shs",to="direct"} 0`,
		`multiserver_path_switches_total{stack="net:127.0.0.1:0~shs",to="relayed"} 0`,
		`multiserver_open_streams{stack="net:127.0.0.1:0~noise~yamux"} 2`,
		`multiserver_open_streams{stack="net:127.0.0.1:0~shs"} 0`,
	)

	creg := prometheus.NewRegistry()
	creg.MustRegister(metrics.NewCollector(clientStats))
	wantLines(t, scrape(t, creg),
		`multiserver_dial_attempts_total{class="direct",stack="net~shs"} 3`,
		`multiserver_dial_wins_total{class="direct",path="direct",stack="net~shs"} 2`,
		`multiserver_dial_wins_total{class="direct",path="relayed",stack="net~shs"} 0`,
		`multiserver_dial_failures_total{class="direct",layer="net",stack="net~shs"} 1`,
		`multiserver_dial_attempts_total{class="direct",stack="net~noise~yamux"} 1`,
		`multiserver_dial_wins_total{class="direct",path="direct",stack="net~noise~yamux"} 1`,
		`multiserver_dial_open_connections{class="direct",path="direct",stack="net~shs"} 0`,
		`multiserver_dial_open_connections{class="direct",path="relayed",stack="net~shs"} 0`,
		`multiserver_dial_open_connections{class="direct",path="direct",stack="net~noise~yamux"} 1`,
		`multiserver_dial_path_switches_total{class="direct",stack="net~noise~yamux",to="direct"} 0`,
	)

	// Closing the streams and the session brings the gauges down.
	ln.Close()
}

// TestNothingWithoutStats checks that a Network without Stats counts
// nothing and that a collector of an unused Stats reports no series.
func TestNothingWithoutStats(t *testing.T) {
	stats := multiserver.NewStats()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(stats))
	n := network(t, keys.OpenNetwork(), nil)
	ln, err := n.Listen(context.Background(), "net:127.0.0.1:0~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if text := scrape(t, reg); strings.Contains(text, "multiserver_") {
		t.Errorf("an unused Stats has series:\n%s", text)
	}
}

// TestGaugesReturnToZero opens conns, sessions and streams from many
// goroutines, closes them in random order from either end, and checks
// that the open gauges come back to zero and the counters add up.
func TestGaugesReturnToZero(t *testing.T) {
	ctx := context.Background()
	app := keys.OpenNetwork()
	stats, clientStats := multiserver.NewStats(), multiserver.NewStats()
	server, client := network(t, app, stats), network(t, app, clientStats)
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~noise;net:127.0.0.1:0~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	list := ln.Addresses(multiserver.ScopeDevice)
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b := make([]byte, 1)
				c.Read(b)
				if b[0] == 1 { // the server closes first
					c.Close()
					return
				}
				c.Write(b)
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	const workers, rounds = 8, 10
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var err error
			defer func() { errs <- err }()
			for r := range rounds {
				serverFirst := byte((w + r) % 2)
				if (w+r)%3 == 0 {
					var sess multiserver.Session
					if sess, err = client.DialSession(ctx, list[1].String()); err != nil {
						return
					}
					for range 3 {
						var st net.Conn
						if st, err = sess.Open(ctx); err != nil {
							return
						}
						st.Write([]byte{serverFirst})
						st.Read(make([]byte, 1)) // the echo, or the server's close: it has the stream
						st.Close()
					}
					sess.Close()
					continue
				}
				var c net.Conn
				if c, err = client.Dial(ctx, list[0].String()); err != nil {
					return
				}
				c.Write([]byte{serverFirst})
				c.Read(make([]byte, 1)) // the echo, or the server's close: it has the conn
				c.Close()
			}
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ln.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-served
	var conns, sessions int64
	for w := range workers {
		for r := range rounds {
			if (w+r)%3 == 0 {
				sessions++
			} else {
				conns++
			}
		}
	}
	eventually(t, "gauges back to zero", func() bool {
		for _, st := range stats.Stacks() {
			if st.Open != 0 || st.Streams != 0 || st.OpenDirect != 0 || st.OpenRelayed != 0 {
				return false
			}
		}
		return true
	})
	for _, d := range clientStats.Dials() {
		if d.OpenDirect != 0 || d.OpenRelayed != 0 {
			t.Errorf("%s: %d dialed conns (sessions) still counted open", d.Stack, d.OpenDirect+d.OpenRelayed)
		}
		if d.Wins == 0 {
			t.Errorf("%s: no wins counted", d.Stack)
		}
	}
	for _, st := range stats.Stacks() {
		want := conns
		if strings.HasSuffix(st.Stack, "yamux") {
			want = sessions
		}
		if st.Accepted != want {
			t.Errorf("%s: %d accepted, want %d", st.Stack, st.Accepted, want)
		}
	}
}

// TestSpecNamesEveryMetric holds spec/observe.md and the collector to the
// same metric names.
func TestSpecNamesEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../spec/observe.md")
	if err != nil {
		t.Fatal(err)
	}
	inSpec := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(multiserver_[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		inSpec[m[1]] = true
	}
	ch := make(chan *prometheus.Desc, 32)
	metrics.NewCollector(multiserver.NewStats()).Describe(ch)
	metrics.NewUsageCollector(nil).Describe(ch)
	close(ch)
	described := map[string]bool{}
	for d := range ch {
		name := regexp.MustCompile(`fqName: "([a-z_]+)"`).FindStringSubmatch(d.String())[1]
		described[name] = true
		if !inSpec[name] {
			t.Errorf("spec/observe.md does not list %s", name)
		}
	}
	for name := range inSpec {
		if !described[name] {
			t.Errorf("spec/observe.md lists %s, which the collector does not export", name)
		}
	}
}

// TestQUICSessions counts a quic stack, whose conns are sessions the
// plug makes itself: a session accepted and open, its streams open and
// their bytes, and its peer in the Listener's usage.
func TestQUICSessions(t *testing.T) {
	ctx := context.Background()
	quicNetwork := func(stats *multiserver.Stats) (*multiserver.Network, *keys.Identity) {
		id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
		if err != nil {
			t.Fatal(err)
		}
		q, err := quic.New(quic.Config{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{q}, Stats: stats})
		if err != nil {
			t.Fatal(err)
		}
		return n, id
	}
	stats := multiserver.NewStats()
	server, _ := quicNetwork(stats)
	client, clientID := quicNetwork(nil)
	ln, err := server.Listen(ctx, "quic:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sess, err := client.DialSession(ctx, ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	var streams []net.Conn
	for range 2 {
		st, err := sess.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Write([]byte("four"))
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(s, make([]byte, 4))
		streams = append(streams, st, s)
	}
	st := stats.Stacks()
	if len(st) != 1 || st[0].Accepted != 1 || st[0].Open != 1 || st[0].Streams != 2 || st[0].BytesIn != 8 {
		t.Errorf("stats %+v, want 1 session accepted and open, 2 streams open, 8 bytes in", st)
	}
	u := ln.Usage()
	if len(u) != 1 || u[0].Total != 1 || u[0].OnlyHere != 1 || !bytes.Equal(u[0].OnlyHereKeys[0], clientID.Public()) {
		t.Errorf("usage %+v, want 1 session from the client's key", u)
	}
	for _, c := range streams {
		c.Close()
	}
	sess.Close()
	ln.Close()
	eventually(t, "the session counted closed", func() bool {
		st := stats.Stacks()[0]
		return st.Open == 0
	})
}

// TestUsageScrape scrapes the usage of two stacks, one draining.
func TestUsageScrape(t *testing.T) {
	ctx := context.Background()
	app := keys.OpenNetwork()
	server, client := network(t, app, nil), network(t, app, nil)
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go closeEach(ln)
	list := ln.Addresses(multiserver.ScopeDevice)
	for range 2 {
		c, err := client.Dial(ctx, list[0].String())
		if err != nil {
			t.Fatal(err)
		}
		c.Read(make([]byte, 1)) // until the server has it, and closes it
		c.Close()
	}
	if err := ln.Drain(list[0].String(), time.Hour); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewUsageCollector(ln))
	text := scrape(t, reg)
	wantLines(t, text,
		`multiserver_stack_connections_last_hour{stack="net:127.0.0.1:0~shs"} 2`,
		`multiserver_stack_connections_last_day{stack="net:127.0.0.1:0~shs"} 2`,
		`multiserver_stack_peers{stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_stack_peers_only_here{stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_stack_connections_last_hour{stack="net:127.0.0.1:0~noise"} 0`,
		`multiserver_stack_peers_only_here{stack="net:127.0.0.1:0~noise"} 0`,
	)
	for _, want := range []string{
		`multiserver_stack_last_connection_timestamp_seconds{stack="net:127.0.0.1:0~shs"} `,
		`multiserver_stack_drain_end_timestamp_seconds{stack="net:127.0.0.1:0~shs"} `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, never := range []string{
		`multiserver_stack_last_connection_timestamp_seconds{stack="net:127.0.0.1:0~noise"}`,
		`multiserver_stack_drain_end_timestamp_seconds{stack="net:127.0.0.1:0~noise"}`,
	} {
		if strings.Contains(text, never) {
			t.Errorf("metrics have %q, for a stack never used nor drained", never)
		}
	}
}

// TestUsageScrapeSameAddress scrapes a Listener that serves two stacks
// given the same address: a draining one and the one added to replace
// it. Their usage shares a label, so it must be one series each, and a
// peer that connected over both counts once.
func TestUsageScrapeSameAddress(t *testing.T) {
	ctx := context.Background()
	app := keys.OpenNetwork()
	server, client := network(t, app, nil), network(t, app, nil)
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go closeEach(ln)
	dial := func(addr string) {
		t.Helper()
		c, err := client.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Read(make([]byte, 1)) // until the server has it, and closes it
		c.Close()
	}
	old := ln.Addresses(multiserver.ScopeDevice)[0].String()
	dial(old)
	if err := ln.Drain("net:127.0.0.1:0~shs", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ln.Add(ctx, "net:127.0.0.1:0~shs"); err != nil {
		t.Fatal(err)
	}
	u := ln.Usage()
	if len(u) != 2 {
		t.Fatalf("Usage has %d stacks, want 2", len(u))
	}
	dial(ln.Addresses(multiserver.ScopeDevice)[0].String()) // the new stack's: the draining one is not advertised
	dial(old)
	if u := ln.Usage(); u[0].Total != 2 || u[1].Total != 1 || u[0].Peers != 1 || u[1].Peers != 1 || u[0].OnlyHere != 0 {
		t.Fatalf("usage %+v, want 2 and 1 conns from one peer over both", u)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewUsageCollector(ln))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("Gather: %v", err)
	}
	text := scrape(t, reg)
	if !strings.Contains(text, `multiserver_stack_drain_end_timestamp_seconds{stack="net:127.0.0.1:0~shs"} `) {
		t.Errorf("metrics lack the drain end of the draining stack:\n%s", text)
	}
	wantLines(t, text,
		`multiserver_stack_connections_last_hour{stack="net:127.0.0.1:0~shs"} 3`,
		`multiserver_stack_peers{stack="net:127.0.0.1:0~shs"} 1`,
		`multiserver_stack_peers_only_here{stack="net:127.0.0.1:0~shs"} 1`,
	)
}

// closeEach accepts every conn of ln and closes it, until ln is closed.
func closeEach(ln *multiserver.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}
