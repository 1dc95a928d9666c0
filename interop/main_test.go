// Package interop_test checks this module against the JavaScript
// implementations it must interoperate with: npm multiserver 3.8.2 with
// secret-handshake 1.1.21, the shs1-test suite, js/relay.js, a second
// relay server written from spec/relay.md, and the SSB room and members of
// ssbroom/ (npm ssb-room 1.3.0, ssb-room-client 2.0.2). See README.md.
package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// strict reports whether missing JavaScript tools fail the tests instead
// of skipping them.
var strict = os.Getenv("MULTISERVER_INTEROP") == "1"

// requireNode skips the test, or fails it under MULTISERVER_INTEROP=1, when
// node or the npm packages in js/ are missing. It returns node's path.
func requireNode(t testing.TB) string {
	t.Helper()
	return requireNPM(t, "js", "the JavaScript peers", "multiserver", "shs1-test", "ws")
}

// requireNPM returns node's path, or skips t (fails it under
// MULTISERVER_INTEROP=1) when node or one of pkgs, installed by npm in
// dir, is missing; what names them in the message.
func requireNPM(t testing.TB, dir, what string, pkgs ...string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, p := range pkgs {
		if err == nil {
			_, err = os.Stat(dir + "/node_modules/" + p + "/package.json")
		}
	}
	if err != nil {
		how := "install Node.js 20+ and run `npm ci --prefix interop/" + dir + "` from the repository root"
		if strict {
			t.Fatalf("MULTISERVER_INTEROP=1 but %s are unavailable: %v; %s", what, err, how)
		}
		t.Skipf("%s unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", what, err, how)
	}
	return node
}

// A peer is a long-term identity known to both sides of a test.
type peer struct {
	seed []byte
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func newPeer(t *testing.T) peer {
	t.Helper()
	seed := random(t, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	return peer{seed: seed, priv: priv, pub: priv.Public().(ed25519.PublicKey)}
}

func (p peer) b64() string { return b64(p.pub) }

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// A report is what server.js and client.js print per connection.
type report struct {
	Remote   string `json:"remote"`
	Bytes    int    `json:"bytes"`
	Sent     string `json:"sent"`
	Received string `json:"received"`
	Error    string `json:"error"`
}

// A jsServer is a running `node js/server.js`.
type jsServer struct {
	addr    string        // advertised address, its first stdout line
	reports chan report   // one per connection or failed handshake
	stderr  *bytes.Buffer // read only after the process has exited
}

// startJSServer runs js/server.js with args and waits for its address.
// The process is killed when the test ends.
func startJSServer(t *testing.T, args ...string) *jsServer {
	t.Helper()
	node := requireNode(t)
	cmd := exec.Command(node, append([]string{"js/server.js"}, args...)...)
	s := &jsServer{reports: make(chan report, 100), stderr: new(bytes.Buffer)}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start js/server.js: %v", err)
	}
	addr := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		for sc.Scan() {
			var r report
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r.Error = "unparsable line from server.js: " + sc.Text()
			}
			s.reports <- r
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-readDone
		cmd.Wait()
		if t.Failed() && s.stderr.Len() > 0 {
			t.Logf("js/server.js stderr:\n%s", s.stderr)
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("js/server.js exited without printing its address")
		}
		s.addr = a
	case <-time.After(20 * time.Second):
		t.Fatalf("js/server.js printed no address within 20s")
	}
	return s
}

// next returns the server's next report, failing the test after timeout.
func (s *jsServer) next(t *testing.T, timeout time.Duration) report {
	t.Helper()
	select {
	case r := <-s.reports:
		return r
	case <-time.After(timeout):
		t.Fatalf("js/server.js reported nothing within %v", timeout)
		return report{}
	}
}

// runJSClient runs js/client.js with args to completion. It returns the
// client's report on success, or its one-line error.
func runJSClient(ctx context.Context, t *testing.T, args ...string) (report, error) {
	t.Helper()
	node := requireNode(t)
	cmd := exec.CommandContext(ctx, node, append([]string{"js/client.js"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return report{}, &jsError{err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("js/client.js printed %q: %v", stdout.String(), err)
	}
	return r, nil
}

// A jsError is a failed run of a JavaScript peer.
type jsError struct {
	err    error
	stderr string
}

func (e *jsError) Error() string { return e.err.Error() + ": " + e.stderr }
