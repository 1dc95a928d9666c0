package multiserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net"
	"testing"

	"github.com/f7d52a8e/multiserver"
)

// TestInfo: every conn and stream a Network dials or a Listener accepts
// says which stack it came through, the peer's key and its path, through
// every wrapper: plain conns, sole streams of Dial, streams of
// DialSession, and streams a Listener accepts from sessions.
func TestInfo(t *testing.T) {
	app := make([]byte, 32)
	server, serverKey := sessionNetwork(t, app)
	client, clientKey := sessionNetwork(t, app)
	ln := listen(t, server, "net:127.0.0.1:0~noise~yamux;net:127.0.0.1:0~noise;net:127.0.0.1:0~noauth")
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	served := ln.Addresses(multiserver.ScopeDevice)
	listenAddrs := []string{"net:127.0.0.1:0~noise~yamux", "net:127.0.0.1:0~noise", "net:127.0.0.1:0~noauth"}
	check := func(t *testing.T, side string, c net.Conn, stack string, key ed25519.PublicKey) {
		t.Helper()
		info := multiserver.Info(c)
		if info.Stack.String() != stack {
			t.Errorf("%s: Info.Stack = %q, want %q", side, info.Stack, stack)
		}
		if !bytes.Equal(info.RemoteKey, key) {
			t.Errorf("%s: Info.RemoteKey = %x, want %x", side, info.RemoteKey, key)
		}
		if info.Path != (multiserver.Path{Carrier: "net"}) {
			t.Errorf("%s: Info.Path = %+v, want direct over net", side, info.Path)
		}
	}
	for i, a := range served {
		var wantServer, wantClient ed25519.PublicKey = serverKey, clientKey
		if i == 2 {
			wantServer, wantClient = nil, nil
		}
		t.Run(a.String(), func(t *testing.T) {
			c, err := client.Dial(context.Background(), a.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("x")) // a yamux stream reaches the peer with its first byte
			check(t, "dialed", c, a.String(), wantServer)
			in := <-accepted
			defer in.Close()
			check(t, "accepted", in, listenAddrs[i], wantClient)
		})
	}
	sess, err := client.DialSession(context.Background(), served[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st, err := sess.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Write([]byte("x"))
	check(t, "stream of DialSession", st, served[0].String(), serverKey)
	in := <-accepted
	defer in.Close()
	check(t, "accepted stream", in, listenAddrs[0], clientKey)
	if info := multiserver.Info(&net.TCPConn{}); info.Stack != nil || info.RemoteKey != nil || info.Path != (multiserver.Path{}) {
		t.Errorf("Info of a conn the Network did not make = %+v, want nothing", info)
	}
}
