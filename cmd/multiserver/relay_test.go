package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
	if m := get(t, base+"/metrics"); !strings.Contains(m, "multiserver_relay_pairings_total 1\n") {
		t.Errorf("/metrics has no pairing:\n%s", m)
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
