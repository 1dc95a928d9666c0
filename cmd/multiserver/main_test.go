package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/keys"
)

// cliBin is the multiserver binary that TestMain builds. The tests drive
// it as scripts outside the repository do.
var cliBin string

// runTimeout bounds one short-lived run of the binary; waitTimeout bounds
// waiting for a server to start or to stop; pipeDelay bounds how long
// Wait waits for the output of a process that has exited, in case it left
// children holding its stdout or stderr. None is a timing assertion: they
// only turn a hang into a failure.
const (
	runTimeout  = 20 * time.Second
	waitTimeout = 10 * time.Second
	pipeDelay   = 2 * time.Second
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "multiserver-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBin = filepath.Join(dir, "multiserver")
	if out, err := exec.Command("go", "build", "-o", cliBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// cliResult is what one run of the binary did.
type cliResult struct {
	stdout []byte
	stderr string
	code   int
}

// runCLI runs the binary with args and stdin to the end.
func runCLI(t *testing.T, stdin []byte, args ...string) cliResult {
	t.Helper()
	return runUnder(t, nil, stdin, args...)
}

// runUnder is runCLI with the binary run by the command line prefix
// ("ip netns exec NS env VAR=VALUE"), if any.
func runUnder(t *testing.T, prefix []string, stdin []byte, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	argv := append(append(slices.Clone(prefix), cliBin), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = pipeDelay
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("multiserver %s: still running after %v; stderr:\n%s", strings.Join(args, " "), runTimeout, stderr.String())
	}
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("multiserver %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{stdout.Bytes(), stderr.String(), code}
}

// wantOneLine checks that stderr is exactly one line holding every one
// of subs.
func wantOneLine(t *testing.T, what, stderr string, subs ...string) {
	t.Helper()
	if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("%s: stderr = %q, want exactly one line", what, stderr)
	}
	for _, s := range subs {
		if !strings.Contains(stderr, s) {
			t.Errorf("%s: stderr = %q, want it to mention %q", what, stderr, s)
		}
	}
}

// serveProc is a running "multiserver serve".
type serveProc struct {
	cmd    *exec.Cmd
	addr   string // the first line of its stdout
	stderr *logtest.Buffer
	done   chan struct{} // closed once the process has ended
}

// startServe starts "multiserver serve args..." and waits for the
// address it prints. The process is killed at the end of the test if it
// is still running.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	return startCommand(t, "serve", args...)
}

// startCommand starts "multiserver name args..." and waits for the first
// line it prints, as startServe does.
func startCommand(t *testing.T, name string, args ...string) *serveProc {
	t.Helper()
	return startArgv(t, append([]string{cliBin, name}, args...)...)
}

// startArgv starts the command line argv, which runs the binary (under
// "ip netns exec", say), and waits for the first line it prints, as
// startServe does.
func startArgv(t *testing.T, argv ...string) *serveProc {
	t.Helper()
	what := strings.Join(argv, " ")
	p := &serveProc{
		cmd:    exec.Command(argv[0], argv[1:]...),
		stderr: new(logtest.Buffer),
		done:   make(chan struct{}),
	}
	p.cmd.WaitDelay = pipeDelay
	first := newLineCatcher()
	p.cmd.Stdout, p.cmd.Stderr = first, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-first.line:
	case <-p.done:
		t.Fatalf("%s exited with %v before printing its address; stderr:\n%s", what, p.cmd.ProcessState, p.stderr)
	case <-time.After(waitTimeout):
		t.Fatalf("%s printed no address within %v; stderr:\n%s", what, waitTimeout, p.stderr)
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *serveProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(waitTimeout):
		t.Fatalf("serve still running %v after SIGTERM; stderr:\n%s", waitTimeout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// lineCatcher is an io.Writer that sends the first line written to it,
// without its newline, on line, and discards the rest.
type lineCatcher struct {
	line chan string // buffered

	mu   sync.Mutex
	buf  []byte
	sent bool
}

func newLineCatcher() *lineCatcher { return &lineCatcher{line: make(chan string, 1)} }

func (w *lineCatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.sent {
		w.buf = append(w.buf, p...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.line <- string(w.buf[:i])
			w.sent = true
		}
	}
	return len(p), nil
}

// writeKey saves a new identity in dir/name and returns the path and the
// public key.
func writeKey(t *testing.T, dir, name string) (string, ed25519.PublicKey) {
	t.Helper()
	priv := keys.Generate()
	path := filepath.Join(dir, name)
	if err := keys.Save(path, priv); err != nil {
		t.Fatal(err)
	}
	return path, priv.Public().(ed25519.PublicKey)
}

// randomAppKey returns a new app key in base64.
func randomAppKey() string {
	return base64.StdEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
