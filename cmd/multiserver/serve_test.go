package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// TestServeLogEnd checks the level at which serve -v logs the end of a
// connection: debug when the peer hung up without the box stream's
// goodbye, as muxrpc peers do on every close, and info for another error.
func TestServeLogEnd(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name  string
		mode  []string
		level string
	}{
		{"no goodbye", []string{"--echo"}, "DEBUG"},
		{"forward refused", []string{"--forward", refused}, "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			serverKey, serverPub := writeKey(t, dir, "server.json")
			ctx, cancel := context.WithCancel(context.Background())
			first := newLineCatcher()
			var stderr logtest.Buffer
			errc := make(chan error, 1)
			go func() {
				args := append([]string{"serve", "-v", "--key", serverKey, "--listen", "net:127.0.0.1:0~shs"}, tt.mode...)
				errc <- run(ctx, args, nil, first, &stderr)
			}()
			t.Cleanup(func() { cancel(); <-errc })
			var addr string
			select {
			case addr = <-first.line:
			case <-time.After(waitTimeout):
				t.Fatalf("serve printed no address within %v; stderr:\n%s", waitTimeout, stderr.String())
			}
			list, err := grammar.Parse(addr)
			if err != nil {
				t.Fatal(err)
			}
			host, port, err := address.HostPort(list[0].Plug())
			if err != nil {
				t.Fatal(err)
			}

			// Handshake, then drop the TCP connection with no goodbye.
			raw, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			app, _ := base64.StdEncoding.DecodeString(SSBAppKey)
			client, err := keys.NewIdentity(keys.Generate(), app)
			if err != nil {
				t.Fatal(err)
			}
			hctx, hcancel := context.WithTimeout(context.Background(), waitTimeout)
			_, err = shs.Client(hctx, raw, shs.Config{Identity: client}, serverPub)
			hcancel()
			if err != nil {
				raw.Close()
				t.Fatal(err)
			}
			raw.Close()

			line := waitLine(t, &stderr, "connection ended")
			if !strings.Contains(line, "level="+tt.level) {
				t.Errorf("serve logged %q, want level %s", line, tt.level)
			}
		})
	}
}

// waitLine waits for a line of buf that holds msg and returns it.
func waitLine(t *testing.T, buf *logtest.Buffer, msg string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for line := range strings.Lines(buf.String()) {
			if strings.Contains(line, msg) {
				return strings.TrimSpace(line)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q logged within %v; stderr:\n%s", msg, waitTimeout, buf.String())
	return ""
}

// TestFollowAddress: serve prints the advertised address first, then
// each new one as the Listener's address changes, a line each.
func TestFollowAddress(t *testing.T) {
	n, _, err := (&identity{appKey: SSBAppKey, noauth: "device"}).network(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(context.Background(), "net:127.0.0.1:0~noauth")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		followAddress(ctx, ln, multiserver.ScopeDevice, w)
		w.Close()
	}()
	lines := bufio.NewScanner(r)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no line: %v", lines.Err())
		}
		return lines.Text()
	}
	first := next()
	if first != ln.Address(multiserver.ScopeDevice) {
		t.Fatalf("first line %q, want the address %q", first, ln.Address(multiserver.ScopeDevice))
	}
	if err := ln.Add(context.Background(), "net:127.0.0.1:0~noauth"); err != nil {
		t.Fatal(err)
	}
	if second := next(); second != ln.Address(multiserver.ScopeDevice) || !strings.HasPrefix(second, first+";") {
		t.Errorf("second line %q, want the first address and the added one", second)
	}
	if err := ln.Drop(first); err != nil {
		t.Fatal(err)
	}
	if third := next(); strings.Contains(third, first) {
		t.Errorf("third line %q still has the dropped %q", third, first)
	}
	cancel()
	go io.Copy(io.Discard, r)
	<-done
}
