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
	"unicode/utf8"

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
	list, _ := grammar.Parse(advertised)
	fmt.Fprintf(stdout, "server key  %s\nlistening   %d addresses on this machine; each row dials one and echoes\n"+
		"            64 KiB through it (keys shortened to 6 characters)\n\n",
		keys.ID(serverKey.Public().(ed25519.PublicKey)), len(list))

	var rows []demoRow
	for _, a := range list {
		rows = append(rows, row(ctx, client, a.String(), stackName(a), serverKey))
	}
	pub := address.EncodeKey(serverKey.Public().(ed25519.PublicKey))
	other := address.EncodeKey(keys.Generate().Public().(ed25519.PublicKey))
	rows = append(rows,
		row(ctx, client, "onion:abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion:8008~shs:"+pub+";"+advertised,
			"onion skipped", serverKey),
		row(ctx, client, strings.Replace(list[0].String(), pub, other, 1), "wrong server key", serverKey))
	return printTable(stdout, rows)
}

// demoWidth is the most columns a line of the demo's output takes.
const demoWidth = 100

// demoRow is what dialing one address did.
type demoRow struct {
	addr, stack string
	peer        string // "verified", "unexpected", "none (noauth)" or "-"
	err         error  // nil if the echo came back whole
	took        time.Duration
}

// printTable writes rows as a table no wider than demoWidth, and the full
// error of each failed row as a numbered note below it.
func printTable(w io.Writer, rows []demoRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIAL\tSTACK\tRESULT\tPEER KEY\tTIME")
	var notes []string
	for _, r := range rows {
		result := "ok"
		if r.err != nil {
			notes = append(notes, r.stack+": "+r.err.Error())
			result = fmt.Sprintf("failed [%d]", len(notes))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", clip(shorten(r.addr), 40), clip(r.stack, 20), result, r.peer, r.took.Round(100*time.Microsecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, n := range notes {
		if i == 0 {
			fmt.Fprintln(w)
		}
		for _, line := range wrap(fmt.Sprintf("[%d] %s", i+1, n), demoWidth, "    ") {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// clip cuts s to at most n runes, ending it with "…" if it was longer.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrap breaks text into lines of at most width runes at spaces, each line
// after the first indented by indent. Each line of text starts a new
// line; a word longer than a line is cut.
func wrap(text string, width int, indent string) []string {
	var lines []string
	for para := range strings.Lines(text) {
		line := ""
		for _, word := range strings.Fields(para) {
			prefix := indent
			if len(lines) == 0 {
				prefix = ""
			}
			switch {
			case line == "":
				line = prefix + word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
				line += " " + word
			default:
				lines = append(lines, line)
				line = indent + word
			}
			for utf8.RuneCountInString(line) > width {
				r := []rune(line)
				lines = append(lines, string(r[:width]))
				line = indent + string(r[width:])
			}
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

func demoNetwork(app []byte) (*multiserver.Network, ed25519.PrivateKey, error) {
	priv := keys.Generate()
	id, err := keys.NewIdentity(priv, app)
	if err != nil {
		return nil, nil, err
	}
	n, err := newNetwork(stackConfig{identity: id, timeout: 2 * time.Second})
	return n, priv, err
}

func stackName(a address.Addr) string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return strings.Join(names, "~")
}

// row dials addr, echoes 64 KiB through it and says what happened.
func row(ctx context.Context, n *multiserver.Network, addr, stack string, want ed25519.PrivateKey) demoRow {
	start := time.Now()
	peer, err := echoThrough(ctx, n, addr, want)
	return demoRow{addr: addr, stack: stack, peer: peer, err: err, took: time.Since(start)}
}

func echoThrough(ctx context.Context, n *multiserver.Network, addr string, want ed25519.PrivateKey) (peer string, err error) {
	c, err := n.Dial(ctx, addr)
	if err != nil {
		return "-", err
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
		return peer, fmt.Errorf("echo: %w", err)
	}
	if !bytes.Equal(got, msg) {
		return peer, errors.New("echo: the bytes that came back differ")
	}
	return peer, nil
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
		case name == "unix" && len(rest) > 20:
			part = name + ":…/" + filepath.Base(rest)
		case name == "onion" && len(rest) > 16:
			part = name + ":" + rest[:6] + "…" + rest[strings.LastIndex(rest, ".onion"):]
		}
		out = append(out, part)
	}
	return strings.Join(out, "~")
}
