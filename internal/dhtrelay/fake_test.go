package dhtrelay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestBadNoiseReply: a relay (here a fake one) that hands us a Noise
// reply that does not check out, twice, as hyperdht may: the dial fails
// with ErrHandshake, and we answer the handshake id once, with an empty
// payload, since a second answer would throw in the JavaScript relay.
func TestBadNoiseReply(t *testing.T) {
	var (
		mu      sync.Mutex
		replies []NoiseReply
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		send := func(b []byte) { ws.Write(ctx, websocket.MessageBinary, b) }
		send(AppendOpenChannel(nil, 1, Protocol))
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			f, err := ParseFrame(b)
			if err != nil {
				continue
			}
			switch m := f.Message.(type) {
			case Connect:
				send(AppendFrame(nil, 1, NoiseSend{Initiator: true, ID: 7, RemoteStreamAlias: m.Alias, Payload: []byte("payload")}))
			case NoiseReply:
				mu.Lock()
				replies = append(replies, m)
				n := len(replies)
				mu.Unlock()
				if n == 1 {
					bogus := NoiseReceive{Initiator: true, ID: 7, Payload: make([]byte, 48+16)}
					send(AppendFrame(nil, 1, bogus))
					send(AppendFrame(nil, 1, bogus))
				}
			}
		}
	}))
	defer srv.Close()
	c := newClient(t, Config{URL: "ws" + strings.TrimPrefix(srv.URL, "http")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Dial(ctx, newKey(t).Public().(ed25519.PublicKey))
	if err == nil {
		conn.Close()
		t.Fatal("a bogus Noise reply was taken")
	}
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("dial with a bogus Noise reply: %v, want ErrHandshake", err)
	}
	time.Sleep(100 * time.Millisecond) // let a wrong second answer arrive, if any
	mu.Lock()
	defer mu.Unlock()
	if len(replies) != 2 || len(replies[0].Payload) == 0 || len(replies[1].Payload) != 0 || replies[1].Complete {
		t.Fatalf("our noiseReply messages: %+v; want the first message, then one empty refusal", replies)
	}
}
