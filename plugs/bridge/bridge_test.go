//go:build !js

package bridge_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

func newIdentity(t testing.TB) *keys.Identity {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// peer is a Network with one bridge plug and noise.
func peer(t testing.TB, scheme string, id *keys.Identity, set func(*bridge.Plug)) (*multiserver.Network, *bridge.Plug) {
	t.Helper()
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	p := &bridge.Plug{Scheme: scheme, Identity: id}
	if set != nil {
		set(p)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{p}, Transforms: []multiserver.Transform{nt}})
	if err != nil {
		t.Fatal(err)
	}
	return n, p
}

// serve listens on scheme:http://127.0.0.1:0/ms~noise and returns the
// listener and the address to dial.
func serve(t testing.TB, scheme string, set func(*bridge.Plug)) (*multiserver.Listener, string) {
	t.Helper()
	n, _ := peer(t, scheme, newIdentity(t), set)
	ln, err := n.Listen(context.Background(), scheme+":http://127.0.0.1:0/ms~noise")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Address(multiserver.ScopeDevice)
}

// echo echoes every conn ln accepts, until the test ends.
func echo(t testing.TB, ln net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

func dial(t testing.TB, scheme, addr string, set func(*bridge.Plug)) net.Conn {
	t.Helper()
	n, _ := peer(t, scheme, newIdentity(t), set)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := n.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSmallMessages(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			ln, addr := serve(t, scheme, nil)
			echo(t, ln)
			c := dial(t, scheme, addr, nil)
			if info := multiserver.Info(c); info.Path.Relayed || info.Path.Carrier != scheme {
				t.Errorf("Path = %+v, want direct over %s", info.Path, scheme)
			}
			buf := make([]byte, 64)
			for i := range 100 {
				msg := fmt.Appendf(nil, "message %d", i)
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:len(msg)], msg) {
					t.Fatalf("echo %d = %q, want %q", i, buf[:len(msg)], msg)
				}
			}
		})
	}
}

// TestBulk sends megabytes through noise over each carrier and checks
// them by hash, with small SSE responses so that many end mid-stream.
func TestBulk(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			small := func(p *bridge.Plug) { p.SSEBytes = 100 << 10; p.Window = 256 << 10 }
			ln, addr := serve(t, scheme, small)
			echo(t, ln)
			c := dial(t, scheme, addr, small)
			checkEcho(t, c, 4<<20)
		})
	}
}

// checkEcho writes n random bytes to an echoing conn and checks what
// comes back by hash.
func checkEcho(t *testing.T, c net.Conn, n int) {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	want := sha256.Sum256(data)
	errc := make(chan error, 1)
	go func() {
		for p := data; len(p) > 0; {
			k := min(len(p), 50_000)
			if _, err := c.Write(p[:k]); err != nil {
				errc <- err
				return
			}
			p = p[k:]
		}
		errc <- nil
	}()
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.CopyN(h, c, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatal("echoed bytes differ")
	}
}

func TestNoauthRefused(t *testing.T) {
	p := &bridge.Plug{Identity: newIdentity(t)}
	_, err := p.DialStack(context.Background(), multiserver.DialOptions{})
	if err == nil {
		t.Fatal("DialStack of an empty address worked")
	}
	n, _ := peer(t, "sse", newIdentity(t), nil)
	if _, err := n.Listen(context.Background(), "sse:http://127.0.0.1:0/ms~noauth"); err == nil {
		t.Fatal("Listen of a noauth bridge stack worked")
	}
}

func TestWrongServerKey(t *testing.T) {
	ln, addr := serve(t, "sse", nil)
	echo(t, ln)
	other := address.EncodeKey(newIdentity(t).Public())
	i := strings.LastIndex(addr, ":")
	n, _ := peer(t, "sse", newIdentity(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.Dial(ctx, addr[:i+1]+other)
	if err == nil || !errors.Is(err, multiserver.ErrHandshake) {
		t.Fatalf("Dial with another key: %v, want a handshake error", err)
	}
}

// TestAcceptedPath checks the path of an accepted conn: direct, carried
// by the listener's plug, whichever carrier the client receives by.
func TestAcceptedPath(t *testing.T) {
	for _, scheme := range []string{"sse", "poll"} {
		t.Run(scheme, func(t *testing.T) {
			ln, addr := serve(t, scheme, nil)
			other := "poll"
			if scheme == "poll" {
				other = "sse"
			}
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}()
			c := dial(t, other, strings.Replace(addr, scheme+":", other+":", 1), nil)
			c.Write([]byte("x"))
			var in net.Conn
			select {
			case in = <-accepted:
			case <-time.After(10 * time.Second):
				t.Fatal("nothing accepted")
			}
			if in == nil {
				t.Fatal("Accept failed")
			}
			defer in.Close()
			if info := multiserver.Info(in); info.Path != (multiserver.Path{Carrier: scheme}) {
				t.Errorf("accepted Path = %+v, want direct over %s", info.Path, scheme)
			}
			if info := multiserver.Info(c); info.Path != (multiserver.Path{Carrier: other}) {
				t.Errorf("dialed Path = %+v, want direct over %s", info.Path, other)
			}
		})
	}
}

// TestDialSessionPath checks that a session dialed by hand reports the
// carrier it receives by, whatever the plug's Scheme.
func TestDialSessionPath(t *testing.T) {
	ln, addr := serve(t, "sse", nil)
	echo(t, ln)
	a, err := address.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	u, err := address.InnerURL(a[0].Plug(), "http")
	if err != nil {
		t.Fatal(err)
	}
	p := &bridge.Plug{Identity: newIdentity(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.DialSession(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, ok := c.(multiserver.PathConn)
	if !ok {
		t.Fatalf("%T is not a multiserver.PathConn", c)
	}
	if got := pc.Path(); got != (multiserver.Path{Carrier: "poll"}) {
		t.Errorf("Path = %+v, want direct over poll", got)
	}
}
