package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "net~shs: hello, ") || !strings.Contains(lines[1], "net~noise~yamux: hello, ") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestManyRequestsOverOneSession runs concurrent requests as streams of
// one yamux session, each answered with the client's own key.
func TestManyRequestsOverOneSession(t *testing.T) {
	ctx := context.Background()
	app := make([]byte, 32)
	rand.Read(app)
	server, _ := NewNetwork(app)
	client, _ := NewNetwork(app)
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln)
	defer srv.Close()
	sess, err := client.DialSession(ctx, ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	c := SessionClient(sess)
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	bodies := make([]string, 32)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := get(c)
			if err != nil {
				b = fmt.Sprint("error: ", err)
			}
			bodies[i] = b
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if b != bodies[0] || !strings.HasPrefix(b, "hello, ") {
			t.Fatalf("response %d = %q, want the same greeting as the first, %q", i, b, bodies[0])
		}
	}
}
