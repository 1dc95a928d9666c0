package httpproxy

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProxy is an in-test CONNECT proxy. For each CONNECT it records the
// request, writes reply raw, and, if the reply is a 2xx, tunnels to the
// asked address.
type fakeProxy struct {
	*httptest.Server
	reply string

	mu     sync.Mutex
	reqs   []*http.Request
	closed bool
	wg     sync.WaitGroup // hijacked handlers, which Close does not wait for
}

func newFakeProxy(t *testing.T, tls bool, reply string) *fakeProxy {
	t.Helper()
	p := &fakeProxy{reply: reply}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	if tls {
		p.StartTLS()
	} else {
		p.Start()
	}
	t.Cleanup(func() {
		p.Close()
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *fakeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.reqs = append(p.reqs, r)
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := io.WriteString(c, p.reply); err != nil || !strings.HasPrefix(p.reply, "HTTP/1.1 2") {
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); close(done) }()
	io.Copy(c, up)
	c.Close()
	<-done
}

func (p *fakeProxy) url(t *testing.T, user *url.Userinfo) *url.URL {
	t.Helper()
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = user
	return u
}

func (p *fakeProxy) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.reqs...)
}

// echo serves one echo per conn on loopback, and returns its address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("read %q, %v; want %q", b, err, msg)
	}
}

func TestDial(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[tls]
		t.Run(name, func(t *testing.T) {
			p := newFakeProxy(t, tls, "HTTP/1.1 200 Connection established\r\n\r\n")
			if tls {
				rootCAs = x509.NewCertPool()
				rootCAs.AddCert(p.Certificate())
				t.Cleanup(func() { rootCAs = nil })
			}
			addr := echo(t)
			c, err := Dial(context.Background(), nil, p.url(t, url.UserPassword("alice", "s3cret")), addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c, "hello through the proxy")
			reqs := p.requests()
			if len(reqs) != 1 || reqs[0].Host != addr {
				t.Fatalf("proxy saw %d requests, first for %q; want one CONNECT %s", len(reqs), reqs[0].Host, addr)
			}
			if got, want := reqs[0].Header.Get("Proxy-Authorization"), "Basic YWxpY2U6czNjcmV0"; got != want {
				t.Errorf("Proxy-Authorization = %q, want %q", got, want)
			}
		})
	}
}

func TestDialAsksForThePort(t *testing.T) {
	p := newFakeProxy(t, false, "HTTP/1.1 403 Forbidden\r\n\r\n")
	for _, addr := range []string{"example.org:8008", "[2001:db8::1]:9", "example.org:443"} {
		Dial(context.Background(), nil, p.url(t, nil), addr)
	}
	reqs := p.requests()
	want := []string{"example.org:8008", "[2001:db8::1]:9", "example.org:443"}
	for i, r := range reqs {
		if r.Method != http.MethodConnect || r.Host != want[i] || r.RequestURI != want[i] {
			t.Errorf("request %d: %s %s (Host %s), want CONNECT %s", i, r.Method, r.RequestURI, r.Host, want[i])
		}
		if r.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("request %d has Proxy-Authorization without credentials", i)
		}
	}
	if len(reqs) != len(want) {
		t.Fatalf("proxy saw %d requests, want %d", len(reqs), len(want))
	}
}

// The first bytes of the tunnel may arrive in the same read as the
// proxy's response; they must reach the caller.
func TestDialKeepsBytesAfterHeaders(t *testing.T) {
	p := newFakeProxy(t, false, "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nearly bytes")
	c, err := Dial(context.Background(), nil, p.url(t, nil), echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, len("early bytes"))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "early bytes" {
		t.Fatalf("read %q, %v; want the bytes sent after the headers", b, err)
	}
	roundTrip(t, c, "and then the tunnel")
	if _, ok := c.(interface{ NetConn() net.Conn }); !ok {
		t.Errorf("%T has no NetConn method", c)
	}
}

func TestDialRefused(t *testing.T) {
	p := newFakeProxy(t, false, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
	_, err := Dial(context.Background(), nil, p.url(t, url.UserPassword("alice", "wrong")), "example.org:8008")
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != 407 || pe.Status != "407 Proxy Authentication Required" {
		t.Fatalf("Dial = %v, want a *ProxyError with status 407", err)
	}
	proxy := strings.TrimPrefix(p.URL, "http://")
	want := "httpproxy: proxy " + proxy + " refused CONNECT to example.org:8008: 407 Proxy Authentication Required"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestDialUnreachableProxy(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := Dial(context.Background(), nil, &url.URL{Scheme: "http", Host: addr}, "example.org:8008")
	var pe *ProxyError
	var oe *net.OpError
	if !errors.As(err, &pe) || pe.Proxy != addr || !errors.As(err, &oe) {
		t.Fatalf("Dial = %v, want a *ProxyError for %s wrapping a *net.OpError", err, addr)
	}
}

// A proxy that accepts and never answers holds Dial only as long as ctx.
func TestDialContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			bufio.NewReader(c).ReadString('\n')
			<-done
			c.Close()
		}
	}()
	defer close(done)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, nil, &url.URL{Scheme: "http", Host: ln.Addr().String()}, "example.org:8008")
	var pe *ProxyError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pe) {
		t.Fatalf("Dial = %v, want a *ProxyError wrapping context.DeadlineExceeded", err)
	}
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []*url.URL{nil, {Scheme: "socks5", Host: "p:1080"}, {Scheme: "http"}, {Host: "p:3128"}} {
		if _, err := Dial(context.Background(), nil, u, "example.org:8008"); err == nil || !strings.HasPrefix(err.Error(), "httpproxy: ") {
			t.Errorf("Dial via %v = %v, want an httpproxy error", u, err)
		}
	}
	_, err := Dial(context.Background(), nil, &url.URL{Scheme: "socks5", User: url.UserPassword("u", "secret"), Host: "p:1080"}, "e:1")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v shows the password", err)
	}
}

// However a dial through a proxy with credentials fails, its error names
// the proxy by host and port and never shows the password.
func TestDialErrorsHideCredentials(t *testing.T) {
	const pass = "s3cret-pw"
	user := url.UserPassword("alice", pass)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	refusing := newFakeProxy(t, false, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
	untrusted := newFakeProxy(t, true, "HTTP/1.1 200 OK\r\n\r\n") // its certificate is in no root pool
	tests := []struct {
		name  string
		d     Dialer
		proxy *url.URL
	}{
		{"unreachable", nil, &url.URL{Scheme: "http", User: user, Host: dead}},
		{"refused", nil, refusing.url(t, user)},
		{"untrusted certificate", nil, untrusted.url(t, user)},
		{"garbage reply", pipeDialer{[]byte("garbage\r\n\r\n")}, &url.URL{Scheme: "http", User: user, Host: "proxy.test:3128"}},
		{"unsupported scheme", nil, &url.URL{Scheme: "socks5", User: user, Host: "proxy.test:1080"}},
		{"no host", nil, &url.URL{Scheme: "http", User: user}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := Dial(ctx, tt.d, tt.proxy, "example.org:8008")
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			if strings.Contains(err.Error(), pass) {
				t.Errorf("error %q shows the password", err)
			}
			var pe *ProxyError
			if errors.As(err, &pe) {
				if pe.Proxy != tt.proxy.Host || !strings.Contains(err.Error(), "proxy "+tt.proxy.Host) {
					t.Errorf("*ProxyError %q names proxy %q, want %q", err, pe.Proxy, tt.proxy.Host)
				}
			} else if !strings.Contains(err.Error(), tt.proxy.Redacted()) {
				t.Errorf("error %q does not name the proxy as %q", err, tt.proxy.Redacted())
			}
		})
	}
}
