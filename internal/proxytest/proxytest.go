// Package proxytest runs a real HTTP CONNECT proxy, Debian's tinyproxy,
// on loopback for tests of the plugs that dial through proxies.
//
// When MULTISERVER_INTEROP=1, a missing tinyproxy fails the test; without
// it, the test is skipped.
package proxytest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A Proxy is tinyproxy running in the foreground for one test.
type Proxy struct {
	// URL is http://127.0.0.1:PORT, without credentials.
	URL *url.URL
	cmd *exec.Cmd
	// exited is closed once the process has ended.
	exited chan struct{}
}

// Start starts tinyproxy on a free loopback port, allowing CONNECT to
// the given ports only, and, if user is not empty, only with that user
// and password. The proxy stops when the test ends; if the test failed,
// its configuration and log go to the test log.
func Start(t testing.TB, ports []int, user, pass string) *Proxy {
	t.Helper()
	bin, err := exec.LookPath("tinyproxy")
	if err != nil {
		const how = "install Debian's tinyproxy (apt-get install tinyproxy; scripts/test.sh does)"
		if os.Getenv("MULTISERVER_INTEROP") == "1" {
			t.Fatalf("MULTISERVER_INTEROP=1 but tinyproxy is unavailable: %v; %s", err, how)
		}
		t.Skipf("tinyproxy unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", err, how)
	}
	port := FreePort(t)
	conf := fmt.Sprintf("Port %d\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Connect\n", port)
	for _, p := range ports {
		conf += fmt.Sprintf("ConnectPort %d\n", p)
	}
	if user != "" {
		conf += fmt.Sprintf("BasicAuth %s %s\n", user, pass)
	}
	dir := t.TempDir()
	confPath := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "tinyproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	p := &Proxy{
		URL:    &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
		cmd:    exec.Command(bin, "-d", "-c", confPath),
		exited: make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("tinyproxy config:\n%s\ntinyproxy log:\n%s", conf, b)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("tinyproxy exited at start: %v\n%s", p.cmd.ProcessState, b)
		default:
		}
		if c, err := net.Dial("tcp", p.URL.Host); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy is not listening on %s after 10s", p.URL.Host)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the proxy and waits until its port no longer accepts
// connections. It may be called more than once.
func (p *Proxy) Stop() {
	p.cmd.Process.Kill()
	<-p.exited
	for range 100 {
		c, err := net.Dial("tcp", p.URL.Host)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
