package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// btAddr is how JavaScript's multiserver-bluetooth advertises a peer: a
// plug this program does not know.
const btAddr = "bt:00:11:22:33:44:55~shs:" + testKey

// A list with an alternative of an unknown kind parses: the known
// alternatives as before, the unknown one kept with a note, in order.
func TestAddrParseKeepsUnknown(t *testing.T) {
	t.Parallel()
	known := "net:localhost:8008~shs:" + testKey
	r := runCLI(t, nil, "addr", "parse", btAddr+";"+known)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("addr parse: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	var got []struct {
		Address string `json:"address"`
		Layers  []struct {
			Name   string   `json:"name"`
			Fields []string `json:"fields"`
		} `json:"layers"`
		Unknown string `json:"unknown"`
	}
	if err := json.Unmarshal(r.stdout, &got); err != nil {
		t.Fatalf("addr parse output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(got) != 2 {
		t.Fatalf("addr parse: %d entries, want 2:\n%s", len(got), r.stdout)
	}
	if u := got[0]; u.Address != btAddr || !strings.Contains(u.Unknown, `unknown plug "bt"`) ||
		len(u.Layers) != 2 || u.Layers[0].Name != "bt" || strings.Join(u.Layers[0].Fields, ":") != "00:11:22:33:44:55" {
		t.Errorf("entry 0 = %+v, want the room address marked unknown", u)
	}
	if k := got[1]; k.Address != known || k.Unknown != "" || len(k.Layers) != 2 {
		t.Errorf("entry 1 = %+v, want %q parsed", k, known)
	}
}

func TestAddrExplainKeepsUnknown(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "addr", "explain", "unix:/tmp/s.sock~noauth;"+btAddr)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("addr explain: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	out := string(r.stdout)
	for _, s := range []string{"address 1: unix:/tmp/s.sock~noauth", "Unix socket", "address 2: " + btAddr, `unknown plug "bt"`, "skips"} {
		if !strings.Contains(out, s) {
			t.Errorf("addr explain output does not mention %q:\n%s", s, out)
		}
	}
}

// explain is for reading, so an invite's seed is not shown.
func TestAddrExplainHidesSeed(t *testing.T) {
	t.Parallel()
	const seed = "c2VlZHNlZWRzZWVkc2VlZHNlZWRzZWVkc2VlZHNlZWQ="
	r := runCLI(t, nil, "addr", "explain", "net:h:1~shs:"+testKey+":"+seed)
	if r.code != 0 || strings.Contains(string(r.stdout), seed) || !strings.Contains(string(r.stdout), "invite") {
		t.Errorf("addr explain of an invite: exit %d, stdout %q; want 0, the invite named and no seed", r.code, r.stdout)
	}
}

func TestAddrUnknownOnly(t *testing.T) {
	t.Parallel()
	for _, verb := range []string{"parse", "explain", "to-multiaddr"} {
		r := runCLI(t, nil, "addr", verb, btAddr+";foo:bar")
		if r.code != 1 || len(r.stdout) != 0 {
			t.Errorf("addr %s with nothing known: exit %d, stdout %q; want 1 and nothing", verb, r.code, r.stdout)
		}
		wantOneLine(t, "addr "+verb, r.stderr, `unknown plug "bt"`)
	}
	r := runCLI(t, nil, "addr", "to-multiaddr", btAddr+";net:127.0.0.1:8008")
	if r.code != 0 || string(r.stdout) != "/ip4/127.0.0.1/tcp/8008\n" {
		t.Errorf("addr to-multiaddr: exit %d, stdout %q; want the known address converted", r.code, r.stdout)
	}
	// Text that is malformed whatever its layers mean is a usage error.
	r = runCLI(t, nil, "addr", "parse", btAddr+";;net:h:1")
	if r.code != 2 {
		t.Errorf("addr parse with an empty alternative: exit %d, want 2", r.code)
	}
}

// TestAddrExplainTunnel: tunnel addresses are known, checked and
// explained.
func TestAddrExplainTunnel(t *testing.T) {
	room, target := "@"+testKey+".ed25519", "@"+testKey+".ed25519"
	r := runCLI(t, nil, "addr", "explain", "tunnel:"+room+":"+target+"~shs:"+testKey)
	if r.code != 0 || !strings.Contains(string(r.stdout), "through the SSB room "+room+" to the member "+target) {
		t.Fatalf("addr explain: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "addr", "parse", "tunnel:@ROOM.ed25519~shs")
	if r.code != 2 || !strings.Contains(r.stderr, "is not an SSB id") {
		t.Fatalf("addr parse of a bad room id: exit %d, stderr %q", r.code, r.stderr)
	}
}
