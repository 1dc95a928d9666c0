package tunnel

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/muxrpc"
)

// TestConnectRequestVector checks the bytes of the dialer's
// tunnel.connect request against spec/vectors/tunnel.json.
func TestConnectRequestVector(t *testing.T) {
	b, err := os.ReadFile("../../spec/vectors/tunnel.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		IDs struct {
			RoomKey   string `json:"room_key"`
			TargetKey string `json:"target_key"`
		} `json:"ids"`
		ConnectRequest struct {
			JSON string `json:"json"`
		} `json:"connect_request"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	roomKey, _ := hex.DecodeString(v.IDs.RoomKey)
	target, _ := hex.DecodeString(v.IDs.TargetKey)
	c, raw := net.Pipe()
	defer raw.Close()
	s := muxrpc.New(c, muxrpc.Config{})
	r := &room{p: &Plug{}, key: roomKey, id: ID(roomKey), self: target, sess: s, carrier: "net"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan muxrpc.Packet, 1)
	go func() {
		p, _ := muxrpc.ReadPacket(raw, 1<<16)
		got <- p
		for {
			if _, err := muxrpc.ReadPacket(raw, 1<<16); err != nil {
				return
			}
		}
	}()
	tc, err := r.dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	p := <-got
	if !p.Stream || p.End || p.Type != muxrpc.JSON || p.Req != 1 || string(p.Body) != v.ConnectRequest.JSON {
		t.Fatalf("request %+v %s, want %s", p, p.Body, v.ConnectRequest.JSON)
	}
	tc.Close() // the last user: closes the session
}
