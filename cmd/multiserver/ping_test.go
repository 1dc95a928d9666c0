package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPing pings a serve --echo directly and through a relay, and a
// serve that does not echo.
func TestPing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	rl := startCommand(t, "relay", "--listen", "127.0.0.1:0", "--drain", "1s")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--listen", "net:127.0.0.1:0~noise~yamux", "--echo")
	list, err := grammar.Parse(p.addr)
	if err != nil || len(list) != 2 {
		t.Fatalf("serve advertised %q (%v)", p.addr, err)
	}
	relayed := startServe(t, "--key", serverKey, "--listen", "relay:"+rl.addr+"~noise", "--echo")
	line := regexp.MustCompile(`^seq=(\d) time=[0-9.]+m?s (direct|relayed), over (\w+)$`)
	for _, tt := range []struct{ name, addr, path, carrier string }{
		{"shs", list[0].String(), "direct", "net"},
		{"yamux", list[1].String(), "direct", "net"},
		{"relayed", relayed.addr, "relayed", "ws"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, "ping", "-c", "3", "-i", "10ms", "--key", clientKey, tt.addr)
			lines := strings.Split(strings.TrimSpace(string(r.stdout)), "\n")
			if r.code != 0 || len(lines) != 5 {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
			}
			if !strings.HasPrefix(lines[0], "PING "+tt.addr+" (@") || !strings.HasSuffix(lines[0], tt.path+", over "+tt.carrier) {
				t.Errorf("first line %q", lines[0])
			}
			for i, l := range lines[1:4] {
				m := line.FindStringSubmatch(l)
				if m == nil || m[1] != string(rune('1'+i)) || m[2] != tt.path || m[3] != tt.carrier {
					t.Errorf("line %q, want seq=%d and %s over %s", l, i+1, tt.path, tt.carrier)
				}
			}
			if !strings.HasPrefix(lines[4], "--- 3 sent, 3 received, 0% lost; round trip min/avg/max ") {
				t.Errorf("summary %q", lines[4])
			}
		})
	}
	t.Run("no echo", func(t *testing.T) {
		q := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--exec", "echo no")
		r := runCLI(t, nil, "ping", "-c", "2", "-W", "2s", "--key", clientKey, q.addr)
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		wantOneLine(t, "ping of a serve --exec", r.stderr, "ping 1", "serve --echo")
		if !strings.Contains(string(r.stdout), "--- 1 sent, 0 received, 100% lost") {
			t.Errorf("stdout:\n%s\nwant a summary of 1 lost", r.stdout)
		}
	})
}

// TestPingSpec holds spec/observe.md and the ping message to the same
// magic and size.
func TestPingSpec(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "spec", "observe.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("one %d-byte message", pingSize); !strings.Contains(string(b), want) {
		t.Errorf("spec/observe.md does not say %q", want)
	}
	if want := "the magic `" + strings.TrimSpace(fmt.Sprintf("% x", pingMagic[:])) + "`"; !strings.Contains(string(b), want) {
		t.Errorf("spec/observe.md does not say %q", want)
	}
}
