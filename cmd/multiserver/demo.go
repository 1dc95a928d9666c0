package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
)

// demo serves several stacks on loopback, dials each advertised address
// and prints what happened.
func demo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("demo")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: demo takes no arguments", errUsage)
	}
	dir, err := os.MkdirTemp("", "multiserver-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	app := make([]byte, 32)
	rand.Read(app)
	server, serverKey, err := demoNetwork(app)
	if err != nil {
		return err
	}
	client, _, err := demoNetwork(app)
	if err != nil {
		return err
	}
	listen := "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise;net:127.0.0.1:0~noise~yamux;ws://127.0.0.1:0~shs;quic:127.0.0.1:0;" +
		"unix:" + filepath.Join(dir, "demo.sock") + "~noauth;net:127.0.0.1:0~noauth"
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		listen = "net:::1:0~shs;" + listen
	}
	ln, err := server.Listen(ctx, listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { echoConn(c); c.Close() }()
		}
	}()
	advertised := ln.Address(multiserver.ScopeDevice)
	fmt.Fprintf(stdout, "server key  %s\nlistening   %s\nadvertised  %s\n\n", keys.ID(serverKey.Public().(ed25519.PublicKey)), listen, advertised)

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIAL\tSTACK\tRESULT\tPEER KEY\tTIME")
	list, _ := address.Parse(advertised)
	for _, a := range list {
		row(ctx, tw, client, a.String(), stackName(a), serverKey)
	}
	pub := address.EncodeKey(serverKey.Public().(ed25519.PublicKey))
	other := address.EncodeKey(keys.Generate().Public().(ed25519.PublicKey))
	row(ctx, tw, client, "onion:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion:8008~shs:"+pub+";"+advertised,
		"no onion plug: skipped", serverKey)
	row(ctx, tw, client, strings.Replace(list[0].String(), pub, other, 1), "wrong server key", serverKey)
	tw.Flush()
	return nil
}

func demoNetwork(app []byte) (*multiserver.Network, ed25519.PrivateKey, error) {
	priv := keys.Generate()
	n, err := newNetwork(stackConfig{identity: priv, appKey: app, timeout: 2 * time.Second})
	return n, priv, err
}

func stackName(a address.Addr) string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return strings.Join(names, "~")
}

// row dials addr, echoes 64 KiB through it and writes one table row.
func row(ctx context.Context, w io.Writer, n *multiserver.Network, addr, stack string, want ed25519.PrivateKey) {
	start := time.Now()
	result, peer := echoThrough(ctx, n, addr, want)
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", shorten(addr), stack, result, peer, time.Since(start).Round(100*time.Microsecond))
}

func echoThrough(ctx context.Context, n *multiserver.Network, addr string, want ed25519.PrivateKey) (result, peer string) {
	c, err := n.Dial(ctx, addr)
	if err != nil {
		return "failed: " + firstLine(err), "-"
	}
	defer c.Close()
	peer = "none (noauth)"
	if k, ok := multiserver.RemoteKey(c); ok {
		peer = "unexpected"
		if bytes.Equal(k, want.Public().(ed25519.PublicKey)) {
			peer = "verified"
		}
	}
	msg := make([]byte, 64<<10)
	rand.Read(msg)
	go func() { c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return "echo failed: " + err.Error(), peer
	}
	if !bytes.Equal(got, msg) {
		return "echo differs", peer
	}
	return "ok, 64 KiB echoed", peer
}

func firstLine(err error) string {
	var de *multiserver.DialError
	if errors.As(err, &de) {
		err = de.Err
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// shorten abbreviates the keys in an address for the table.
func shorten(addr string) string {
	if first, _, ok := strings.Cut(addr, ";"); ok {
		return shorten(first) + ";…"
	}
	var out []string
	for _, part := range strings.Split(addr, "~") {
		name, rest, _ := strings.Cut(part, ":")
		switch {
		case (name == "shs" || name == "noise") && len(rest) > 8:
			part = name + ":" + rest[:6] + "…"
		case name == "quic" && strings.Count(rest, ":") >= 2:
			i := strings.LastIndex(rest, ":")
			if key := rest[i+1:]; len(key) > 8 {
				part = name + ":" + rest[:i+1] + key[:6] + "…"
			}
		case name == "onion" && len(rest) > 16:
			part = name + ":" + rest[:10] + "…" + rest[strings.LastIndex(rest, ".onion"):]
		}
		out = append(out, part)
	}
	return strings.Join(out, "~")
}
