//go:build !js

package ws_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/proxytest"
	"github.com/f7d52a8e/multiserver/plugs/ws"
)

// echo answers every conn ln accepts with what it reads.
func echo(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
}

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

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// TestProxy dials ws and wss listeners on ports other than 443 through
// tinyproxy, which allows CONNECT to those ports alone, then stops the
// proxy: the dial must fail rather than go direct.
func TestProxy(t *testing.T) {
	cert, pool := selfSigned(t)
	wsLn := listen(t, &ws.Plug{}, "ws://127.0.0.1:0/ms")
	wssLn := listen(t, &ws.Plug{Scheme: "wss", TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, "wss://127.0.0.1:0")
	echo(t, wsLn)
	echo(t, wssLn)
	tp := proxytest.Start(t, []int{port(wsLn), port(wssLn)}, "", "")

	var asked []string
	pick := func(scheme, addr string) (*url.URL, error) {
		asked = append(asked, scheme+" "+addr)
		return tp.URL, nil
	}
	plugs := map[string]*ws.Plug{
		"ws":  {Proxy: pick},
		"wss": {Scheme: "wss", Proxy: pick, TLSConfig: &tls.Config{RootCAs: pool}},
	}
	lns := map[string]net.Listener{"ws": wsLn, "wss": wssLn}
	for _, scheme := range []string{"ws", "wss"} {
		c, err := plugs[scheme].Dial(context.Background(), advertised(t, lns[scheme]))
		if err != nil {
			t.Fatalf("%s Dial through the proxy: %v", scheme, err)
		}
		echoes(t, c, scheme+" through tinyproxy")
		c.Close()
	}
	want := []string{fmt.Sprintf("ws 127.0.0.1:%d", port(wsLn)), fmt.Sprintf("wss 127.0.0.1:%d", port(wssLn))}
	if strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Errorf("Proxy was asked for %q, want %q", asked, want)
	}

	tp.Stop()
	for _, scheme := range []string{"ws", "wss"} {
		_, err := plugs[scheme].Dial(context.Background(), advertised(t, lns[scheme]))
		var pe *ws.ProxyError
		if !errors.As(err, &pe) || pe.Proxy != tp.URL.Host {
			t.Errorf("%s Dial with the proxy stopped = %v, want a *ws.ProxyError for %s", scheme, err, tp.URL.Host)
		}
	}
}

// TestProxyRefuses dials a port the proxy does not allow, and checks
// that the error names the proxy and its status.
func TestProxyRefuses(t *testing.T) {
	allowed := listen(t, &ws.Plug{}, "ws://127.0.0.1:0")
	other := listen(t, &ws.Plug{}, "ws://127.0.0.1:0")
	tp := proxytest.Start(t, []int{port(allowed)}, "", "")
	_, err := (&ws.Plug{Proxy: ws.ProxyURL(tp.URL)}).Dial(context.Background(), advertised(t, other))
	var pe *ws.ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != 403 || pe.Proxy != tp.URL.Host {
		t.Fatalf("Dial to a port the proxy refuses = %v, want a *ws.ProxyError with status 403", err)
	}
	want := fmt.Sprintf("proxy %s refused CONNECT to 127.0.0.1:%d: 403", tp.URL.Host, port(other))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestProxyCredentials runs against a proxy that wants Basic credentials.
func TestProxyCredentials(t *testing.T) {
	ln := listen(t, &ws.Plug{}, "ws://127.0.0.1:0")
	echo(t, ln)
	tp := proxytest.Start(t, []int{port(ln)}, "alice", "s3cret")
	u := *tp.URL
	u.User = url.UserPassword("alice", "s3cret")
	c, err := (&ws.Plug{Proxy: ws.ProxyURL(&u)}).Dial(context.Background(), advertised(t, ln))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echoes(t, c, "authenticated")

	u.User = url.UserPassword("alice", "wrong")
	_, err = (&ws.Plug{Proxy: ws.ProxyURL(&u)}).Dial(context.Background(), advertised(t, ln))
	var pe *ws.ProxyError
	// RFC 9110 says 407; tinyproxy 1.11.1 answers 401.
	if !errors.As(err, &pe) || pe.StatusCode != 407 && pe.StatusCode != 401 {
		t.Fatalf("Dial with a wrong password = %v, want a *ws.ProxyError with status 407 or 401", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password", err)
	}
}

// TestProxyEnvironment: with Proxy nil, HTTP_PROXY and HTTPS_PROXY name
// a proxy that does not exist, and loopback is never proxied from the
// environment, so the dial goes direct and succeeds.
func TestProxyEnvironment(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", proxytest.FreePort(t))
	t.Setenv("HTTP_PROXY", dead)
	t.Setenv("HTTPS_PROXY", dead)
	ln := listen(t, &ws.Plug{}, "ws://127.0.0.1:0")
	echo(t, ln)
	c, err := (&ws.Plug{}).Dial(context.Background(), advertised(t, ln))
	if err != nil {
		t.Fatalf("Dial to loopback with a proxy in the environment: %v", err)
	}
	defer c.Close()
	echoes(t, c, "direct")
}
