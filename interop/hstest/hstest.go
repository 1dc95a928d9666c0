// Package hstest runs interop/hyperswarm/net.js for tests and benchmarks:
// one node process with a Hyperswarm DHT testnet on loopback, an echo
// peer on it and @hyperswarm/dht-relay 0.4.3 over WebSocket, as pinned in
// interop/hyperswarm/package.json.
package hstest

import (
	"bufio"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Dir is the directory of net.js and its node_modules.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "hyperswarm")
}

// Node returns node's path, or why net.js cannot run here.
func Node() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", err
	}
	for _, p := range []string{"hyperdht", "@hyperswarm/dht-relay", "ws"} {
		if _, err := os.Stat(filepath.Join(Dir(), "node_modules", p, "package.json")); err != nil {
			return "", err
		}
	}
	return node, nil
}

// Strict reports whether missing tools fail tests instead of skipping
// them (MULTISERVER_INTEROP=1, as CI sets it).
func Strict() bool { return os.Getenv("MULTISERVER_INTEROP") == "1" }

// TB is what Start needs of a test.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// Require returns node's path, or skips t (fails it under
// MULTISERVER_INTEROP=1) when node or the npm packages are missing.
func Require(t TB) string {
	t.Helper()
	node, err := Node()
	if err != nil {
		const how = "install Node.js 20+ and run `npm ci --prefix interop/hyperswarm` from the repository root"
		if Strict() {
			t.Fatalf("MULTISERVER_INTEROP=1 but the Hyperswarm packages are unavailable: %v; %s", err, how)
		}
		t.Skipf("Hyperswarm packages unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", err, how)
	}
	return node
}

// A Net is a running net.js.
type Net struct {
	Relay       string            // the relay's ws:// URL
	PublicKey   ed25519.PublicKey // the echo peer's key
	RefusingKey ed25519.PublicKey // the key of a peer whose firewall refuses every dialer

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	once  sync.Once
}

// Start runs net.js with node and waits until it listens. Stop ends it.
func Start(node string) (*Net, error) {
	cmd := exec.Command(node, "net.js")
	cmd.Dir = Dir()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Net{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(n.done)
	}()
	var info struct{ Relay, PublicKey, RefusingKey string }
	select {
	case line, ok := <-lines:
		if !ok {
			n.Kill()
			return nil, errors.New("hstest: net.js ended before it listened")
		}
		if err := json.Unmarshal(line, &info); err != nil {
			n.Kill()
			return nil, fmt.Errorf("hstest: net.js printed %q: %w", line, err)
		}
	case <-time.After(60 * time.Second):
		n.Kill()
		return nil, errors.New("hstest: net.js did not listen within 60s")
	}
	key, err := hex.DecodeString(info.PublicKey)
	refusing, err2 := hex.DecodeString(info.RefusingKey)
	if err != nil || err2 != nil || len(key) != ed25519.PublicKeySize || len(refusing) != ed25519.PublicKeySize {
		n.Kill()
		return nil, fmt.Errorf("hstest: net.js printed keys %q and %q", info.PublicKey, info.RefusingKey)
	}
	n.Relay, n.PublicKey, n.RefusingKey = info.Relay, key, refusing
	return n, nil
}

// StartT starts a Net for t, which Cleanup stops; it skips or fails t as
// Require does.
func StartT(t TB) *Net {
	t.Helper()
	n, err := Start(Require(t))
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

// Stop ends net.js cleanly (its stdin closes) and waits for it, killing it
// after 10s.
func (n *Net) Stop() {
	n.once.Do(func() { n.stdin.Close() })
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.Kill()
	}
}

// Kill ends net.js with SIGKILL, relay and peer at once, and waits for it.
func (n *Net) Kill() {
	n.cmd.Process.Kill()
	<-n.done
	n.once.Do(func() { n.stdin.Close() })
}

// shared is the Net of a test binary, for Shared and Main.
var shared struct {
	once sync.Once
	net  *Net
	err  error
}

// Shared returns the test binary's net.js, started by the first test
// that needs it and stopped by Main after the last; it skips t as
// Require does.
func Shared(t TB) *Net {
	t.Helper()
	node := Require(t)
	shared.once.Do(func() { shared.net, shared.err = Start(node) })
	if shared.err != nil {
		t.Fatalf("net.js: %v", shared.err)
	}
	return shared.net
}

// Main is a TestMain for packages that use Shared: it runs the tests,
// stops the shared net.js, then fails the run if leaked (goleak.Find)
// finds what outlived the tests.
func Main(m interface{ Run() int }, leaked func() error) {
	code := m.Run()
	if shared.net != nil {
		shared.net.Stop()
	}
	if code == 0 {
		if err := leaked(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
