//go:build !js

package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
)

// TestCloseKeepsSessions checks that closing a listener refuses new
// sessions and keeps those it accepted, and that its server stops once
// the last of them has ended.
func TestCloseKeepsSessions(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			ln, addr := serve(t, scheme, nil)
			echo(t, ln)
			n, _ := peer(t, scheme, newIdentity(t), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := n.Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c, "before")
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				roundTrip(t, c, fmt.Sprintf("after %d", i))
			}
			_, err = n.Dial(ctx, addr)
			if err == nil {
				t.Fatal("a dial after Close succeeded")
			}
			if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "listener closed") {
				t.Errorf("a dial after Close failed with %v, want a 503 that says the listener closed", err)
			}
			roundTrip(t, c, "still")
			c.Close()
			// The server stops once the session has ended.
			host := hostOf(t, addr)
			deadline := time.Now().Add(10 * time.Second)
			for {
				tc, err := net.DialTimeout("tcp", host, time.Second)
				if err != nil {
					break
				}
				tc.Close()
				if time.Now().After(deadline) {
					t.Fatal("the server still listens after its last session ended")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestShutdownCutsSessions checks that the Listener's Shutdown waits
// for an accepted session, and when its ctx ends cuts the session and
// stops the server before it returns.
func TestShutdownCutsSessions(t *testing.T) {
	ln, addr := serve(t, "sse", nil)
	echo(t, ln)
	c := dial(t, "sse", addr, nil)
	roundTrip(t, c, "before")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ln.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown with a session open = %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Shutdown took %v, want its ctx's 300ms and a little", d)
	}
	if tc, err := net.DialTimeout("tcp", hostOf(t, addr), time.Second); err == nil {
		tc.Close()
		t.Error("the server still listens after Shutdown returned")
	}
}

// TestMountCloseKeepsSessions checks the same for a mounted URL: after
// Close the mount answers an open 503 and still serves the sessions.
func TestMountCloseKeepsSessions(t *testing.T) {
	n, p := peer(t, "sse", newIdentity(t), nil)
	var lc net.ListenConfig
	tl, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + tl.Addr().String() + "/ms"
	h, err := p.Mount(url)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(tl)
	t.Cleanup(func() { srv.Close() })
	ln, err := n.Listen(context.Background(), "sse:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, ln)
	addr := ln.Address(multiserver.ScopeDevice)
	c := dial(t, "sse", addr, nil)
	roundTrip(t, c, "before")
	ln.Close()
	roundTrip(t, c, "after")
	cn, _ := peer(t, "sse", newIdentity(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cn.Dial(ctx, addr); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a dial after Close = %v, want a 503", err)
	}
	roundTrip(t, c, "still")
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, []byte(msg)) {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

// hostOf returns the host:port of a bridge address.
func hostOf(t *testing.T, addr string) string {
	t.Helper()
	_, rest, ok := strings.Cut(addr, "://")
	host, _, _ := strings.Cut(rest, "/")
	if !ok || host == "" {
		t.Fatalf("no host in %q", addr)
	}
	return host
}

// TestShutdownWaitsForSessions checks that the Listener's Shutdown
// returns nil once the last accepted session has ended.
func TestShutdownWaitsForSessions(t *testing.T) {
	ln, addr := serve(t, "poll", nil)
	echo(t, ln)
	c := dial(t, "poll", addr, nil)
	roundTrip(t, c, "before")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	time.AfterFunc(200*time.Millisecond, func() { c.Close() })
	if err := ln.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil once the session has ended", err)
	}
	if tc, err := net.DialTimeout("tcp", hostOf(t, addr), time.Second); err == nil {
		tc.Close()
		t.Error("the server still listens after Shutdown returned")
	}
}
