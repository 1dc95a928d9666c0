package dhtrelay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeRelay is a WebSocket server that opens the relay's channel and then
// does what its options say: answer pings or not, send garbage.
func fakeRelay(t *testing.T, openChannel, pong bool, garbage []byte, pings *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		if openChannel {
			ws.Write(ctx, websocket.MessageBinary, AppendOpenChannel(nil, 1, Protocol))
		}
		if garbage != nil {
			ws.Write(ctx, websocket.MessageBinary, garbage)
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			f, err := ParseFrame(b)
			if err == nil {
				if _, ok := f.Message.(Ping); ok {
					pings.Add(1)
					if pong {
						ws.Write(ctx, websocket.MessageBinary, AppendFrame(nil, 1, Pong{}))
					}
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dialErr(t *testing.T, c *Client) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := c.Dial(ctx, newKey(t).Public().(ed25519.PublicKey))
	if err == nil {
		conn.Close()
		t.Fatal("dial succeeded")
	}
	return err, time.Since(start)
}

// TestSilentRelay: a relay that never answers fails the session after
// Silence, a relay that answers our pings keeps it, and garbage ends it.
func TestSilentRelay(t *testing.T) {
	const silence = 400 * time.Millisecond
	var pings atomic.Int64

	t.Run("no channel", func(t *testing.T) {
		c := newClient(t, Config{URL: fakeRelay(t, false, false, nil, &pings), Silence: silence})
		err, took := dialErr(t, c)
		if !errors.Is(err, ErrRelayUnreachable) || !strings.Contains(err.Error(), "said nothing") {
			t.Fatalf("dial through a relay that says nothing: %v", err)
		}
		t.Logf("%v after %v", err, took)
	})

	t.Run("silent", func(t *testing.T) {
		c := newClient(t, Config{URL: fakeRelay(t, true, false, nil, &pings), Silence: silence, PingInterval: silence / 4})
		err, took := dialErr(t, c)
		if !errors.Is(err, ErrRelayGone) || !strings.Contains(err.Error(), "said nothing") {
			t.Fatalf("dial through a relay that goes silent: %v", err)
		}
		if pings.Load() == 0 {
			t.Fatal("the session never pinged the silent relay")
		}
		t.Logf("%v after %v, %d pings", err, took, pings.Load())
	})

	t.Run("pongs", func(t *testing.T) {
		pings.Store(0)
		c := newClient(t, Config{URL: fakeRelay(t, true, true, nil, &pings), Silence: silence, PingInterval: silence / 4})
		ctx, cancel := context.WithTimeout(context.Background(), 4*silence)
		defer cancel()
		_, err := c.Dial(ctx, newKey(t).Public().(ed25519.PublicKey))
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrRelayGone) {
			t.Fatalf("dial through a relay that answers pings only: %v, want the context's deadline", err)
		}
		if pings.Load() < 2 {
			t.Fatalf("%d pings in %v with PingInterval %v", pings.Load(), 4*silence, silence/4)
		}
	})

	t.Run("garbage", func(t *testing.T) {
		c := newClient(t, Config{URL: fakeRelay(t, true, true, []byte{1, 200, 1}, &pings), Silence: silence})
		err, _ := dialErr(t, c)
		if !errors.Is(err, ErrRelayGone) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("dial through a relay that sends garbage: %v", err)
		}
	})
}
