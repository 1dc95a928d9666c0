package multiserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
)

// serveSlow serves HTTP on ln with a handler that tells started, then
// waits for proceed before it answers "done". It returns the server and
// a client that dials ln's address.
func serveSlow(t *testing.T, client *multiserver.Network, ln *multiserver.Listener, started chan<- struct{}, proceed <-chan struct{}) (*http.Server, *http.Client) {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-proceed:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "done")
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
	addr := ln.Address(multiserver.ScopeDevice)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return client.Dial(ctx, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches a URL and reports the body.
func get(hc *http.Client) <-chan string {
	got := make(chan string, 1)
	go func() {
		resp, err := hc.Get("http://server/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			got <- err.Error()
			return
		}
		got <- resp.Status + " " + string(b)
	}()
	return got
}

// TestHTTPShutdownFinishesRequests shuts an http.Server down during a
// request, over a stack with sessions and over one without: the request
// finishes either way.
func TestHTTPShutdownFinishesRequests(t *testing.T) {
	for _, stack := range []string{"net:127.0.0.1:0~noise~yamux", "net:127.0.0.1:0~noise"} {
		t.Run(stack, func(t *testing.T) {
			app := make([]byte, 32)
			server, _ := sessionNetwork(t, app)
			client, _ := sessionNetwork(t, app)
			ln, err := server.Listen(context.Background(), stack)
			if err != nil {
				t.Fatal(err)
			}
			started := make(chan struct{}, 1)
			proceed := make(chan struct{})
			srv, hc := serveSlow(t, client, ln, started, proceed)
			got := get(hc)
			<-started
			time.AfterFunc(200*time.Millisecond, func() { close(proceed) })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("http.Server.Shutdown = %v", err)
			}
			if g := <-got; g != "200 OK done" {
				t.Errorf("request during Shutdown = %q, want %q", g, "200 OK done")
			}
			if err := ln.Shutdown(ctx); err != nil {
				t.Errorf("Listener.Shutdown after the server's = %v", err)
			}
		})
	}
}

// TestShutdownCutsWhenCtxEnds checks that Listener.Shutdown cuts the
// streams of sessions still busy when its ctx ends.
func TestShutdownCutsWhenCtxEnds(t *testing.T) {
	app := make([]byte, 32)
	server, _ := sessionNetwork(t, app)
	client, _ := sessionNetwork(t, app)
	ln, err := server.Listen(context.Background(), "net:127.0.0.1:0~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	proceed := make(chan struct{})
	defer close(proceed)
	srv, hc := serveSlow(t, client, ln, started, proceed)
	got := get(hc)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("http.Server.Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if err := ln.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Listener.Shutdown = %v, want context.DeadlineExceeded", err)
	}
	select {
	case g := <-got:
		if g == "200 OK done" {
			t.Errorf("request = %q, want it cut", g)
		}
	case <-time.After(5 * time.Second):
		t.Error("the request outlived Shutdown's ctx")
	}
}

// TestDropDrainsSessions checks that Drop treats the sessions of its
// stacks as Close does: open streams go on, new ones are refused, and
// the session ends with its last stream.
func TestDropDrainsSessions(t *testing.T) {
	app := make([]byte, 32)
	server, _ := sessionNetwork(t, app)
	client, _ := sessionNetwork(t, app)
	ln := listen(t, server, "net:127.0.0.1:0~noauth~yamux;net:127.0.0.1:0~noauth~yamux")
	dropped := ln.Addresses(multiserver.ScopeDevice)[0].String()
	sess, err := client.DialSession(context.Background(), dropped)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	s, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte("x"))
	in, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := ln.Drop(dropped); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("y"))
	b := make([]byte, 1)
	if _, err := io.ReadFull(s, b); err != nil || b[0] != 'y' {
		t.Fatalf("Read on a stream of a dropped stack = %q, %v", b, err)
	}
	if _, err := sess.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Open on a session of a dropped stack = %v, want net.ErrClosed", err)
	}
	in.Close()
	select {
	case <-sess.(interface{ Done() <-chan struct{} }).Done():
	case <-time.After(5 * time.Second):
		t.Error("the session of a dropped stack outlived its last stream")
	}
}
