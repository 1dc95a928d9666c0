//go:build !js

package ws_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// TestMount serves multiserver from a web server of the user's own,
// beside a page, through a Network: the page stays served, the stack is
// dialed through the mount, and the mount answers 503 when no listener
// serves it.
func TestMount(t *testing.T) {
	plug := &ws.Plug{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a page") })
	web := httptest.NewServer(mux)
	defer web.Close()
	defer web.Client().CloseIdleConnections()
	wsURL := "ws" + strings.TrimPrefix(web.URL, "http") + "/ms"

	h, err := plug.Mount(wsURL)
	if err != nil {
		t.Fatalf("Mount(%q): %v", wsURL, err)
	}
	mux.Handle("/ms", h)
	if _, err := plug.Mount(wsURL + "/"); err != nil {
		t.Fatalf("Mount of another path: %v", err)
	}
	if _, err := plug.Mount(wsURL); err == nil {
		t.Error("a second Mount of the same URL succeeded")
	}
	if _, err := plug.Mount("wss" + strings.TrimPrefix(wsURL, "ws")); err == nil {
		t.Error("Mount of a wss URL on a ws plug succeeded")
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := web.Client().Get(web.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/ms"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /ms before Listen = %d, want 503", code)
	}

	id, err := keys.NewIdentity(keys.Generate(), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{plug}, Transforms: []multiserver.Transform{tr}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(context.Background(), wsURL+"~shs")
	if err != nil {
		t.Fatalf("Listen on the mounted URL: %v", err)
	}
	defer ln.Close()
	addr := ln.Address(multiserver.ScopeDevice)
	if want := wsURL + "~shs:"; !strings.HasPrefix(addr, want) {
		t.Fatalf("advertised %q, want %sKEY", addr, want)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	c, err := n.Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	want := bytes.Repeat([]byte("mounted "), 20000)
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo through the mount: %v", err)
	}
	if code, body := get("/"); code != http.StatusOK || body != "a page" {
		t.Errorf("GET / = %d %q, want the page", code, body)
	}
	if code, _ := get("/ms"); code != http.StatusUpgradeRequired {
		t.Errorf("GET /ms while listening = %d, want 426", code)
	}

	if err := ln.Drop(addr); err != nil {
		t.Fatalf("Drop(%q): %v", addr, err)
	}
	if code, _ := get("/ms"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /ms after Drop = %d, want 503", code)
	}
	echoesBack := make([]byte, 3)
	go c.Write([]byte("end"))
	if _, err := io.ReadFull(c, echoesBack); err != nil {
		t.Errorf("the open conn broke when its stack was dropped: %v", err)
	}
	c.Close()

	// The URL can be served again.
	ln2, err := n.Listen(context.Background(), wsURL+"~shs")
	if err != nil {
		t.Fatalf("Listen again after Drop: %v", err)
	}
	ln2.Close()
}
