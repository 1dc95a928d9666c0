package multiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/plugs/mem"
)

// TestLimitedLogClose fails more handshakes in a burst than a Listener
// logs in a second, then closes the Listener at once: the count of the
// records it dropped is written by Close, not lost.
func TestLimitedLogClose(t *testing.T) {
	var buf logtest.Buffer
	p := mem.New()
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{p}, Logger: logtest.Debug(&buf)})
	ln, err := n.Listen(context.Background(), "mem:flood~hello")
	if err != nil {
		t.Fatal(err)
	}
	seg := address.Segment{Name: "mem", Fields: []string{"flood"}}
	const bad = 60
	for range bad {
		c, err := p.Dial(context.Background(), seg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte{'x'}) // not hello's 'h': the handshake fails
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); strings.Count(buf.String(), "handshake failed") < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 20 handshake failures logged:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln.Close()
	if !strings.Contains(buf.String(), `msg="records suppressed"`) {
		t.Errorf("Close wrote no count of the records dropped:\n%s", buf.String())
	}
}
