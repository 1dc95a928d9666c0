//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// strict reports whether a missing Chromium fails the test instead of
// skipping it; the README's test command sets it.
var strict = os.Getenv("MULTISERVER_INTEROP") == "1"

// TestClientBuilds builds the wasm client: everything it imports, the ws
// and relay plugs through the browser's WebSocket API included, builds
// for js/wasm.
func TestClientBuilds(t *testing.T) {
	buildClient(t)
}

// TestBrowser runs the client in headless Chromium against a server in
// this process. Every stack must connect, echo 1 MiB intact and present
// the server's key: the relay stack through the relay, the ws stacks
// over WebSocket, sse~noise and poll~noise over the HTTP bridge, each by
// its own carrier. The advertised address and the ladder
// ws~noise;sse~noise;poll~noise settle on WebSocket. Dialed with a wrong
// key, every stack must fail: the direct and bridge ones in the
// handshake, the relay stack at the relay (NO_PEER).
func TestBrowser(t *testing.T) {
	s, rep := runPage(t, Options{}, "?wrongkey=1")
	want := map[string]outcome{
		"advertised":  {carrier: "ws"},
		"ladder":      {carrier: "ws"},
		"ws~noise":    {carrier: "ws"},
		"ws~shs":      {carrier: "ws"},
		"sse~noise":   {carrier: "sse"},
		"poll~noise":  {carrier: "poll"},
		"relay~noise": {carrier: "ws", relayed: true},
	}
	for _, name := range []string{"ws~noise", "ws~shs", "sse~noise", "poll~noise"} {
		want[name+" wrong key"] = outcome{fail: "handshake"}
	}
	// Nobody registered the wrong key with the relay, which says so.
	want["relay~noise wrong key"] = outcome{fail: "NO_PEER"}
	check(t, s, rep, want)
}

// TestBrowserNoWebSocket runs the client against a server whose
// WebSocket stacks and relay refuse every upgrade (403), as behind a
// proxy that drops WebSocket. The advertised address and the ladder
// ws~noise;sse~noise;poll~noise must settle on SSE, not on WebSocket
// and not on long-poll, and echo 1 MiB exactly; the ws stacks on their
// own must fail at the WebSocket; sse and poll work as ever; the relay
// stack reaches the Go server through the relay's HTTP bridge, over SSE
// (the server's registration too).
func TestBrowserNoWebSocket(t *testing.T) {
	s, rep := runPage(t, Options{NoWS: true}, "")
	check(t, s, rep, map[string]outcome{
		"advertised":  {carrier: "sse"},
		"ladder":      {carrier: "sse"},
		"ws~noise":    {fail: "failed to WebSocket dial"},
		"ws~shs":      {fail: "failed to WebSocket dial"},
		"sse~noise":   {carrier: "sse"},
		"poll~noise":  {carrier: "poll"},
		"relay~noise": {carrier: "sse", relayed: true},
	})
}

// runPage starts a server with opts, loads its page with query in
// headless Chromium and returns the page's report.
func runPage(t *testing.T, opts Options, query string) (*Server, Report) {
	t.Helper()
	chromium := requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts.WASM = buildClient(t)
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	b := launch(t, ctx, chromium, s.URL+query)
	var rep Report
	select {
	case rep = <-s.Reports():
	case <-b.exited:
		t.Fatalf("chromium exited (%v) before the page reported; its output ends:\n%s", b.err, b.tail())
	case <-ctx.Done():
		b.stop()
		t.Fatalf("no report from the page in time; chromium's output ends:\n%s", b.tail())
	}
	t.Logf("the page reported: %+v", rep)
	if rep.Error != "" {
		t.Fatalf("the client did not run: %s", rep.Error)
	}
	return s, rep
}

// An outcome is what a stack's dial must do: fail with an error that
// contains fail, or else echo over carrier, relayed or not.
type outcome struct {
	fail    string
	carrier string
	relayed bool
}

// check compares the page's report with want, one outcome per stack name.
func check(t *testing.T, s *Server, rep Report, want map[string]outcome) {
	t.Helper()
	wantSum := sha256.Sum256(data(1 << 20))
	for _, st := range rep.Stacks {
		w, ok := want[st.Name]
		if !ok {
			t.Errorf("unexpected stack %q", st.Name)
			continue
		}
		delete(want, st.Name)
		switch {
		case w.fail != "":
			if st.OK || !strings.Contains(st.Error, w.fail) {
				t.Errorf("%s (%s): ok=%v, error %q; want a failure with %q", st.Name, st.Address, st.OK, st.Error, w.fail)
			}
			// The server's close reads as the end of the stream in the
			// browser too, so a failed handshake says the server hung up
			// rather than that a conn was closed. (A refused WebSocket
			// does say it: the browser tells no more than that the
			// socket closed before it opened.)
			if w.fail == "handshake" && strings.Contains(st.Error, "closed network connection") {
				t.Errorf("%s: error %q; want the server's close read as the end of the stream", st.Name, st.Error)
			}
		case !st.OK:
			t.Errorf("%s (%s) failed: %s", st.Name, st.Address, st.Error)
		case st.Bytes != 1<<20 || st.SHA256 != hex.EncodeToString(wantSum[:]):
			t.Errorf("%s: echoed %d bytes with sha256 %s; want %d bytes with %x", st.Name, st.Bytes, st.SHA256, 1<<20, wantSum)
		case st.RemoteKey != s.Config.Key:
			t.Errorf("%s: remote key %s, want the server's %s", st.Name, st.RemoteKey, s.Config.Key)
		case st.Relayed != w.relayed || st.Carrier != w.carrier:
			// The advertised address is dialed directly: a Network tries
			// the fallbacks (the bridge, the relay) only when the direct
			// stacks fail, the bridge's SSE first.
			t.Errorf("%s: path relayed=%v carrier %q; want relayed=%v carrier %q", st.Name, st.Relayed, st.Carrier, w.relayed, w.carrier)
		case w.relayed && st.Via != s.Config.Key+"@"+s.RelayURL:
			t.Errorf("%s: via %s, want the server's key at the relay %s", st.Name, st.Via, s.RelayURL)
		}
		if w.fail == "" && st.OK {
			t.Logf("%s: %s over %s, dialed in %d ms, echoed in %d ms", st.Name, st.Address, st.Carrier, st.DialMillis, st.Millis-st.DialMillis)
		}
	}
	for name := range want {
		t.Errorf("no result for stack %q", name)
	}
	if !rep.Pass && !t.Failed() {
		t.Error("the page reports a failure the test did not find")
	}
}

// data is the client's: the same bytes, to check the echo's hash here.
func data(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(sha256.Sum256([]byte("multiserver examples/browser"))).Read(b)
	return b
}

// buildClient builds the wasm client into a temporary directory.
func buildClient(t *testing.T) string {
	t.Helper()
	p, err := BuildClient(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// requireChromium returns Chromium's path; without it, it skips the test,
// or fails it under MULTISERVER_INTEROP=1.
func requireChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		const how = "install Debian's chromium package (the README's test command does)"
		if strict {
			t.Fatalf("MULTISERVER_INTEROP=1 but Chromium is unavailable: %v; %s", err, how)
		}
		t.Skipf("Chromium unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", err, how)
	}
	return p
}

// A browser is a headless Chromium in a process group of its own.
type browser struct {
	cmd    *exec.Cmd
	out    bytes.Buffer  // stdout and stderr; read only once exited
	exited chan struct{} // closed when the process has ended
	err    error         // of Wait
}

// launch starts Chromium on url. It is killed, all its processes, when
// ctx ends or the test does.
func launch(t *testing.T, ctx context.Context, chromium, url string) *browser {
	t.Helper()
	b := &browser{exited: make(chan struct{})}
	b.cmd = exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		// Chromium's own traffic (updates, sync, field trials) is not
		// wanted, and on a closed network it only gets in the way.
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", // the page's console too, for the failure message
		"--user-data-dir="+t.TempDir(),
		url)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	// Chromium starts helper processes: kill the whole group.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b.cmd.Cancel = func() error { return syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) }
	b.cmd.WaitDelay = 5 * time.Second // should a helper keep the output open
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(b.stop)
	return b
}

// stop kills Chromium's process group and waits for it to end.
func (b *browser) stop() {
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.exited
}

// tail returns the end of Chromium's output. Call it once exited.
func (b *browser) tail() string {
	const max = 4 << 10
	out := b.out.String()
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	return out
}
