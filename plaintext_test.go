package multiserver_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// TestBareAddressNeedsNoauth: an address with no transform is plaintext,
// so a Network with secure transforms only neither serves nor dials it;
// before, it served it in every scope and dialed it as a plain TCP conn.
func TestBareAddressNeedsNoauth(t *testing.T) {
	var accepted atomic.Int32
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	secure := newNetwork(t, multiserver.Config{Transforms: []multiserver.Transform{hello{}}})
	_, err = secure.Dial(context.Background(), "net:"+l.Addr().String())
	if !errors.Is(err, multiserver.ErrUnsupportedAddress) || !strings.Contains(err.Error(), "plaintext") {
		t.Errorf("Dial of a bare address = %v, want ErrUnsupportedAddress saying it is plaintext", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the bare address was dialed %d times", n)
	}
	if ln, err := secure.Listen(context.Background(), "net:127.0.0.1:0"); !errors.Is(err, multiserver.ErrUnsupportedAddress) {
		if err == nil {
			ln.Close()
		}
		t.Errorf("Listen of a bare address = %v, want ErrUnsupportedAddress", err)
	}

	// With noauth it is a noauth stack: served on loopback, dialed.
	plain := newNetwork(t, multiserver.Config{})
	ln := listen(t, plain, "net:127.0.0.1:0")
	echo(t, ln)
	c, err := plain.Dial(context.Background(), ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "plain")
	c.Close()
}

// TestPlaintextStaysOnTheDevice: noauth and bare stacks are served only
// where the device alone reaches them, unless noauth.Transform.Scope
// opts in; before, an address reachable from the local network served
// them to the whole LAN.
func TestPlaintextStaysOnTheDevice(t *testing.T) {
	tests := []struct {
		name  string
		scope multiserver.Scope // of the noauth transform
		plug  multiserver.Plug  // where the address is reachable
		ok    bool
	}{
		{"device only, loopback", multiserver.ScopeDevice, &scopedTCP{widest: multiserver.ScopeDevice}, true},
		{"device only, LAN", multiserver.ScopeDevice, &scopedTCP{widest: multiserver.ScopeLocal}, false},
		{"device only, public", multiserver.ScopeDevice, &tcp.Plug{External: []string{"203.0.113.5"}}, false},
		{"LAN opt-in, LAN", multiserver.ScopeLocal, &scopedTCP{widest: multiserver.ScopeLocal}, true},
		{"LAN opt-in, public", multiserver.ScopeLocal, &tcp.Plug{External: []string{"203.0.113.5"}}, false},
		{"public opt-in, public", multiserver.ScopePublic, &tcp.Plug{External: []string{"203.0.113.5"}}, true},
	}
	for _, tt := range tests {
		for _, addr := range []string{"net:127.0.0.1:0~noauth", "net:127.0.0.1:0"} {
			t.Run(tt.name+" "+addr, func(t *testing.T) {
				n := newNetwork(t, multiserver.Config{
					Plugs:      []multiserver.Plug{tt.plug},
					Transforms: []multiserver.Transform{noauth.Transform{Scope: tt.scope}},
				})
				ln, err := n.Listen(context.Background(), addr)
				if err == nil {
					ln.Close()
				}
				if (err == nil) != tt.ok {
					t.Fatalf("Listen = %v, want ok %v", err, tt.ok)
				}
				if err != nil && !strings.Contains(err.Error(), "refused on an address reachable") {
					t.Errorf("Listen error %q does not say why", err)
				}
			})
		}
	}
}

// scopedTCP is the tcp plug with listeners that say they are reachable
// in every scope up to widest, as a wildcard bind on a host with private
// addresses only is reachable from the local network.
type scopedTCP struct {
	tcp.Plug
	widest multiserver.Scope
}

func (p *scopedTCP) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	ln, err := p.Plug.Listen(ctx, s)
	if err != nil {
		return nil, err
	}
	return scopedListener{ln, p.widest}, nil
}

type scopedListener struct {
	net.Listener
	widest multiserver.Scope
}

func (l scopedListener) Advertise(scope multiserver.Scope) []address.Segment {
	if scope > l.widest {
		return nil
	}
	return []address.Segment{{Name: "net", Fields: []string{"127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)}}}
}

// TestWebSocketOrigin: a ws stack that authenticates nobody refuses
// upgrades from other origins, and Host names that are not its own (DNS
// rebinding), so that a web page cannot use it; an authenticated stack
// takes browsers of any origin. Before, ws~noauth accepted any origin.
func TestWebSocketOrigin(t *testing.T) {
	n := newNetwork(t, multiserver.Config{Plugs: []multiserver.Plug{&ws.Plug{}}})
	ln := listen(t, n, "ws://127.0.0.1:0~noauth;ws://127.0.0.1:0~hello")
	echo(t, ln)
	list := ln.Addresses(multiserver.ScopeDevice)
	tests := []struct {
		name   string
		stack  int // 0 noauth, 1 hello
		host   string
		origin string
		want   int
	}{
		{"noauth, no origin", 0, "", "", http.StatusSwitchingProtocols},
		{"noauth, same origin", 0, "", "http://HOST", http.StatusSwitchingProtocols},
		{"noauth, localhost", 0, "localhost", "http://HOST", http.StatusSwitchingProtocols},
		{"noauth, other origin", 0, "", "https://evil.example", http.StatusForbidden},
		{"noauth, rebound host", 0, "evil.example", "http://evil.example", http.StatusForbidden},
		{"authenticated, other origin", 1, "", "https://evil.example", http.StatusSwitchingProtocols},
		{"authenticated, rebound host", 1, "evil.example", "http://evil.example", http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostport := strings.TrimPrefix(list[tt.stack].Plug().String(), "ws://")
			_, port, _ := net.SplitHostPort(hostport)
			host := hostport
			if tt.host != "" {
				host = net.JoinHostPort(tt.host, port)
			}
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = strings.Replace(tt.origin, "HOST", host, 1)
			}
			c, err := net.Dial("tcp", hostport)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := upgrade(c, host, "/", hdr)
			if err != nil || got != tt.want {
				t.Errorf("upgrade = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
