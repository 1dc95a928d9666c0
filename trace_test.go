package multiserver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/internal/proxytest"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// recorder records what a DialTrace is told, one line per event.
type recorder struct {
	mu     sync.Mutex
	events []string
	done   []multiserver.LayerTrace
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) trace() *multiserver.DialTrace {
	return &multiserver.DialTrace{
		Skipped:      func(addr string, err error) { r.add("skip %s", addr) },
		AttemptStart: func(addr string) { r.add("attempt %s", addr) },
		AttemptDone:  func(addr string, err error) { r.add("attempt done %v", err == nil) },
		LayerStart:   func(l multiserver.LayerTrace) { r.add("start %s/%s %s", l.Layer, l.Step, l.Detail) },
		LayerDone: func(l multiserver.LayerTrace) {
			r.add("done %s/%s %v", l.Layer, l.Step, l.Err == nil)
			r.mu.Lock()
			r.done = append(r.done, l)
			r.mu.Unlock()
		},
	}
}

// step returns the last LayerDone of layer and step.
func (r *recorder) step(t *testing.T, layer, step string) multiserver.LayerTrace {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.done) - 1; i >= 0; i-- {
		if l := r.done[i]; l.Layer == layer && l.Step == step {
			return l
		}
	}
	t.Fatalf("no %s/%s in the trace:\n%s", layer, step, strings.Join(r.events, "\n"))
	return multiserver.LayerTrace{}
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "\n")
}

func TestDialTrace(t *testing.T) {
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}}})
	ln := listen(t, n, "net:127.0.0.1:0~hello")
	echo(t, ln)
	port := ln.Addr().String()
	port = port[strings.LastIndex(port, ":")+1 : strings.Index(port, "~")]

	var r recorder
	ctx := multiserver.WithDialTrace(context.Background(), r.trace())
	c, err := n.Dial(ctx, "foo:bar;net:localhost:"+port+"~hello")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The name is resolved, then each address connected to until one
	// answers (localhost may be ::1 first, where nothing listens).
	want := []string{"skip foo:bar", "attempt net:localhost:" + port + "~hello", "start net/ net:localhost:" + port,
		"start net/resolve localhost", "done net/resolve true"}
	got := strings.Split(r.String(), "\n")
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace starts\n%s\nwant\n%s", r.String(), strings.Join(want, "\n"))
	}
	wantTail := []string{"done net/connect true", "done net/ true", "start hello/ ", "done hello/ true", "attempt done true"}
	if tail := got[len(got)-len(wantTail):]; strings.Join(tail, "\n") != strings.Join(wantTail, "\n") {
		t.Fatalf("trace ends\n%s\nwant\n%s", r.String(), strings.Join(wantTail, "\n"))
	}
	if res := r.step(t, "net", "resolve"); !strings.Contains(res.Detail, "127.0.0.1") || res.Elapsed <= 0 {
		t.Errorf("resolve step %+v, want 127.0.0.1 among the addresses and a time", res)
	}
	if conn := r.step(t, "net", "connect"); conn.Detail != "127.0.0.1:"+port {
		t.Errorf("connect step %+v, want 127.0.0.1:%s", conn, port)
	}
}

func TestDialTraceFailures(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closed.Close()
	n := newNetwork(t, multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}, &ws.Plug{}},
		Transforms: []multiserver.Transform{noauth.Transform{}},
	})
	t.Run("closed port", func(t *testing.T) {
		var r recorder
		_, err := n.Dial(multiserver.WithDialTrace(context.Background(), r.trace()), "net:"+closed.Addr().String()+"~noauth")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial of a closed port: %v, want connection refused", err)
		}
		if s := r.step(t, "net", "connect"); !errors.Is(s.Err, syscall.ECONNREFUSED) {
			t.Errorf("connect step %+v, want connection refused", s)
		}
		if s := r.step(t, "net", ""); !errors.Is(s.Err, syscall.ECONNREFUSED) {
			t.Errorf("net layer %+v, want connection refused", s)
		}
	})
	t.Run("name does not resolve", func(t *testing.T) {
		var r recorder
		_, err := n.Dial(multiserver.WithDialTrace(context.Background(), r.trace()), "net:no-such-host.invalid:1~noauth")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) {
			t.Fatalf("dial of a name that does not resolve: %v, want a *net.DNSError", err)
		}
		if s := r.step(t, "net", "resolve"); !errors.As(s.Err, &dnsErr) {
			t.Errorf("resolve step %+v, want a *net.DNSError", s)
		}
	})
	t.Run("not a websocket", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		var r recorder
		_, err := n.Dial(multiserver.WithDialTrace(context.Background(), r.trace()), "ws://"+srv.Listener.Addr().String()+"/ms~noauth")
		if err == nil {
			t.Fatal("ws dial of a plain HTTP server succeeded")
		}
		r.step(t, "ws", "connect")
		if s := r.step(t, "ws", "upgrade"); s.Err == nil || !strings.Contains(s.Detail, "404") {
			t.Errorf("upgrade step %+v, want a failure naming the 404", s)
		}
	})
	t.Run("proxy refuses", func(t *testing.T) {
		target, _ := net.Listen("tcp", "127.0.0.1:0")
		defer target.Close()
		tp := proxytest.Start(t, []int{443}, "", "") // allows CONNECT to 443 only
		pn := newNetwork(t, multiserver.Config{
			Plugs:      []multiserver.Plug{&tcp.Plug{Proxy: tcp.ProxyURL(tp.URL)}},
			Transforms: []multiserver.Transform{noauth.Transform{}},
		})
		var r recorder
		_, err := pn.Dial(multiserver.WithDialTrace(context.Background(), r.trace()), "net:"+target.Addr().String()+"~noauth")
		var pe *tcp.ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != http.StatusForbidden {
			t.Fatalf("dial through a refusing proxy: %v, want a 403 *tcp.ProxyError", err)
		}
		if s := r.step(t, "net", "connect"); s.Err != nil || s.Detail != tp.URL.Host {
			t.Errorf("connect step %+v, want the proxy %s reached", s, tp.URL.Host)
		}
		if s := r.step(t, "net", "proxy"); !errors.As(s.Err, &pe) {
			t.Errorf("proxy step %+v, want the proxy's refusal", s)
		}
	})
}
