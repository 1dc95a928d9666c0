//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/squidtest"
)

// labNetns makes a network namespace with its loopback up and the
// address 10.251.0.1/32 on it beside 127.0.0.1, and deletes it when the
// test ends. The address is not loopback, so a client honours HTTP_PROXY
// for it (Go never proxies loopback), yet nothing leaves the namespace.
// It needs root and iproute2: without them the test is skipped, or fails
// under MULTISERVER_INTEROP=1.
func labNetns(t *testing.T) string {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		const how = "run as root with iproute2 installed (scripts/test.sh does)"
		if os.Getenv("MULTISERVER_INTEROP") == "1" {
			t.Fatalf("MULTISERVER_INTEROP=1 but the network lab is unavailable: %s; %s", why, how)
		}
		t.Skipf("network lab unavailable (%s); %s, or set MULTISERVER_INTEROP=1 to make this a failure", why, how)
	}
	if os.Geteuid() != 0 {
		unavailable("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable("no ip command")
	}
	ns := fmt.Sprintf("mssquid%d", os.Getpid())
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		unavailable(fmt.Sprintf("ip netns add: %v: %s", err, bytes.TrimSpace(out)))
	}
	for _, s := range [][]string{
		{"ip", "-n", ns, "link", "set", "lo", "up"},
		{"ip", "-n", ns, "addr", "add", labHost + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return ns
}

// labHost is the server's address in the lab's namespace.
const labHost = "10.251.0.1"

// TestSquidHTTPProxy runs squid as Debian ships it, the command's serve
// and its dial in a network namespace, the server on a non-loopback
// address. Without HTTP_PROXY the dial takes ws, straight to the server;
// with HTTP_PROXY naming squid, a ws dial is refused by the proxy and
// the ladder ws;sse;poll settles on sse, through squid.
func TestSquidHTTPProxy(t *testing.T) {
	ns := labNetns(t)
	sq := squidtest.Start(t, squidtest.Config{Netns: ns, Addr: "127.0.0.1:3128"})
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	inNS := []string{"ip", "netns", "exec", ns}
	p := startArgv(t, append(inNS, cliBin, "serve", "--key", serverKey, "--scope", "local",
		"--listen", "ws://"+labHost+":0/ms~noise", "--listen", "sse:http://"+labHost+":0/ms~noise", "--echo")...)
	var wsAddr, sseAddr string
	for _, a := range strings.Split(p.addr, ";") {
		switch {
		case strings.HasPrefix(a, "ws:"):
			wsAddr = a
		case strings.HasPrefix(a, "sse:"):
			sseAddr = a
		}
	}
	if wsAddr == "" || sseAddr == "" || !strings.Contains(wsAddr, labHost) {
		t.Fatalf("serve advertised %q, want a ws and an sse address on %s", p.addr, labHost)
	}
	// The sse listener takes poll clients at its URL too.
	ladder := wsAddr + ";" + sseAddr + ";poll:" + strings.TrimPrefix(sseAddr, "sse:")

	// The environment of each dial: no proxy settings but ours.
	env := []string{"env", "-u", "HTTP_PROXY", "-u", "http_proxy", "-u", "HTTPS_PROXY", "-u", "https_proxy", "-u", "NO_PROXY", "-u", "no_proxy"}
	direct := joinArgs(inNS, env)
	proxied := append(joinArgs(inNS, env), "HTTP_PROXY="+sq.URL.String())
	data := randomBytes(256 << 10)

	r := runUnder(t, direct, data, "dial", "-v", "--key", clientKey, ladder)
	if r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Fatalf("ladder without a proxy: exit %d, %d bytes back of %d; stderr:\n%s", r.code, len(r.stdout), len(data), r.stderr)
	}
	t.Logf("ladder without HTTP_PROXY: %s", connectedLine(r.stderr))
	if !strings.Contains(r.stderr, "connected through "+wsAddr+": direct, over ws") {
		t.Errorf("ladder without a proxy: dial -v said %q, want the ws address", connectedLine(r.stderr))
	}
	if log := sq.AccessLog(); log != "" {
		t.Errorf("squid saw requests from a dial without HTTP_PROXY:\n%s", log)
	}

	r = runUnder(t, proxied, nil, "dial", "-v", "--key", clientKey, wsAddr)
	if r.code != 1 {
		t.Fatalf("ws through squid: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	refused := fmt.Sprintf("proxy %s refused CONNECT to %s", sq.URL.Host, strings.Split(wsAddr, "/")[2])
	if !strings.Contains(r.stderr, refused) || !strings.Contains(r.stderr, "403") {
		t.Errorf("ws through squid: stderr %q, want it to say %q and 403", r.stderr, refused)
	}
	t.Logf("ws with HTTP_PROXY=%s: exit 1: %s", sq.URL, strings.TrimSpace(r.stderr))

	r = runUnder(t, proxied, data, "dial", "-v", "--key", clientKey, ladder)
	if r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Fatalf("ladder through squid: exit %d, %d bytes back of %d; stderr:\n%s", r.code, len(r.stdout), len(data), r.stderr)
	}
	t.Logf("ladder with HTTP_PROXY=%s: %s; %d bytes echoed exactly", sq.URL, connectedLine(r.stderr), len(data))
	if !strings.Contains(r.stderr, "connected through "+sseAddr+": direct, over sse") {
		t.Errorf("ladder through squid: dial -v said %q, want the sse address", connectedLine(r.stderr))
	}
	log := sq.AccessLog()
	if !strings.Contains(log, "GET http://"+labHost) || !strings.Contains(log, "POST http://"+labHost) {
		t.Errorf("squid's access log shows no bridge requests to %s:\n%s", labHost, log)
	}
	t.Logf("squid's access log: %d CONNECTs (all refused: %v), %d GETs and %d POSTs of the bridge",
		strings.Count(log, " CONNECT "+labHost), strings.Count(log, "TCP_DENIED/403 ") == strings.Count(log, " CONNECT "),
		strings.Count(log, " GET http://"+labHost), strings.Count(log, " POST http://"+labHost))
}

// joinArgs joins command line parts.
func joinArgs(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// connectedLine returns the "connected through" line of dial -v.
func connectedLine(stderr string) string {
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "connected through") {
			return strings.TrimSpace(line)
		}
	}
	return "(no connected line)"
}

// TestSquidRelayLadder runs the command's relay and serve in the lab's
// namespace, serve registered with the relay directly, and a dial of the
// relayed address with HTTP_PROXY naming squid as Debian ships it: squid
// refuses the WebSocket's CONNECT, the relay plug's ladder settles on
// SSE through squid, and dial -v says so.
func TestSquidRelayLadder(t *testing.T) {
	ns := labNetns(t)
	sq := squidtest.Start(t, squidtest.Config{Netns: ns, Addr: "127.0.0.1:3128"})
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	inNS := []string{"ip", "netns", "exec", ns}
	env := []string{"env", "-u", "HTTP_PROXY", "-u", "http_proxy", "-u", "HTTPS_PROXY", "-u", "https_proxy", "-u", "NO_PROXY", "-u", "no_proxy"}
	direct := joinArgs(inNS, env)
	proxied := append(joinArgs(inNS, env), "HTTP_PROXY="+sq.URL.String())

	r := startArgv(t, append(direct, cliBin, "relay", "--listen", labHost+":0", "--drain", "1s")...)
	if !strings.HasPrefix(r.addr, "ws://"+labHost+":") {
		t.Fatalf("relay printed %q first, want ws://%s:PORT/relay", r.addr, labHost)
	}
	s := startArgv(t, append(direct, cliBin, "serve", "--key", serverKey, "--listen", "relay:"+r.addr+"~noise", "--echo")...)
	data := randomBytes(256 << 10)
	res := runUnder(t, proxied, data, "dial", "-v", "--key", clientKey, s.addr)
	if res.code != 0 || !bytes.Equal(res.stdout, data) {
		t.Fatalf("dial through squid and the relay: exit %d, %d bytes back of %d; stderr:\n%s", res.code, len(res.stdout), len(data), res.stderr)
	}
	t.Logf("relayed dial with HTTP_PROXY=%s: %s; %d bytes echoed exactly", sq.URL, connectedLine(res.stderr), len(data))
	if want := "connected through " + s.addr + ": relayed, over sse"; !strings.Contains(res.stderr, want) {
		t.Errorf("dial -v said %q, want %q", connectedLine(res.stderr), want)
	}
	log := sq.AccessLog()
	t.Logf("squid's access log: %d CONNECTs refused, %d GETs and %d POSTs of the bridge",
		strings.Count(log, "TCP_DENIED/403 "), strings.Count(log, " GET http://"+labHost), strings.Count(log, " POST http://"+labHost))
}
