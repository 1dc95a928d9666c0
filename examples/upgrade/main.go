// Command upgrade retires a cipher without negotiation: a server serves
// secret-handshake and Noise side by side, an old client that speaks only
// shs and a new one that speaks only noise both connect, and then the
// server drops its shs stack. The old client can no longer connect and
// says why; the new one never notices.
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

// NewPeer returns a peer that speaks the named transforms ("shs", "noise").
func NewPeer(appKey []byte, speaks ...string) (*Peer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
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

func run(ctx context.Context, out io.Writer) error {
	appKey := make([]byte, 32)
	rand.Read(appKey)
	server, err := NewPeer(appKey, "shs", "noise")
	if err != nil {
		return err
	}
	oldClient, _ := NewPeer(appKey, "shs")
	newClient, _ := NewPeer(appKey, "noise")

	// 1. Serve both ciphers at once and advertise both.
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise")
	if err != nil {
		return err
	}
	defer ln.Close()
	go Echo(ln)
	both := ln.Address(multiserver.ScopeDevice)
	fmt.Fprintf(out, "1. server advertises %d stacks\n", len(ln.Addresses(multiserver.ScopeDevice)))

	// 2. Each client connects with the stack it has.
	oldConn, err := oldClient.Dial(ctx, both)
	if err != nil {
		return err
	}
	defer oldConn.Close()
	newConn, err := newClient.Dial(ctx, both)
	if err != nil {
		return err
	}
	defer newConn.Close()
	fmt.Fprintf(out, "2. old client connected over %s, new client over %s\n", Stack(oldConn), Stack(newConn))

	// 3. Retire shs: stop serving and advertising it.
	shsAddr := ln.Addresses(multiserver.ScopeDevice)[0].String()
	if err := ln.Drop(shsAddr); err != nil {
		return err
	}
	now := ln.Address(multiserver.ScopeDevice)
	fmt.Fprintf(out, "3. server dropped shs and now advertises %d stack\n", len(ln.Addresses(multiserver.ScopeDevice)))
	if _, err := oldClient.Dial(ctx, now); err != nil {
		fmt.Fprintf(out, "   old client: %v\n", err)
	}
	if err := Ping(newConn, "still here"); err != nil {
		return fmt.Errorf("the new client's connection was interrupted: %w", err)
	}
	fmt.Fprintln(out, "   new client: its connection carries on")
	return nil
}
