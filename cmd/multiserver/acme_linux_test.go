//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/internal/testcert"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// The ACME test runs Pebble, Let's Encrypt's test CA, with its mock DNS
// server pebble-challtestsrv: both are programs of this module version,
// which "go install" fetches through the module proxy (checked against
// the checksum database) and builds once into the user cache directory.
const pebbleModule = "github.com/letsencrypt/pebble/v2"

const pebbleVersion = "v2.10.3"

// acmeTimeout bounds each wait of the ACME test for a certificate or a
// failure: Pebble answers in a second or so, more on a loaded machine.
const acmeTimeout = 40 * time.Second

var pebbleOnce struct {
	sync.Once
	dir string
	err error
}

// pebbleBinaries returns the directory that holds pebble and
// pebble-challtestsrv, building them the first time. When they cannot
// be built (no module proxy), the test is skipped, unless
// MULTISERVER_INTEROP is set: then it fails.
func pebbleBinaries(t *testing.T) string {
	t.Helper()
	pebbleOnce.Do(func() { pebbleOnce.dir, pebbleOnce.err = installPebble() })
	if pebbleOnce.err != nil {
		if os.Getenv("MULTISERVER_INTEROP") == "" {
			t.Skipf("skipped: cannot build Pebble (set MULTISERVER_INTEROP=1 to fail instead): %v", pebbleOnce.err)
		}
		t.Fatalf("cannot build Pebble: %v", pebbleOnce.err)
	}
	return pebbleOnce.dir
}

// installPebble builds the two programs into a directory of the user
// cache named after the version, unless they are there already. It
// installs into a directory of its own and renames, so that two test
// binaries building at once do not see half-written programs.
func installPebble() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "multiserver-test", "pebble-"+pebbleVersion)
	if have(dir, "pebble") && have(dir, "pebble-challtestsrv") {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install",
		pebbleModule+"/cmd/pebble@"+pebbleVersion,
		pebbleModule+"/cmd/pebble-challtestsrv@"+pebbleVersion)
	// Outside any module, and with no GOFLAGS of the caller's (such as
	// -mod=vendor) that would not apply to it.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s", pebbleModule, pebbleVersion, err, out)
	}
	for _, name := range []string{"pebble", "pebble-challtestsrv"} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func have(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startProcess runs argv with env added until the test ends, its output
// in the returned buffer, and returns it and a function that stops it
// early. Stopping kills its process group.
func startProcess(t *testing.T, env []string, argv ...string) (*logtest.Buffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	killGroupOnCancel(cmd)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = pipeDelay
	out := new(logtest.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return out, stop
}

// handedOut holds the ports freePort returned: the kernel may offer a
// port again once its listener closed, before the process meant to bind
// it did.
var handedOut sync.Map

// freePort returns a loopback port on which nothing listens now, for
// TCP and, with udp, for UDP too, and that it did not return before.
func freePort(t *testing.T, udp bool) int {
	t.Helper()
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if _, taken := handedOut.Load(port); taken {
			continue
		}
		if udp {
			pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				continue
			}
			pc.Close()
		}
		handedOut.Store(port, true)
		return port
	}
	t.Fatal("no free port")
	return 0
}

// pebbleCA is a running Pebble with its mock DNS server.
type pebbleCA struct {
	log       *logtest.Buffer // Pebble's output
	stop      func()          // stops Pebble
	directory string          // the ACME directory URL
	certFile  string          // Pebble's own HTTPS certificate
	roots     *x509.CertPool  // the root Pebble issues under
	dnsAPI    string          // pebble-challtestsrv's management URL
	https     *http.Client    // trusting Pebble's HTTPS certificate
}

// startPebble runs pebble-challtestsrv as the only DNS server of Pebble,
// answering 127.0.0.1 for every name, then Pebble, which validates
// TLS-ALPN-01 challenges on tlsPort and issues certificates valid for
// validity, and waits until both answer.
func startPebble(t *testing.T, tlsPort int, validity time.Duration) *pebbleCA {
	t.Helper()
	bin := pebbleBinaries(t)
	dir := t.TempDir()
	cert := testcert.New(t)
	ca := &pebbleCA{
		certFile: filepath.Join(dir, "cert.pem"),
		https: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: cert.Pool},
			DisableKeepAlives: true,
		}},
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(ca.certFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	dnsPort, dnsAPIPort := freePort(t, true), freePort(t, false)
	ca.dnsAPI = fmt.Sprintf("http://127.0.0.1:%d", dnsAPIPort)
	// Only the DNS server, over UDP and TCP (Pebble asks over TCP); no
	// AAAA answers, as the relay listens on IPv4.
	startProcess(t, nil, filepath.Join(bin, "pebble-challtestsrv"),
		"-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-management", fmt.Sprintf("127.0.0.1:%d", dnsAPIPort))

	port, mgmt := freePort(t, false), freePort(t, false)
	config := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":             ca.certFile,
		"privateKey":              keyFile,
		"httpPort":                freePort(t, false), // HTTP-01: unused, nothing listens
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "the test's", "validityPeriod": int(validity.Seconds()),
		}},
	}}
	b, _ := json.Marshal(config)
	configFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(configFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Validations at once, no nonce rejected, every order validated
	// anew (no authorization reused); PEBBLE_VA_ALWAYS_VALID unset: the
	// CA really connects to the relay.
	ca.log, ca.stop = startProcess(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0", "PEBBLE_VA_ALWAYS_VALID="},
		filepath.Join(bin, "pebble"), "-config", configFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))
	ca.directory = fmt.Sprintf("https://127.0.0.1:%d/dir", port)

	deadline := time.Now().Add(acmeTimeout)
	var root []byte
	for {
		var err error
		if _, err = ca.get(ca.directory); err == nil {
			if root, err = ca.get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt)); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble does not answer: %v; its output:\n%s", err, ca.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ca.roots = x509.NewCertPool()
	if !ca.roots.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's root is not PEM: %q", root)
	}
	return ca
}

func (ca *pebbleCA) get(url string) ([]byte, error) {
	resp, err := ca.https.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}

// orders is how many orders Pebble has taken.
func (ca *pebbleCA) orders() int {
	return strings.Count(ca.log.String(), "Added order ")
}

// answer makes the DNS server answer addr for name's A queries.
func (ca *pebbleCA) answer(t *testing.T, name, addr string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"host": name, "addresses": []string{addr}})
	resp, err := ca.https.Post(ca.dnsAPI+"/add-a", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pebble-challtestsrv add-a: %s", resp.Status)
	}
}

// startACMERelay runs "multiserver relay --acme domain" on addr against
// ca's directory, trusting ca's HTTPS certificate as a system root.
func startACMERelay(t *testing.T, ca *pebbleCA, addr, domain, cache string) *serveProc {
	t.Helper()
	return startArgv(t, "env", "SSL_CERT_FILE="+ca.certFile, cliBin, "relay", "--listen", addr,
		"--acme", domain, "--acme-directory", ca.directory, "--acme-email", "ops@"+domain,
		"--acme-cache", cache, "--drain", "1s")
}

// handshake connects to addr with TLS and the server name, trusting only
// roots, offering h2 and HTTP/1.1 as a browser does, and returns the
// connection state.
func handshake(addr, name string, roots *x509.CertPool) (tls.ConnectionState, error) {
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config:    &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

// waitLog waits until p's stderr holds want and returns it.
func waitLog(t *testing.T, p *serveProc, want string) string {
	t.Helper()
	for deadline := time.Now().Add(acmeTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s := p.stderr.String(); strings.Contains(s, want) {
			return s
		}
	}
	t.Fatalf("relay logged no %q within %v; stderr:\n%s", want, acmeTimeout, p.stderr)
	return ""
}

// cpuTime is the CPU time p has used so far, from /proc.
func cpuTime(t *testing.T, p *serveProc) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses:
	// state is the first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// TestACME runs "multiserver relay --acme" against Pebble: the relay
// gets a certificate by a real TLS-ALPN-01 validation (Pebble connects to
// the relay's port), serves it to a client that trusts only Pebble's
// root, carries a relayed conn under it, and a restarted relay serves it
// from its cache with the CA gone. A domain whose DNS points elsewhere
// fails: the relay says why, keeps running and does not ask again at
// every handshake.
func TestACME(t *testing.T) {
	t.Parallel()
	relayPort := freePort(t, false)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", relayPort)
	ca := startPebble(t, relayPort, 90*24*time.Hour)
	cache := filepath.Join(t.TempDir(), "acme")
	r := startACMERelay(t, ca, relayAddr, "relay.test", cache)
	if r.addr != "wss://relay.test/relay" {
		t.Fatalf("relay printed %q, want wss://relay.test/relay", r.addr)
	}
	// The relay gets its certificate as it starts, without a client.
	logs := waitLog(t, r, "msg=\"acme certificate\" domain=relay.test")
	if strings.Contains(logs, "acme failed") {
		t.Errorf("relay logged a failure:\n%s", logs)
	}

	var leaf []byte
	t.Run("certificate", func(t *testing.T) {
		st, err := handshake(relayAddr, "relay.test", ca.roots)
		if err != nil {
			t.Fatalf("handshake trusting Pebble's root: %v; relay stderr:\n%s", err, r.stderr)
		}
		c := st.PeerCertificates[0]
		if !slices.Equal(c.DNSNames, []string{"relay.test"}) {
			t.Errorf("certificate for %q, want relay.test", c.DNSNames)
		}
		if _, err := handshake(relayAddr, "relay.test", nil); err == nil {
			t.Error("a client trusting the system roots accepts Pebble's certificate")
		}
		// WebSocket needs HTTP/1.1: a client that offers h2 too gets it.
		if st.NegotiatedProtocol != "http/1.1" {
			t.Errorf("ALPN %q, want http/1.1", st.NegotiatedProtocol)
		}
		leaf = c.Raw
		if ca.orders() == 0 || strings.Contains(ca.log.String(), "always returns valid") {
			t.Errorf("Pebble's log shows no order, or that it skips validations:\n%s", ca.log)
		}
		if fi, err := os.Stat(cache); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o700 {
			t.Errorf("cache directory: mode %v, want 0700", fi.Mode().Perm())
		}
		for _, name := range []string{"relay.test", "acme_account+key"} {
			if _, err := os.Stat(filepath.Join(cache, name)); err != nil {
				t.Errorf("cache: %v", err)
			}
		}
	})
	if leaf == nil {
		t.FailNow()
	}

	t.Run("relayed conn", func(t *testing.T) {
		// DNS sends relay.test to 127.0.0.1:443, forwarded to the relay.
		tr := http.DefaultTransport.(*http.Transport).Clone() // ForceAttemptHTTP2: offers h2
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.roots}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != "relay.test:443" {
				return nil, fmt.Errorf("dial %s: not the relay", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, relayAddr)
		}
		defer tr.CloseIdleConnections()
		peer := func() *multiserver.Network {
			id := newIdentity(t)
			nt, err := noise.New(noise.Config{Identity: id})
			if err != nil {
				t.Fatal(err)
			}
			n, err := multiserver.New(multiserver.Config{
				Plugs:      []multiserver.Plug{&relay.Plug{Identity: id, HTTPClient: &http.Client{Transport: tr}, Carriers: []string{"ws"}}},
				Transforms: []multiserver.Transform{nt},
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		ctx, cancel := context.WithTimeout(context.Background(), acmeTimeout)
		defer cancel()
		ln, err := peer().Listen(ctx, "relay:"+r.addr+"~noise")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			io.Copy(c, c)
		}()
		// Listen waits 5 s for the registration; a loaded machine may
		// need longer, and the relay stack is advertised once it is done.
		addr := ln.Address(multiserver.ScopeDevice)
		for ; addr == "" && ctx.Err() == nil; addr = ln.Address(multiserver.ScopeDevice) {
			time.Sleep(20 * time.Millisecond)
		}
		c, err := peer().Dial(ctx, addr)
		if err != nil {
			t.Fatalf("dial through the relay: %v; relay stderr:\n%s", err, r.stderr)
		}
		defer c.Close()
		msg := randomBytes(256 << 10)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo through the relay: %d bytes equal, %v", len(got), err)
		}
		if p := multiserver.Info(c).Path; !p.Relayed || p.Carrier != "wss" {
			t.Errorf("path %+v, want relayed over wss", p)
		}
	})

	t.Run("validation fails", func(t *testing.T) {
		// Its DNS points at 127.0.0.2, where nothing listens.
		ca.answer(t, "elsewhere.test", "127.0.0.2")
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, false))
		p := startACMERelay(t, ca, addr, "elsewhere.test", t.TempDir())
		logs := waitLog(t, p, "msg=\"acme failed\" domain=elsewhere.test")
		for line := range strings.Lines(logs) {
			if strings.Contains(line, "acme") {
				t.Logf("relay: %s", line)
			}
		}
		if !strings.Contains(logs, "msg=\"acme validation failed\" domain=elsewhere.test challenge=tls-alpn-01") {
			t.Errorf("the relay did not log the CA's reason:\n%s", logs)
		}
		if !strings.Contains(logs, "127.0.0.2") || !strings.Contains(logs, "tls-alpn-01") {
			t.Errorf("the failure does not say the CA could not connect to 127.0.0.2 for tls-alpn-01:\n%s", logs)
		}
		orders, cpu := ca.orders(), cpuTime(t, p)
		for range 3 {
			if _, err := handshake(addr, "elsewhere.test", ca.roots); err == nil {
				t.Fatal("handshake succeeded without a certificate")
			}
		}
		time.Sleep(2 * time.Second)
		if n := ca.orders(); n != orders {
			t.Errorf("3 handshakes after the failure made %d orders, want none until autocert retries", n-orders)
		}
		if used := cpuTime(t, p) - cpu; used > time.Second {
			t.Errorf("relay used %v of CPU in the 2 s after its failure: spinning?", used)
		}
		if n, m := strings.Count(p.stderr.String(), "acme failed"), strings.Count(p.stderr.String(), "acme validation failed"); n != 1 || m != 1 {
			t.Errorf("%d failures and %d failed validations logged, want 1 each (the handshakes within a minute do not ask the CA); stderr:\n%s", n, m, p.stderr)
		}
		if code := p.stop(t); code != 0 {
			t.Errorf("relay after SIGTERM: exit %d; stderr:\n%s", code, p.stderr)
		}
	})

	t.Run("cache", func(t *testing.T) {
		if code := r.stop(t); code != 0 {
			t.Errorf("relay after SIGTERM: exit %d; stderr:\n%s", code, r.stderr)
		}
		ca.stop() // what the relay serves now can only come from its cache
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, false))
		again := startACMERelay(t, ca, addr, "relay.test", cache)
		waitLog(t, again, "msg=\"acme certificate\" domain=relay.test")
		st, err := handshake(addr, "relay.test", ca.roots)
		if err != nil {
			t.Fatalf("restarted relay, CA gone: %v; stderr:\n%s", err, again.stderr)
		}
		if !bytes.Equal(st.PeerCertificates[0].Raw, leaf) {
			t.Error("the restarted relay serves another certificate than the cached one")
		}
		if strings.Contains(again.stderr.String(), "acme failed") {
			t.Errorf("restarted relay logged a failure:\n%s", again.stderr)
		}
		if code := again.stop(t); code != 0 {
			t.Errorf("relay after SIGTERM: exit %d; stderr:\n%s", code, again.stderr)
		}
	})
}

// TestACMERenewal: with certificates valid for 15 s, autocert renews a
// third of the lifetime before the end, so some 10 s after the relay got
// its certificate it serves a new one, validated again by Pebble on the
// relay's port while the relay serves the old one.
func TestACMERenewal(t *testing.T) {
	t.Parallel()
	const validity = 15 * time.Second
	relayPort := freePort(t, false)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", relayPort)
	ca := startPebble(t, relayPort, validity)
	cache := t.TempDir()
	r := startACMERelay(t, ca, relayAddr, "relay.test", cache)
	waitLog(t, r, "msg=\"acme certificate\" domain=relay.test")
	st, err := handshake(relayAddr, "relay.test", ca.roots)
	if err != nil {
		t.Fatalf("handshake: %v; relay stderr:\n%s", err, r.stderr)
	}
	first := st.PeerCertificates[0]
	if got := first.NotAfter.Sub(first.NotBefore); got < validity-2*time.Second || got > validity {
		t.Fatalf("certificate valid for %v, want %v: Pebble's profile not applied?", got, validity)
	}
	orders := ca.orders()
	deadline := time.Now().Add(acmeTimeout)
	for {
		time.Sleep(250 * time.Millisecond)
		st, err := handshake(relayAddr, "relay.test", ca.roots)
		if err != nil {
			t.Fatalf("handshake while renewing: %v; relay stderr:\n%s", err, r.stderr)
		}
		if c := st.PeerCertificates[0]; !bytes.Equal(c.Raw, first.Raw) {
			if !c.NotAfter.After(first.NotAfter) || !slices.Equal(c.DNSNames, []string{"relay.test"}) {
				t.Errorf("renewed certificate for %q until %v, the first until %v", c.DNSNames, c.NotAfter, first.NotAfter)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay still serves its first certificate (until %v) at %v; relay stderr:\n%s", first.NotAfter, time.Now(), r.stderr)
		}
	}
	if ca.orders() <= orders {
		t.Error("the certificate changed without an order at Pebble")
	}
	if strings.Contains(r.stderr.String(), "acme") && strings.Contains(r.stderr.String(), "failed") {
		t.Errorf("relay logged a failure:\n%s", r.stderr)
	}
}
