// Package squidtest runs Debian's squid, the HTTP proxy most
// organisations put between their users and the web, in the foreground
// for one test: on a free loopback port, or inside a network namespace,
// with a configuration made for the test from the one Debian ships.
//
// When MULTISERVER_INTEROP=1, a missing squid fails the test; without
// it, the test is skipped.
package squidtest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shipped is the part of Debian's /etc/squid/squid.conf (squid 5.7) that
// decides what squid forwards, as it ships, without comments: requests
// only to the Safe_ports, CONNECT only to port 443, clients only from
// this machine. Over plain HTTP squid does not forward "Upgrade:
// websocket" either (it drops hop-by-hop headers), so a WebSocket passes
// it only as a CONNECT tunnel, and only to port 443.
const Shipped = `acl localnet src 0.0.0.1-0.255.255.255
acl localnet src 10.0.0.0/8
acl localnet src 100.64.0.0/10
acl localnet src 169.254.0.0/16
acl localnet src 172.16.0.0/12
acl localnet src 192.168.0.0/16
acl localnet src fc00::/7
acl localnet src fe80::/10
acl SSL_ports port 443
acl Safe_ports port 80
acl Safe_ports port 21
acl Safe_ports port 443
acl Safe_ports port 70
acl Safe_ports port 210
acl Safe_ports port 1025-65535
acl Safe_ports port 280
acl Safe_ports port 488
acl Safe_ports port 591
acl Safe_ports port 777
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access allow localhost manager
http_access deny manager
http_access allow localhost
http_access deny all
refresh_pattern ^ftp:		1440	20%	10080
refresh_pattern ^gopher:	1440	0%	1440
refresh_pattern -i (/cgi-bin/|\?) 0	0%	0
refresh_pattern .		0	20%	4320
`

// Config is how to run one squid.
type Config struct {
	// Extra is added to [Shipped]: directives of the test, such as
	// "read_timeout 2 seconds", or an acl and the http_reply_access rule
	// that uses it.
	Extra string
	// Netns, if set, runs squid in that network namespace (with "ip
	// netns exec"; that needs root).
	Netns string
	// Addr is the host:port squid listens on. If empty, 127.0.0.1 and a
	// free port; it must be set with Netns.
	Addr string
}

// A Proxy is squid running in the foreground for one test.
type Proxy struct {
	// URL is http://HOST:PORT.
	URL *url.URL
	// Conf is the configuration squid runs with.
	Conf string

	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// lookPath finds squid, which Debian installs in /usr/sbin, not always
// on a user's PATH.
func lookPath() (string, error) {
	bin, err := exec.LookPath("squid")
	if err == nil {
		return bin, nil
	}
	if _, serr := os.Stat("/usr/sbin/squid"); serr == nil {
		return "/usr/sbin/squid", nil
	}
	return "", err
}

// Start starts squid as c says, with no cache on disk, its logs in a
// directory of its own, no pid file and no helpers, and waits until it
// accepts connections. It stops when the test ends; if the test failed,
// its configuration and logs go to the test log.
func Start(t testing.TB, c Config) *Proxy {
	t.Helper()
	bin, err := lookPath()
	if err != nil {
		const how = "install Debian's squid (apt-get install squid; scripts/test.sh does)"
		if os.Getenv("MULTISERVER_INTEROP") == "1" {
			t.Fatalf("MULTISERVER_INTEROP=1 but squid is unavailable: %v; %s", err, how)
		}
		t.Skipf("squid unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", err, how)
	}
	addr := c.Addr
	if addr == "" {
		if c.Netns != "" {
			t.Fatal("squidtest: Config.Netns needs Config.Addr")
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	}
	// Started as root, squid runs as an unprivileged user, which must be
	// able to write its logs: the directory is its own, not t.TempDir
	// (whose parent only root may enter).
	dir, err := os.MkdirTemp("", "squidtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var runAs string
	if os.Geteuid() == 0 {
		runAs = unprivileged(t)
		u, err := user.Lookup(runAs)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p := &Proxy{
		URL:    &url.URL{Scheme: "http", Host: addr},
		Conf:   config(c.Extra, addr, dir, runAs),
		dir:    dir,
		exited: make(chan struct{}),
	}
	confPath := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(confPath, []byte(p.Conf), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	// -N: no daemon, the master and its worker one process; -d 1: the
	// important messages to stderr too, among them the one that says it
	// accepts connections.
	args := []string{bin, "-N", "-d", "1", "-f", confPath}
	if c.Netns != "" {
		args = append([]string{"ip", "netns", "exec", c.Netns}, args...)
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = stderr, stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("squid config:\n%s\n%s", p.Conf, p.Logs())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-p.exited:
			t.Fatalf("squid exited at start: %v\n%s", p.cmd.ProcessState, p.Logs())
		default:
		}
		if b, _ := os.ReadFile(stderr.Name()); bytes.Contains(b, []byte("Accepting HTTP Socket connections")) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("squid does not accept connections on %s after 10s\n%s", addr, p.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unprivileged returns the user squid runs as when started as root:
// Debian's "proxy", or else "nobody".
func unprivileged(t testing.TB) string {
	for _, name := range []string{"proxy", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			return name
		}
	}
	t.Fatal("squidtest: running as root, and there is neither a proxy nor a nobody user for squid to run as")
	return ""
}

// config returns the configuration of a squid listening on addr: the
// shipped rules, extra, and what keeps it to the test's directory.
func config(extra, addr, dir, runAs string) string {
	var b strings.Builder
	b.WriteString(Shipped)
	fmt.Fprintf(&b, "http_port %s\n", addr)
	b.WriteString("# Kept to the test: no disk cache, logs here, no pid file, no helpers.\n")
	fmt.Fprintf(&b, "access_log stdio:%s\n", filepath.Join(dir, "access.log"))
	fmt.Fprintf(&b, "cache_log %s\n", filepath.Join(dir, "cache.log"))
	fmt.Fprintf(&b, "coredump_dir %s\n", dir)
	b.WriteString("cache_store_log none\npid_filename none\nnetdb_filename none\nlogfile_rotate 0\n")
	b.WriteString("pinger_enable off\ncache_mem 8 MB\nvisible_hostname squidtest\ndns_nameservers 127.0.0.1\n")
	b.WriteString("shutdown_lifetime 0 seconds\n")
	if runAs != "" {
		fmt.Fprintf(&b, "cache_effective_user %s\n", runAs)
	}
	if extra != "" {
		b.WriteString("# The test's own.\n")
		b.WriteString(strings.TrimSpace(extra) + "\n")
	}
	return b.String()
}

// AccessLog returns squid's access log so far: a line per request, with
// its result (TCP_MISS/200, TCP_DENIED/403, …).
func (p *Proxy) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "access.log"))
	return string(b)
}

// Logs returns squid's stderr, cache log and access log.
func (p *Proxy) Logs() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "cache.log", "access.log"} {
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "squid %s:\n%s\n", name, data)
	}
	return b.String()
}

// Stop kills squid and waits for it to end. It may be called more than
// once.
func (p *Proxy) Stop() {
	p.cmd.Process.Kill()
	<-p.exited
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
