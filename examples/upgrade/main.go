// Command upgrade retires a cipher without negotiation: a server serves
// Noise beside secret-handshake, advertising Noise first; old clients
// that speak only shs and a new one that speaks noise connect. The
// server watches each stack's usage (Listener.Usage) as old clients
// upgrade and move to noise, then drains shs: it stops advertising it at
// once, serves it for a grace period to peers that knew its address,
// and drops it. Connections it carried are never cut; a client that
// never upgraded can no longer connect, and says why.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// A Peer is a Network that speaks some of the transforms.
type Peer struct {
	*multiserver.Network
	Key ed25519.PrivateKey
}

// NewPeer returns a peer with a new key that speaks the named transforms
// ("shs", "noise").
func NewPeer(appKey []byte, speaks ...string) (*Peer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewPeerWithKey(appKey, key, speaks...)
}

// NewPeerWithKey is NewPeer with a key of the caller's: a peer that
// upgrades its software keeps its identity.
func NewPeerWithKey(appKey []byte, key ed25519.PrivateKey, speaks ...string) (*Peer, error) {
	id, err := keys.NewIdentity(key, appKey)
	if err != nil {
		return nil, err
	}
	var ts []multiserver.Transform
	for _, name := range speaks {
		var (
			t   multiserver.Transform
			err error
		)
		switch name {
		case "shs":
			t, err = shs.New(shs.Config{Identity: id})
		case "noise":
			t, err = noise.New(noise.Config{Identity: id})
		default:
			err = fmt.Errorf("unknown transform %q", name)
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}}, Transforms: ts})
	if err != nil {
		return nil, err
	}
	return &Peer{n, key}, nil
}

// Stack names the transform a dialed connection runs, as
// multiserver.Info tells.
func Stack(c net.Conn) string {
	if st := multiserver.Info(c).Stack; len(st) > 1 {
		return st[1].Name
	}
	return "no transform"
}

// Echo serves ln, echoing every connection, until ln closes.
func Echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// Ping writes msg to c and reads it back.
func Ping(c net.Conn, msg string) error {
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	if string(b) != msg {
		return fmt.Errorf("echo %q, want %q", b, msg)
	}
	return nil
}

// Report writes one line per stack of ln: how much it is used, and by
// how many peers that use no other stack.
func Report(out io.Writer, ln *multiserver.Listener) {
	for _, u := range ln.Usage() {
		state := "serving"
		if !u.DrainUntil.IsZero() {
			state = "draining"
		}
		fmt.Fprintf(out, "   %-5s %-8s %d conns in the last hour, %d peers, %d only over it\n",
			u.Addr[1].Name, state, u.LastHour, u.Peers, u.OnlyHere)
	}
}

func run(ctx context.Context, out io.Writer) error {
	appKey := make([]byte, 32)
	rand.Read(appKey)
	server, err := NewPeer(appKey, "shs", "noise")
	if err != nil {
		return err
	}

	// 1. Serve the new cipher beside the old, the new one advertised
	// first, so that peers that speak both pick it.
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~noise;net:127.0.0.1:0~shs")
	if err != nil {
		return err
	}
	defer ln.Close()
	go Echo(ln)
	both := ln.Address(multiserver.ScopeDevice)
	shsAddr := ln.Addresses(multiserver.ScopeDevice)[1].String()
	fmt.Fprintf(out, "1. server advertises %d stacks, noise first\n", len(ln.Addresses(multiserver.ScopeDevice)))

	// 2. Three old clients speak only shs, one new client noise.
	var olds []*Peer
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 3 {
		p, err := NewPeer(appKey, "shs")
		if err != nil {
			return err
		}
		olds = append(olds, p)
		c, err := p.Dial(ctx, both)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		// Once the echo is back, the server has counted the conn.
		if err := Ping(c, "hi"); err != nil {
			return err
		}
	}
	newClient, _ := NewPeer(appKey, "noise")
	c, err := newClient.Dial(ctx, both)
	if err != nil {
		return err
	}
	conns = append(conns, c)
	if err := Ping(c, "hi"); err != nil {
		return err
	}
	fmt.Fprintln(out, "2. three old clients connect over shs, a new one over noise:")
	Report(out, ln)

	// 3. Two old clients upgrade (same key, both ciphers) and reconnect:
	// they pick noise, the first advertised stack they speak. The third
	// keeps the old software and its connection.
	for _, p := range olds[:2] {
		up, err := NewPeerWithKey(appKey, p.Key, "shs", "noise")
		if err != nil {
			return err
		}
		c, err := up.Dial(ctx, both)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if err := Ping(c, "hi"); err != nil {
			return err
		}
		if Stack(c) != "noise" {
			return fmt.Errorf("an upgraded client connected over %s", Stack(c))
		}
	}
	fmt.Fprintln(out, "3. two old clients upgrade and reconnect over noise; one peer is left only on shs:")
	Report(out, ln)

	// 4. Drain shs: no longer advertised, still served for a grace period
	// to peers that knew its address.
	const grace = 200 * time.Millisecond
	if err := ln.Drain(shsAddr, grace); err != nil {
		return err
	}
	fmt.Fprintf(out, "4. server drains shs for %v and now advertises %d stack:\n", grace, len(ln.Addresses(multiserver.ScopeDevice)))
	Report(out, ln)
	late, err := olds[2].Dial(ctx, both)
	if err != nil {
		return fmt.Errorf("a draining stack refused a peer: %w", err)
	}
	conns = append(conns, late)
	if err := Ping(late, "hi"); err != nil {
		return err
	}
	fmt.Fprintln(out, "   the last old client still connects over shs, from the address it knew")

	// 5. After the grace period shs is dropped. Connections it carried
	// stay up.
	for len(ln.Usage()) > 1 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(out, "5. shs dropped:")
	Report(out, ln)
	if _, err := olds[2].Dial(ctx, both); err != nil {
		fmt.Fprintf(out, "   old client dialing again: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n     "))
	}
	if err := Ping(late, "still here"); err != nil {
		return fmt.Errorf("the drop cut a connection: %w", err)
	}
	fmt.Fprintln(out, "   its open connection carries on")
	return nil
}
