package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/proxytest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// echoServer echoes on loopback and reports the remote address of every
// conn it accepts.
type echoServer struct {
	ln      net.Listener
	port    int
	remotes chan net.Addr
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, remotes: make(chan net.Addr, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.remotes <- c.RemoteAddr()
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	return s
}

func (s *echoServer) seg() string { return "net:127.0.0.1:" + strconv.Itoa(s.port) }

func echoes(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("read %q, %v; want %q", b, err, msg)
	}
}

// TestProxyDial dials an echo server on a port other than 443 through
// tinyproxy, which allows CONNECT to that port alone.
func TestProxyDial(t *testing.T) {
	srv := newEchoServer(t)
	tp := proxytest.Start(t, []int{srv.port}, "", "")
	p := &tcp.Plug{Proxy: tcp.ProxyURL(tp.URL)}
	c, err := p.Dial(context.Background(), seg(t, srv.seg()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoes(t, c, "through tinyproxy")

	// The conn goes to the proxy, and the server's peer is the proxy, not
	// this conn: no direct dial was made behind the proxy's back.
	if c.RemoteAddr().String() != tp.URL.Host {
		t.Errorf("conn's remote is %v, want the proxy %v", c.RemoteAddr(), tp.URL.Host)
	}
	if remote := <-srv.remotes; remote.String() == c.LocalAddr().String() {
		t.Errorf("server's peer %v is the dialer itself: the dial went direct", remote)
	}

	// With the proxy gone, the dial fails rather than going direct.
	tp.Stop()
	_, err = p.Dial(context.Background(), seg(t, srv.seg()))
	var pe *tcp.ProxyError
	if !errors.As(err, &pe) || pe.Proxy != tp.URL.Host {
		t.Fatalf("Dial with the proxy stopped = %v, want a *tcp.ProxyError for %s", err, tp.URL.Host)
	}
}

// TestProxyRefuses dials a port the proxy does not allow.
func TestProxyRefuses(t *testing.T) {
	allowed, other := newEchoServer(t), newEchoServer(t)
	tp := proxytest.Start(t, []int{allowed.port}, "", "")
	p := &tcp.Plug{Proxy: tcp.ProxyURL(tp.URL)}
	_, err := p.Dial(context.Background(), seg(t, other.seg()))
	var pe *tcp.ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != 403 || pe.Proxy != tp.URL.Host {
		t.Fatalf("Dial to a port the proxy refuses = %v, want a *tcp.ProxyError with status 403", err)
	}
	want := fmt.Sprintf("httpproxy: proxy %s refused CONNECT to 127.0.0.1:%d: %s", tp.URL.Host, other.port, pe.Status)
	if err.Error() != want || !strings.HasPrefix(pe.Status, "403 ") {
		t.Errorf("error %q, want %q with a 403 status", err, want)
	}
	select {
	case r := <-other.remotes:
		t.Errorf("the refused server got a conn from %v", r)
	default:
	}
}

// TestProxyCredentials runs against a proxy that wants Basic credentials.
func TestProxyCredentials(t *testing.T) {
	srv := newEchoServer(t)
	tp := proxytest.Start(t, []int{srv.port}, "alice", "s3cret")
	for _, tt := range []struct {
		name    string
		user    *url.Userinfo
		refused bool
	}{
		{"right password", url.UserPassword("alice", "s3cret"), false},
		{"wrong password", url.UserPassword("alice", "wrong"), true},
		{"no credentials", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := *tp.URL
			u.User = tt.user
			c, err := (&tcp.Plug{Proxy: tcp.ProxyURL(&u)}).Dial(context.Background(), seg(t, srv.seg()))
			if !tt.refused {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				echoes(t, c, "authenticated")
				return
			}
			// RFC 9110 says 407; tinyproxy 1.11.1 answers a CONNECT
			// without the right credentials with 401 Unauthorized.
			var pe *tcp.ProxyError
			if !errors.As(err, &pe) || pe.StatusCode != 407 && pe.StatusCode != 401 {
				t.Fatalf("Dial = %v, want a *tcp.ProxyError with status 407 or 401", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestProxyEnvironment checks that a nil Proxy reads HTTPS_PROXY, which
// never applies to loopback: the dial to a loopback server goes direct.
// (internal/httpproxy tests which addresses the environment proxies.)
func TestProxyEnvironment(t *testing.T) {
	srv := newEchoServer(t)
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1") // nothing listens there
	t.Setenv("https_proxy", "")
	c, err := (&tcp.Plug{}).Dial(context.Background(), seg(t, srv.seg()))
	if err != nil {
		t.Fatalf("Dial to loopback with HTTPS_PROXY set = %v, want a direct dial", err)
	}
	defer c.Close()
	echoes(t, c, "direct")
	// ProxyURL(nil) ignores the environment, and a named proxy is used.
	t.Setenv("NO_PROXY", "")
	if c, err := (&tcp.Plug{Proxy: tcp.ProxyURL(nil)}).Dial(context.Background(), seg(t, srv.seg())); err != nil {
		t.Fatalf("Dial with ProxyURL(nil) = %v", err)
	} else {
		c.Close()
	}
	_, err = (&tcp.Plug{Proxy: tcp.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:1"})}).Dial(context.Background(), seg(t, srv.seg()))
	var pe *tcp.ProxyError
	if !errors.As(err, &pe) {
		t.Fatalf("Dial through a dead proxy = %v, want a *tcp.ProxyError", err)
	}
}

// TestProxyNetwork dials an advertised net~shs address through tinyproxy
// with the whole stack: the handshake and the stream run in the tunnel.
func TestProxyNetwork(t *testing.T) {
	app := make([]byte, 32)
	newNet := func(p *tcp.Plug) *multiserver.Network {
		id, err := keys.NewIdentity(keys.Generate(), app)
		if err != nil {
			t.Fatal(err)
		}
		st, err := shs.New(shs.Config{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}, Transforms: []multiserver.Transform{st}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	server := newNet(&tcp.Plug{})
	ln, err := server.Listen(context.Background(), "net:127.0.0.1:0~shs")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	remotes := make(chan net.Addr, 1)
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		remotes <- c.RemoteAddr()
		io.Copy(c, c)
		c.Close()
	})
	adv := ln.Address(multiserver.ScopeDevice)
	a, err := address.Parse(adv)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := address.HostPort(a[0][0])
	if err != nil {
		t.Fatal(err)
	}
	tp := proxytest.Start(t, []int{port}, "", "")
	client := newNet(&tcp.Plug{Proxy: tcp.ProxyURL(tp.URL)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, adv)
	if err != nil {
		t.Fatalf("Dial(%q) through tinyproxy: %v", adv, err)
	}
	defer c.Close()
	echoes(t, c, "shs through tinyproxy")
	if _, ok := multiserver.RemoteKey(c); !ok {
		t.Error("no remote key through the proxy")
	}
	<-remotes
}
