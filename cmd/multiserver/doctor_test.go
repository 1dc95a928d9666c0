package main

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/proxytest"
	"github.com/f7d52a8e/multiserver/keys"
)

// runDoctor runs doctor --json args and decodes its report.
func runDoctor(t *testing.T, args ...string) (doctorReport, cliResult) {
	t.Helper()
	r := runCLI(t, nil, append([]string{"doctor", "--json", "--timeout", "5s"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("doctor %s: exit %d, %v; stdout:\n%s\nstderr: %s", strings.Join(args, " "), r.code, err, r.stdout, r.stderr)
	}
	return rep, r
}

// wantFailure checks that alt failed at layer, with a cause and a failed
// step (or layer) saying each of subs.
func wantFailure(t *testing.T, alt altReport, layer, step string, subs ...string) {
	t.Helper()
	if alt.OK || alt.Layer != layer {
		t.Fatalf("%s: ok %v, failed at %q (%s); want a failure at %s", alt.Address, alt.OK, alt.Layer, alt.Cause, layer)
	}
	for _, s := range subs {
		if !strings.Contains(alt.Cause, s) {
			t.Errorf("%s: cause %q, want it to say %q", alt.Address, alt.Cause, s)
		}
	}
	for _, st := range alt.Steps {
		if st.Layer == layer && st.Step == step && st.Error != "" {
			return
		}
	}
	t.Errorf("%s: no failed %s/%s in the steps %+v", alt.Address, layer, step, alt.Steps)
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// TestDoctor serves net~shs and ws~noise~yamux and has doctor explain
// addresses that work and addresses broken in each way it tells apart.
func TestDoctor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, serverPub := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	_, otherPub := writeKey(t, dir, "other.json")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--listen", "ws://127.0.0.1:0~noise~yamux")
	list, err := grammar.Parse(p.addr)
	if err != nil || len(list) != 2 {
		t.Fatalf("serve advertised %q (%v)", p.addr, err)
	}
	shsAddr, wsAddr := list[0].String(), list[1].String()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(list[0].Plug().String(), "net:"))

	t.Run("works", func(t *testing.T) {
		rep, r := runDoctor(t, "--key", clientKey, p.addr)
		if r.code != 0 || len(rep.Addresses) != 1 || !rep.Addresses[0].OK {
			t.Fatalf("exit %d, report %+v", r.code, rep)
		}
		for _, alt := range rep.Addresses[0].Alternatives {
			if !alt.OK || alt.Path == nil || alt.Path.Relayed || alt.Peer != keys.ID(serverPub) || alt.Proxy != "none" {
				t.Errorf("%s: %+v, want a direct conn to %s, no proxy", alt.Address, alt, keys.ID(serverPub))
			}
		}
		ws := rep.Addresses[0].Alternatives[1]
		var layers []string
		for _, s := range ws.Steps {
			layers = append(layers, s.Layer+"/"+s.Step)
		}
		if got := strings.Join(layers, " "); got != "ws/ ws/connect ws/upgrade noise/ yamux/" {
			t.Errorf("ws steps %q, want the plug, its connect and upgrade, noise, yamux", got)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		closed := freeAddr(t)
		rep, r := runDoctor(t, "--key", clientKey, "net:"+closed+"~shs:"+b64(serverPub))
		if r.code != 1 || !strings.Contains(r.stderr, "1 of 1 addresses did not connect") {
			t.Errorf("exit %d, stderr %q; want 1", r.code, r.stderr)
		}
		wantFailure(t, rep.Addresses[0].Alternatives[0], "net", "connect", "connection refused")
	})
	t.Run("wrong key", func(t *testing.T) {
		rep, _ := runDoctor(t, "--key", clientKey,
			strings.Replace(shsAddr, b64(serverPub), b64(otherPub), 1)+";"+strings.Replace(wsAddr, b64(serverPub), b64(otherPub), 1))
		wantFailure(t, rep.Addresses[0].Alternatives[0], "shs", "", "EOF")
		wantFailure(t, rep.Addresses[0].Alternatives[1], "noise", "", "hung up")
	})
	t.Run("wrong app key", func(t *testing.T) {
		rep, _ := runDoctor(t, "--key", clientKey, "--app-key", randomAppKey(), shsAddr)
		wantFailure(t, rep.Addresses[0].Alternatives[0], "shs", "", "wrong app key?")
	})
	t.Run("proxy refuses", func(t *testing.T) {
		tp := proxytest.Start(t, []int{443}, "", "") // CONNECT to 443 only
		rep, _ := runDoctor(t, "--key", clientKey, "--proxy", tp.URL.String(), shsAddr)
		alt := rep.Addresses[0].Alternatives[0]
		wantFailure(t, alt, "net", "proxy", "403", net.JoinHostPort(host, port))
		if !strings.HasSuffix(alt.Proxy, "(--proxy)") {
			t.Errorf("proxy %q, want the one given", alt.Proxy)
		}
	})
	t.Run("relay down", func(t *testing.T) {
		down := "ws://" + freeAddr(t) + "/relay"
		_, stunPort, _ := net.SplitHostPort(freeAddr(t))
		rep, r := runDoctor(t, "--key", clientKey, "--relay", down, "--stun-port", stunPort, "relay:"+down+"~noise:"+b64(serverPub))
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		wantFailure(t, rep.Addresses[0].Alternatives[0], "relay", "connect", "connection refused")
		rl := rep.Relays[0]
		if rl.Healthz == nil || !strings.Contains(rl.Healthz.Error, "connection refused") {
			t.Errorf("healthz %+v, want connection refused", rl.Healthz)
		}
		if rl.STUN == nil || !rl.STUN.UDPBlocked {
			t.Errorf("stun %+v, want no answer", rl.STUN)
		}
	})
	t.Run("unsupported and malformed", func(t *testing.T) {
		rep, _ := runDoctor(t, "--key", clientKey, "onion:example.onion:80~shs:"+b64(serverPub)+";net:1.2.3")
		alts := rep.Addresses[0].Alternatives
		if len(alts) != 2 || !strings.Contains(alts[0].Missing, `no plug "onion"`) || alts[1].Parse == "" {
			t.Errorf("alternatives %+v, want onion unsupported and net:1.2.3 malformed", alts)
		}
	})
	t.Run("table", func(t *testing.T) {
		r := runCLI(t, nil, "doctor", "--key", clientKey, shsAddr, "net:"+freeAddr(t)+"~shs:"+b64(serverPub))
		out := string(r.stdout)
		for _, want := range []string{"  layers      net:", "  this side   net~shs", "  proxy       none", "LAYER  STEP", "=> connected in ", "direct, over net, to " + keys.ID(serverPub), "=> failed at net after", "connection refused"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if r.code != 1 {
			t.Errorf("exit %d with one address failing, want 1", r.code)
		}
	})
}

// TestDoctorRelay has doctor check a relay that is up: its health, and
// through its STUN ports on loopback, no NAT.
func TestDoctorRelay(t *testing.T) {
	t.Parallel()
	var stunPort int
	for {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		stunPort = pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		if next, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(stunPort+1)); err == nil {
			next.Close()
			break
		}
	}
	p := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--stun", strconv.Itoa(stunPort))
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	_, nobody := writeKey(t, dir, "nobody.json")
	s := startServe(t, "--key", serverKey, "--listen", "relay:"+p.addr+"~noise")
	rep, r := runDoctor(t, "--key", clientKey, "--relay", p.addr, "--stun-port", strconv.Itoa(stunPort), s.addr, "relay:"+p.addr+"~noise:"+b64(nobody))
	if r.code != 1 || len(rep.Relays) != 1 || len(rep.Addresses) != 2 {
		t.Fatalf("exit %d, stderr %q, report %+v; want 1, the second address failing", r.code, r.stderr, rep)
	}
	relayed := rep.Addresses[0].Alternatives[0]
	var steps []string
	for _, st := range relayed.Steps {
		steps = append(steps, st.Layer+"/"+st.Step)
	}
	if got := strings.Join(steps, " "); !relayed.OK || relayed.Path == nil || !relayed.Path.Relayed ||
		got != "relay/ relay/connect relay/upgrade relay/auth relay/pair noise/" {
		t.Errorf("relayed dial: ok %v, path %+v, steps %q; want relayed, through connect, upgrade, auth and pair", relayed.OK, relayed.Path, got)
	}
	wantFailure(t, rep.Addresses[1].Alternatives[0], "relay", "pair", "NO_PEER")
	rl := rep.Relays[0]
	if rl.Healthz == nil || rl.Healthz.Error != "" || rl.Healthz.Status != "200 OK" {
		t.Errorf("healthz %+v, want 200 OK", rl.Healthz)
	}
	if s := rl.STUN; s == nil || s.UDPBlocked || len(s.Answers) != 2 || s.Mapping != "endpoint-independent" || !strings.HasPrefix(s.NAT, "none") {
		t.Errorf("stun %+v, want both ports answering, no NAT on loopback", rl.STUN)
	}
}

// TestDoctorJSONSpec holds spec/observe.md to every key of doctor's and
// the admin endpoint's JSON.
func TestDoctorJSONSpec(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "spec", "observe.md"))
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	now := time.Now()
	full := []any{
		doctorReport{
			Addresses: []addressReport{{Alternatives: []altReport{{
				Layers: []string{"x"}, Parse: "x", Stack: "x", Missing: "x", Proxy: "x", Layer: "x", Cause: "x", Peer: "x",
				Steps: []stepJSON{{Layer: "x", Step: "x", Detail: "x", Error: "x"}},
				Path:  &pathJSON{},
			}}}},
			Relays: []relayReport{{Error: "x", Healthz: &probeJSON{Status: "x", Error: "x"},
				STUN: &stunReport{Answers: []answerJSON{{}}, Reflexive: "x", Mapping: "x", Error: "x"}}},
		},
		stacksJSON{Stacks: []usageJSON{{DrainUntil: &now, Last: &now, OnlyKeys: []string{"x"}}}},
	}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, v := range full {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var x any
		json.Unmarshal(b, &x)
		walk(x)
	}
	for k := range keys {
		if !strings.Contains(spec, "`"+k+"`") {
			t.Errorf("spec/observe.md does not name the JSON key %q", k)
		}
	}
}

// TestProxyFor says which proxy each plug's dial would go through, as
// the plugs pick it.
func TestProxyFor(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://user:secret@proxy.example:3128")
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("NO_PROXY", "direct.example")
	forced, _ := url.Parse("http://forced.example:8080")
	for _, tt := range []struct {
		seg    string
		forced *url.URL
		want   string
	}{
		{"net:example.org:8008", nil, "http://user:xxxxx@proxy.example:3128 (environment)"},
		{"net:direct.example:8008", nil, "none"},
		{"net:127.0.0.1:8008", nil, "none"},
		{"wss://example.org/ms", nil, "http://user:xxxxx@proxy.example:3128 (environment)"},
		{"ws://example.org/ms", nil, "none"},
		{"relay:wss://relay.example/relay", nil, "http://user:xxxxx@proxy.example:3128 (environment)"},
		{"net:example.org:8008", forced, "http://forced.example:8080 (--proxy)"},
		{"quic:example.org:8008", nil, "none (UDP)"},
		{"unix:/tmp/s.sock", nil, "none (local)"},
	} {
		a, err := grammar.ParseAddr(tt.seg)
		if err != nil {
			t.Fatalf("%s: %v", tt.seg, err)
		}
		if got := proxyFor(a.Plug(), tt.forced); got != tt.want {
			t.Errorf("proxyFor(%s) = %q, want %q", tt.seg, got, tt.want)
		}
	}
}

// TestDoctorRelayTLS checks a wss relay's health with the certificate
// --tls-ca pins, and says why it fails without it.
func TestDoctorRelayTLS(t *testing.T) {
	t.Parallel()
	cert, key := writeCert(t, t.TempDir())
	p := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(p.addr, "wss://") {
		t.Fatalf("relay printed %q, want a wss URL", p.addr)
	}
	_, noSTUN, _ := net.SplitHostPort(freeAddr(t))
	rep, _ := runDoctor(t, "--tls-ca", cert, "--relay", p.addr, "--stun-port", noSTUN)
	if h := rep.Relays[0].Healthz; h == nil || h.Status != "200 OK" || !strings.HasPrefix(h.Target, "https://") {
		t.Errorf("healthz with --tls-ca: %+v, want 200 OK over https", h)
	}
	rep, _ = runDoctor(t, "--relay", p.addr, "--stun-port", noSTUN)
	if h := rep.Relays[0].Healthz; h == nil || !strings.Contains(h.Error, "certificate") {
		t.Errorf("healthz without --tls-ca: %+v, want a certificate error", h)
	}
}
