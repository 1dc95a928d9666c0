//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/netlab"
)

// slowReader gives its bytes a chunk at a time, a pause before each,
// so that a dial stays up while its path changes.
type slowReader struct {
	data  []byte
	chunk int
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestHolePunchCLI is the command-line contract of hole punching, each
// process in its own namespace of a NAT lab: "relay --listen
// HOST:443 --stun 3478" in the public one, "serve --listen
// relay:ws://HOST:443/…~noise --echo" behind one cone NAT, and "dial
// -v" behind another, whose stderr says the conn is relayed, then that
// its path is direct; the bytes echo exactly across the change.
func TestHolePunchCLI(t *testing.T) {
	t.Parallel()
	w := netlab.NewWorld(t)
	a, b := w.Site(t, netlab.Cone, 0), w.Site(t, netlab.Cone, 0)
	in := func(ns *netlab.Namespace, args ...string) []string {
		return append([]string{"ip", "netns", "exec", ns.Name, cliBin}, args...)
	}
	r := startArgv(t, in(w.Public, "relay", "--listen", netlab.PublicAddr+":443", "--stun", "3478", "--drain", "1s")...)
	if !strings.HasPrefix(r.addr, "ws://"+netlab.PublicAddr) {
		t.Fatalf("relay printed %q first", r.addr)
	}
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server")
	s := startArgv(t, in(a.Host, "serve", "--key", serverKey, "--listen", "relay:"+r.addr+"~noise", "--echo")...)

	msg := make([]byte, 64<<10)
	rand.Read(msg)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	argv := in(b.Host, "dial", "-v", s.addr)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = pipeDelay
	cmd.Stdin = &slowReader{data: msg, chunk: 2 << 10, pause: 100 * time.Millisecond} // ~3 s
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dial: %v; stderr:\n%s", err, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), msg) {
		t.Errorf("dial echoed %d bytes, other than the %d it sent", stdout.Len(), len(msg))
	}
	errs := stderr.String()
	relayed := strings.Index(errs, ": relayed, over ws")
	direct := strings.Index(errs, "path: direct, over quic")
	if relayed < 0 || direct < relayed {
		t.Errorf("dial -v stderr does not say relayed, then direct:\n%s", errs)
	}
	t.Logf("dial -v said:\n%s", errs)
}

// TestHolePunchOnlyCLI: "serve --listen holepunch:URL~noise" behind one
// cone NAT, "dial -v holepunch:…" behind another connect directly, the
// relay only meeting them: dial says so at once.
func TestHolePunchOnlyCLI(t *testing.T) {
	t.Parallel()
	w := netlab.NewWorld(t)
	a, b := w.Site(t, netlab.Cone, 0), w.Site(t, netlab.Cone, 0)
	in := func(ns *netlab.Namespace, args ...string) []string {
		return append([]string{"ip", "netns", "exec", ns.Name, cliBin}, args...)
	}
	r := startArgv(t, in(w.Public, "relay", "--listen", netlab.PublicAddr+":443", "--stun", "3478", "--drain", "1s")...)
	s := startArgv(t, in(a.Host, "serve", "--listen", "holepunch:"+r.addr+"~noise", "--echo")...)
	if !strings.HasPrefix(s.addr, "holepunch:"+r.addr+"~noise:") {
		t.Fatalf("serve printed %q first", s.addr)
	}
	res := runUnder(t, []string{"ip", "netns", "exec", b.Host.Name}, []byte("direct only\n"), "dial", "-v", s.addr)
	if res.code != 0 || string(res.stdout) != "direct only\n" {
		t.Fatalf("dial: exit %d, stdout %q, stderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if line := "connected through " + s.addr + ": direct, over quic"; !strings.Contains(res.stderr, line) {
		t.Errorf("dial -v stderr lacks %q:\n%s", line, res.stderr)
	}
}
