package quic_test

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

// slowServer serves HTTP over quic with a handler that tells started,
// then waits for proceed before it answers "done".
func slowServer(t *testing.T, started chan<- struct{}, proceed <-chan struct{}) (*multiserver.Listener, *http.Server, *http.Client) {
	t.Helper()
	server, client := newNode(t), newNode(t)
	ln, err := server.Listen(context.Background(), "quic:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
		ln.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
	addr := ln.Address(multiserver.ScopeDevice)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return client.Dial(ctx, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return ln, srv, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// fetch gets a URL and reports the status and body, or the error.
func fetch(hc *http.Client) <-chan string {
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

// TestHTTPShutdown shuts an http.Server over quic down during a request,
// which finishes; the listener then ends, socket and all.
func TestHTTPShutdown(t *testing.T) {
	started := make(chan struct{}, 1)
	proceed := make(chan struct{})
	ln, srv, hc := slowServer(t, started, proceed)
	got := fetch(hc)
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
}

// TestShutdownCutsWhenCtxEnds checks that Shutdown closes the
// connections still busy when its ctx ends.
func TestShutdownCutsWhenCtxEnds(t *testing.T) {
	started := make(chan struct{}, 1)
	proceed := make(chan struct{})
	defer close(proceed)
	ln, srv, hc := slowServer(t, started, proceed)
	got := fetch(hc)
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
