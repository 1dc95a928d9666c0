package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/stun"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
)

// TestRelay runs "multiserver relay", pairs a listener and a dialer
// through it, reads its health and metrics, and stops it with SIGTERM.
func TestRelay(t *testing.T) {
	t.Parallel()
	p := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--drain", "2s")
	url := p.addr
	if !strings.HasPrefix(url, "ws://127.0.0.1:") || !strings.HasSuffix(url, "/relay") {
		t.Fatalf("first line %q, want ws://127.0.0.1:PORT/relay", url)
	}
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(url, "ws"), "/relay")
	for _, path := range []string{"/healthz", "/readyz"} {
		if body := get(t, base+path); body != "ok\n" {
			t.Errorf("GET %s = %q, want ok", path, body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lid, did := newIdentity(t), newIdentity(t)
	listener := &relay.Client{URL: url, Identity: lid}
	reg, err := listener.Register(ctx, []string{"noise"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	go func() {
		in, ok := <-reg.Incoming()
		if !ok {
			return
		}
		c, err := listener.Accept(ctx, in)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := (&relay.Client{URL: url, Identity: did}).Connect(ctx, lid.Public(), "noise", relay.StreamID{7})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("through the command"))
	buf := make([]byte, 19)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "through the command" {
		t.Fatalf("echo through the relay: %q, %v", buf, err)
	}
	c.Close()
	m := get(t, base+"/metrics")
	for _, want := range []string{
		"multiserver_relay_pairings_total 1\n",
		`multiserver_relay_forwarded_bytes_total{direction="to_listener"} 19` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("relay after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
	<-reg.Done()
	if !strings.Contains(reg.Err().Error(), "restarting") {
		t.Errorf("the registration ended with %v, want RESTARTING", reg.Err())
	}
}

func TestRelayUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"relay"},
		{"relay", "--listen", "127.0.0.1:0", "--tls-cert", "x.pem"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example", "--tls-cert", "a", "--tls-key", "b"},
		{"relay", "--listen", "127.0.0.1:0", "--stun", "x"},
		{"relay", "--listen", "127.0.0.1:0", "--stun", "1", "--stun", "2", "--stun", "3"},
		{"relay", "--listen", "127.0.0.1:0", "--stun", "65535"},
		{"relay", "--listen", "127.0.0.1:0", "--acme-directory", "https://ca.example/dir"},
		{"relay", "--listen", "127.0.0.1:0", "--acme-email", "ops@relay.example"},
		{"relay", "--listen", "127.0.0.1:0", "--acme-cache", t.TempDir()},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example", "--acme-directory", "http://ca.example/dir"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example", "--acme-directory", "ca.example/dir"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example", "--acme-email", "not a mail address"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example", "--acme-email", "Ops <ops@relay.example>"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "192.0.2.1"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "localhost"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "relay.example:443"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "https://relay.example"},
		{"relay", "--listen", "127.0.0.1:0", "--acme", "*.relay.example"},
	} {
		if r := runCLI(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, r.code, r.stderr)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func newIdentity(t *testing.T) *keys.Identity {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(nil)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestServeAndDialThroughRelay is the command-line contract of a relayed
// stack: serve prints the relay address with its key as its first line,
// dial reaches it through the relay, and dial -v says which address won
// and that the path is relayed.
func TestServeAndDialThroughRelay(t *testing.T) {
	t.Parallel()
	r := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--drain", "1s")
	dir := t.TempDir()
	serverKey, pub := writeKey(t, dir, "server")
	clientKey, _ := writeKey(t, dir, "client")
	s := startServe(t, "--key", serverKey, "--listen", "relay:"+r.addr+"~noise", "--echo")
	want := "relay:" + r.addr + "~noise:" + address.EncodeKey(pub)
	if s.addr != want {
		t.Fatalf("serve printed %q first, want %q", s.addr, want)
	}
	res := runCLI(t, []byte("hello relay\n"), "dial", "-v", "--key", clientKey, s.addr)
	if res.code != 0 || string(res.stdout) != "hello relay\n" {
		t.Fatalf("dial: exit %d, stdout %q, stderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if line := "connected through " + want + ": relayed, over ws"; !strings.Contains(res.stderr, line) {
		t.Errorf("dial -v stderr lacks %q:\n%s", line, res.stderr)
	}
}

// TestDialSaysDirect: with a direct address before the relay's, dial -v
// says the direct one won.
func TestDialSaysDirect(t *testing.T) {
	t.Parallel()
	r := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--drain", "1s")
	dir := t.TempDir()
	serverKey, pub := writeKey(t, dir, "server")
	s := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~noise", "--listen", "relay:"+r.addr+"~noise", "--echo")
	net, relayed, ok := strings.Cut(s.addr, ";")
	if !ok || relayed != "relay:"+r.addr+"~noise:"+address.EncodeKey(pub) {
		t.Fatalf("serve printed %q first, want the net and the relay stacks", s.addr)
	}
	res := runCLI(t, []byte("hi\n"), "dial", "-v", s.addr)
	if res.code != 0 || !strings.Contains(res.stderr, "connected through "+net+": direct, over net") {
		t.Fatalf("dial: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// TestRelaySTUN: "relay --stun 0" answers STUN on two ports, which it
// logs; Probe finds its own address from both, and /metrics counts it.
func TestRelaySTUN(t *testing.T) {
	t.Parallel()
	p := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--stun", "0", "--drain", "1s")
	var ports []netip.AddrPort
	// stderr is copied apart from stdout: the lines may come after the URL.
	for deadline := time.Now().Add(waitTimeout); len(ports) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ports = ports[:0]
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if _, addr, ok := strings.Cut(line, "msg=stun addr="); ok {
				ports = append(ports, netip.MustParseAddrPort(addr))
			}
		}
	}
	if len(ports) != 2 {
		t.Fatalf("want two STUN ports logged; stderr:\n%s", p.stderr)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := stun.Probe(ctx, pc, ports)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mapping != stun.MappingEndpointIndependent || res.Reflexive() != pc.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("Probe = %+v, want endpoint-independent, %v", res, pc.LocalAddr())
	}
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(p.addr, "ws"), "/relay")
	wants := []string{
		"multiserver_relay_stun_requests_total 2\n",
		"multiserver_relay_stun_responses_total 2\n",
		`multiserver_relay_stun_dropped_total{reason="rate"} 0` + "\n",
	}
	// The responder counts a response once its send returned, which
	// may be after our Probe had it: scrape until the counts are there.
	var m string
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(10 * time.Millisecond) {
		m = get(t, base+"/metrics")
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(m, w) }) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("relay after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
}
