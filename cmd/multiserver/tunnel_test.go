package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
)

// An addrCatcher passes on the first non-empty line written to it: serve
// prints an empty line while its tunnel listener is not yet in the room.
type addrCatcher struct {
	line chan string
	mu   sync.Mutex
	buf  []byte
	sent bool
}

func (w *addrCatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for !w.sent {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		l := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if l != "" {
			w.line <- l
			w.sent = true
		}
	}
	return len(p), nil
}

// TestServeDialTunnel: serve --room joins a room and prints its tunnel
// address once the room lists it (an empty line before); dial --room
// reaches it through the room.
func TestServeDialTunnel(t *testing.T) {
	room := roomtest.Start(t, roomtest.Config{})
	dir := t.TempDir()
	serverKey, serverPub := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	ctx, cancel := context.WithCancel(context.Background())
	first := &addrCatcher{line: make(chan string, 1)}
	var stderr logtest.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "--key", serverKey, "--room", room.Addr, "--listen", "tunnel:" + room.ID + "~shs", "--echo"}, nil, first, &stderr)
	}()
	defer func() { cancel(); <-errc }()
	var addr string
	select {
	case addr = <-first.line:
	case err := <-errc:
		t.Fatalf("serve returned %v; stderr %s", err, stderr.String())
	case <-time.After(waitTimeout):
		t.Fatalf("serve printed no address within %v; stderr:\n%s", waitTimeout, stderr.String())
	}
	want := "tunnel:" + room.ID + ":@" + base64.StdEncoding.EncodeToString(serverPub) + ".ed25519~shs:" + base64.StdEncoding.EncodeToString(serverPub)
	if addr != want {
		t.Fatalf("serve printed %q, want %q", addr, want)
	}
	data := randomBytes(64 << 10)
	var stdout, derr bytes.Buffer
	dctx, dcancel := context.WithTimeout(context.Background(), runTimeout)
	err := run(dctx, []string{"dial", "--key", clientKey, "--room", room.Addr, addr}, bytes.NewReader(data), &stdout, &derr)
	dcancel()
	if err != nil || !bytes.Equal(stdout.Bytes(), data) {
		t.Fatalf("dial: %v, %d bytes back, stderr %q", err, stdout.Len(), derr.String())
	}

	// Without --room the dial says which room it lacks.
	derr.Reset()
	dctx, dcancel = context.WithTimeout(context.Background(), runTimeout)
	err = run(dctx, []string{"dial", "--key", clientKey, addr}, bytes.NewReader(nil), &stdout, &derr)
	dcancel()
	if err == nil || !strings.Contains(err.Error()+derr.String(), "room not configured") {
		t.Fatalf("dial without --room: %v, stderr %q", err, derr.String())
	}
}
