package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/keys"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	t.Run("stdout", func(t *testing.T) {
		r := runCLI(t, nil, "keygen")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("keygen: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		var f map[string]string
		if err := json.Unmarshal(r.stdout, &f); err != nil {
			t.Fatalf("keygen stdout is not JSON: %v\n%s", err, r.stdout)
		}
		for _, field := range []string{"curve", "public", "private", "id"} {
			if f[field] == "" {
				t.Errorf("keygen JSON has no %q: %s", field, r.stdout)
			}
		}
		priv, err := keys.Unmarshal(r.stdout)
		if err != nil {
			t.Fatalf("keys.Unmarshal(keygen stdout) = %v", err)
		}
		if want := keys.ID(priv.Public().(ed25519.PublicKey)); f["id"] != want {
			t.Errorf("id = %q, want %q", f["id"], want)
		}
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		r := runCLI(t, nil, "keygen", "-o", path)
		if r.code != 0 || r.stderr != "" || len(r.stdout) != 0 {
			t.Fatalf("keygen -o: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Unmarshal(before); err != nil {
			t.Fatalf("keys.Unmarshal(key file) = %v", err)
		}

		r = runCLI(t, nil, "keygen", "-o", path)
		if r.code != 1 {
			t.Errorf("keygen -o over an existing file: exit %d, want 1", r.code)
		}
		wantOneLine(t, "keygen -o over an existing file", r.stderr, path)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Errorf("keygen -o changed an existing key file")
		}
	})
}

func TestServeEcho(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, serverPub := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	sock := filepath.Join(dir, "s.sock")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--listen", "unix:"+sock+"~noauth", "--echo")

	list, err := grammar.Parse(p.addr)
	if err != nil {
		t.Fatalf("address.Parse(first line %q) = %v", p.addr, err)
	}
	if len(list) != 2 {
		t.Fatalf("serve advertised %q, want 2 addresses", p.addr)
	}
	host, port, err := address.HostPort(list[0].Plug())
	if err != nil || host != "127.0.0.1" || port == 0 {
		t.Errorf("first address %q: host %q, port %d, err %v; want 127.0.0.1 and a real port", list[0], host, port, err)
	}
	if want := "shs:" + address.EncodeKey(serverPub); len(list[0]) != 2 || list[0][1].String() != want {
		t.Errorf("first address %q, want its transform %q", list[0], want)
	}
	if want := "unix:" + sock + "~noauth"; list[1].String() != want {
		t.Errorf("second address %q, want %q", list[1], want)
	}

	data := randomBytes(256 << 10)
	for _, a := range list {
		t.Run(stackName(a), func(t *testing.T) {
			r := runCLI(t, data, "dial", "--key", clientKey, a.String())
			if r.code != 0 {
				t.Fatalf("dial %s: exit %d, stderr %q", a, r.code, r.stderr)
			}
			if !bytes.Equal(r.stdout, data) {
				t.Errorf("dial %s: got %d bytes back, want the %d sent", a, len(r.stdout), len(data))
			}
			if r.stderr != "" {
				t.Errorf("dial %s: stderr %q, want nothing", a, r.stderr)
			}
		})
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after serve exited: %v", err)
	}
}

func TestServeExec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--exec", "tr a-z A-Z")
	r := runCLI(t, []byte("hello"), "dial", "--key", clientKey, p.addr)
	if r.code != 0 || string(r.stdout) != "HELLO" {
		t.Errorf("dial: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "HELLO")
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
}

// TestServeExecSIGTERM stops a server while its command, which ignores
// its stdin and has a child of its own, serves a connection. The server
// must kill them and exit, and the dialer must exit when the server hangs
// up although its own stdin stays open.
func TestServeExecSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--exec", "echo ready; sleep 60; echo late")

	d := exec.Command(cliBin, "dial", "--key", clientKey, p.addr)
	stdin, err := d.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	ready := newLineCatcher()
	var stderr logtest.Buffer
	d.Stdout, d.Stderr = ready, &stderr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close()
		d.Process.Kill()
		<-done
	})
	select {
	case line := <-ready.line:
		if line != "ready" {
			t.Fatalf("dial printed %q first, want %q", line, "ready")
		}
	case <-done:
		t.Fatalf("dial exited with %v before the command ran; stderr: %s", d.ProcessState, stderr.String())
	case <-time.After(waitTimeout):
		t.Fatalf("dial printed nothing within %v; stderr: %s", waitTimeout, stderr.String())
	}

	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("dial still running %v after the server exited", waitTimeout)
	}
}

func TestServeForward(t *testing.T) {
	t.Parallel()
	// The forward target: a TCP echo server that passes on half-closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			})
		}
	})

	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--forward", ln.Addr().String())
	data := randomBytes(64 << 10)
	r := runCLI(t, data, "dial", "--key", clientKey, p.addr)
	if r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Errorf("dial: exit %d, %d bytes back, stderr %q; want 0 and the %d bytes sent", r.code, len(r.stdout), r.stderr, len(data))
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	_, otherPub := writeKey(t, dir, "other.json")
	app := randomAppKey()
	p := startServe(t, "--key", serverKey, "--app-key", app, "--listen", "net:127.0.0.1:0~shs", "--echo")
	list, err := grammar.Parse(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	plug, key := list[0].Plug().String(), list[0][1].Fields[0]
	ws := "ws://127.0.0.1:1~shs:" + key

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "net:" + closed.Addr().String() + "~noauth"
	closed.Close()

	tests := []struct {
		name    string
		args    []string
		code    int
		mention []string
	}{
		{"wrong app key", []string{"--app-key", randomAppKey(), p.addr}, 1, []string{"handshake"}},
		{"wrong server key", []string{"--app-key", app, plug + "~shs:" + address.EncodeKey(otherPub)}, 1, []string{"handshake"}},
		{"unsupported address", []string{"--app-key", app, ws}, 1, []string{ws}},
		{"garbage address", []string{"garbage"}, 2, []string{"usage", "bad address", "garbage"}},
		{"connection refused", []string{refused}, 1, []string{closed.Addr().String()}},
		{"missing key file", []string{"--key", filepath.Join(dir, "absent.json"), p.addr}, 1, []string{"absent.json"}},
		{"missing address", nil, 2, []string{"usage"}},
		{"two addresses", []string{p.addr, p.addr}, 2, []string{"usage"}},
		{"bad app key", []string{"--app-key", "c2hvcnQ=", p.addr}, 2, []string{"app-key"}},
		{"unknown flag", []string{"--bogus", p.addr}, 2, []string{"bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"dial", "--key", clientKey}, tt.args...)
			r := runCLI(t, []byte("hello"), args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if len(r.stdout) != 0 {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			wantOneLine(t, tt.name, r.stderr, tt.mention...)
		})
	}
}

func TestDefaultAppKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--echo")

	for _, args := range [][]string{nil, {"--app-key", SSBAppKey}} {
		args := append(append([]string{"dial", "--key", clientKey}, args...), p.addr)
		r := runCLI(t, []byte("ping"), args...)
		if r.code != 0 || string(r.stdout) != "ping" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, "ping")
		}
	}
	r := runCLI(t, []byte("ping"), "dial", "--key", clientKey, "--app-key", randomAppKey(), p.addr)
	if r.code != 1 || len(r.stdout) != 0 {
		t.Errorf("dial with another app key: exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
	wantOneLine(t, "dial with another app key", r.stderr, "handshake")
}

const testKey = "1iRlEVD3jQ/ILTPIzJK19R0VRVVznRrqy6JRtyALHAI="

func TestAddrParse(t *testing.T) {
	t.Parallel()
	in := "unix:/tmp/a!b~noauth;net:localhost:8008~shs:" + testKey
	r := runCLI(t, nil, "addr", "parse", in)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("addr parse: exit %d, stderr %q", r.code, r.stderr)
	}
	var got []struct {
		Address string `json:"address"`
		Layers  []struct {
			Name   string   `json:"name"`
			Fields []string `json:"fields"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(r.stdout, &got); err != nil {
		t.Fatalf("addr parse output is not JSON: %v\n%s", err, r.stdout)
	}
	want := []string{"unix:/tmp/ab~noauth", "net:localhost:8008~shs:" + testKey}
	if len(got) != len(want) {
		t.Fatalf("addr parse %q: %d entries, want %d:\n%s", in, len(got), len(want), r.stdout)
	}
	for i, w := range want {
		if got[i].Address != w {
			t.Errorf("entry %d: address %q, want %q", i, got[i].Address, w)
		}
	}
	if l := got[1].Layers; len(l) != 2 || l[0].Name != "net" || strings.Join(l[0].Fields, ":") != "localhost:8008" || l[1].Name != "shs" || strings.Join(l[1].Fields, ":") != testKey {
		t.Errorf("entry 1: layers %+v, want net localhost:8008 and shs KEY", l)
	}
}

func TestAddrExplain(t *testing.T) {
	t.Parallel()
	in := "net:127.0.0.1:8008~shs:" + testKey + ";unix:/tmp/s.sock~noauth"
	r := runCLI(t, nil, "addr", "explain", in)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("addr explain: exit %d, stderr %q", r.code, r.stderr)
	}
	out := string(r.stdout)
	for _, s := range []string{"address 1", "address 2", "net", "127.0.0.1", "8008", "shs", testKey, "unix", "/tmp/s.sock", "noauth"} {
		if !strings.Contains(out, s) {
			t.Errorf("addr explain output does not mention %q:\n%s", s, out)
		}
	}
}

func TestAddrMultiaddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"to ip4", []string{"to-multiaddr", "net:127.0.0.1:8008~shs:" + testKey}, "/ip4/127.0.0.1/tcp/8008\n"},
		{"to unix", []string{"to-multiaddr", "unix:/tmp/s.sock~noauth"}, "/unix/tmp/s.sock\n"},
		{"from ip6", []string{"from-multiaddr", "/ip6/::1/tcp/8008"}, "net:::1:8008\n"},
		{"from ip4", []string{"from-multiaddr", "/ip4/127.0.0.1/tcp/8008"}, "net:127.0.0.1:8008\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, append([]string{"addr"}, tt.args...)...)
			if r.code != 0 || string(r.stdout) != tt.want || r.stderr != "" {
				t.Errorf("addr %s: exit %d, stdout %q, stderr %q; want 0 and %q", strings.Join(tt.args, " "), r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestAddrErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"parse garbage", []string{"parse", "bogus"}, 1},
		{"parse empty alternative", []string{"parse", "net:127.0.0.1:1~noauth;;"}, 2},
		{"explain incomplete", []string{"explain", "net:"}, 2},
		{"to-multiaddr garbage", []string{"to-multiaddr", "bogus"}, 1},
		{"to-multiaddr mem", []string{"to-multiaddr", "mem:x~noauth"}, 1},
		{"from-multiaddr garbage", []string{"from-multiaddr", "/bogus"}, 2},
		{"from-multiaddr udp", []string{"from-multiaddr", "/ip4/127.0.0.1/udp/1"}, 1},
		{"unknown verb", []string{"frob", "x"}, 2},
		{"no argument", []string{"parse"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, append([]string{"addr"}, tt.args...)...)
			if r.code != tt.code || len(r.stdout) != 0 {
				t.Errorf("addr %s: exit %d, stdout %q; want %d and nothing", strings.Join(tt.args, " "), r.code, r.stdout, tt.code)
			}
			wantOneLine(t, "addr "+strings.Join(tt.args, " "), r.stderr)
		})
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "demo")
	if r.code != 0 {
		t.Fatalf("demo: exit %d, stderr %q", r.code, r.stderr)
	}
	checkDemo(t, string(r.stdout))
}

// checkDemo checks that the demo's table has an "ok" row per stack and a
// failed "wrong server key" row whose error is told in a note below, and
// that no line is wider than 100 columns.
func checkDemo(t *testing.T, out string) {
	t.Helper()
	checkWidth(t, out, 100)
	if !strings.Contains(out, "\n[1] wrong server key: dial ") || !strings.Contains(out, "handshake") {
		t.Errorf("demo output has no note [1] with the wrong server key's dial error:\n%s", out)
	}
	okRows := map[string]int{}
	wrongKey := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(f[2], "ok") {
			okRows[f[1]]++
		}
		if strings.Contains(line, "wrong server key") && strings.Contains(line, "failed") {
			wrongKey = true
		}
	}
	for _, stack := range []string{"net~shs", "net~noise", "net~noise~yamux", "ws~shs", "quic", "unix~noauth", "net~noauth"} {
		if okRows[stack] == 0 {
			t.Errorf("demo table has no ok row for %s:\n%s", stack, out)
		}
	}
	if !wrongKey {
		t.Errorf("demo table has no failed wrong server key row:\n%s", out)
	}
}

// checkWidth checks that no line of out is longer than width runes.
func checkWidth(t *testing.T, out string, width int) {
	t.Helper()
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("line of %d columns, want at most %d: %q", n, width, line)
		}
	}
}

// TestDemoTable checks that the demo's table stays within 100 columns
// when an address and an error are long, and that each failure's error
// appears in full in a numbered note below the table.
func TestDemoTable(t *testing.T) {
	key := "GOFtnf//oL45eG43aWjjfIhL0N4VM9k3ApxSCPbiTXo="
	long := errors.New("dial net:127.0.0.1:45225~noise:" + key + "~yamux: noise handshake: " + strings.Repeat("a rather long cause, ", 20) + "EOF")
	rows := []demoRow{
		{addr: "net:127.0.0.1:45225~noise:" + key + "~yamux", stack: "net~noise~yamux", peer: "verified", took: 12300 * time.Microsecond},
		{addr: "unix:/tmp/multiserver-demo-3953254989/some/deeper/dir/demo.sock~noauth", stack: "unix~noauth", peer: "none (noauth)", took: time.Millisecond},
		{addr: "net:[fe80::1234:5678:9abc:def0%enp0s31f6]:45225~noise:" + key + "~yamux", stack: "a label longer than the column", peer: "-", err: long, took: 1234567 * time.Microsecond},
		{addr: "net:127.0.0.1:1~noauth", stack: "net~noauth", peer: "-", err: errors.New("short"), took: time.Millisecond},
	}
	var b strings.Builder
	if err := printTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	checkWidth(t, out, 100)
	table, notes, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("no notes below the table:\n%s", out)
	}
	if !strings.Contains(table, "failed [1]") || !strings.Contains(table, "failed [2]") {
		t.Errorf("table does not point at notes [1] and [2]:\n%s", table)
	}
	// Join the wrapped lines back into one line per note.
	var joined []string
	for line := range strings.Lines(notes) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "[") {
			joined = append(joined, line)
		} else if len(joined) > 0 {
			joined[len(joined)-1] += " " + strings.TrimSpace(line)
		}
	}
	want := []string{"[1] a label longer than the column: " + long.Error(), "[2] net~noauth: short"}
	if strings.Join(joined, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes, unwrapped:\n%s\nwant:\n%s", strings.Join(joined, "\n"), strings.Join(want, "\n"))
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"bogus"}, 2},
		{"keygen argument", []string{"keygen", "extra"}, 2},
		{"serve without listen", []string{"serve", "--echo"}, 2},
		{"serve two modes", []string{"serve", "--listen", "net:127.0.0.1:0~shs", "--echo", "--exec", "cat"}, 2},
		{"serve bad scope", []string{"serve", "--listen", "net:127.0.0.1:0~shs", "--scope", "galaxy"}, 2},
		{"serve bad noauth scope", []string{"serve", "--listen", "net:127.0.0.1:0~noauth", "--noauth-scope", "galaxy"}, 2},
		{"help", []string{"help"}, 0},
		{"--help", []string{"--help"}, 0},
		{"-h", []string{"-h"}, 0},
		{"serve --help", []string{"serve", "--help"}, 0},
		{"keygen -h", []string{"keygen", "-h"}, 0},
		{"dial --help", []string{"dial", "--help"}, 0},
		{"addr --help", []string{"addr", "--help"}, 0},
		{"demo --help", []string{"demo", "--help"}, 0},
		{"demo argument", []string{"demo", "extra"}, 2},
		{"serve bad address", []string{"serve", "--listen", "net:1.2.3"}, 2},
		{"dial bad address", []string{"dial", "garbage"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("multiserver %s: exit %d, want %d; stderr %q", strings.Join(tt.args, " "), r.code, tt.code, r.stderr)
			}
		})
	}
}

// TestHelp asks every command for help in each spelling: the help goes
// to stdout with the command's synopsis and every flag, and the command
// succeeds.
func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // in stdout
	}{
		{"help", []string{"help"}, []string{"usage:", "multiserver serve", "multiserver dial", "multiserver demo"}},
		{"--help", []string{"--help"}, []string{"usage:", "multiserver keygen"}},
		{"-h", []string{"-h"}, []string{"usage:", "multiserver addr"}},
		{"keygen --help", []string{"keygen", "--help"}, []string{"usage: multiserver keygen", "-o FILE"}},
		{"serve --help", []string{"serve", "--help"}, []string{"usage: multiserver serve", "-listen ADDR", "-echo", "-exec CMD", "-forward HOST:PORT", "-scope", "-key FILE", "-app-key", "-timeout", "-tls-cert", "-tls-key", "-tls-ca", "-v"}},
		{"serve flags then -h", []string{"serve", "--listen", "net:127.0.0.1:0~shs", "-h"}, []string{"usage: multiserver serve", "-listen ADDR"}},
		{"dial -help", []string{"dial", "-help"}, []string{"usage: multiserver dial", "-key FILE", "-app-key", "-timeout", "-tls-ca", "-v"}},
		{"addr --help", []string{"addr", "--help"}, []string{"usage: multiserver addr", "parse", "explain", "to-multiaddr", "from-multiaddr"}},
		{"addr parse -h", []string{"addr", "parse", "-h"}, []string{"usage: multiserver addr"}},
		{"demo --help", []string{"demo", "--help"}, []string{"usage: multiserver demo"}},
		{"help serve", []string{"help", "serve"}, []string{"usage: multiserver serve", "-listen ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, nil, &stdout, &stderr)
			if err != nil || stderr.Len() != 0 {
				t.Fatalf("multiserver %s: %v, stderr %q; want nil and nothing", strings.Join(tt.args, " "), err, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("multiserver %s: stdout does not mention %q:\n%s", strings.Join(tt.args, " "), w, stdout.String())
				}
			}
		})
	}
}

// TestBadAddress checks that an address that does not parse is a usage
// error told in one line, while one that parses but that no plug serves
// is not.
func TestBadAddress(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage bool
	}{
		{"dial garbage", []string{"dial", "garbage"}, true},
		{"dial only bad alternatives", []string{"dial", "garbage;net:1.2.3"}, true},
		{"dial one good alternative", []string{"dial", "garbage;net:127.0.0.1:1~noauth"}, false},
		{"dial no plug", []string{"dial", "onion:abc.onion:1~shs"}, false},
		{"serve garbage", []string{"serve", "--listen", "net:1.2.3"}, true},
		{"serve no plug", []string{"serve", "--listen", "onion:abc.onion:1~shs"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatalf("multiserver %s succeeded", strings.Join(tt.args, " "))
			}
			if got := errors.Is(err, errUsage); got != tt.usage {
				t.Errorf("multiserver %s: %v; usage error %v, want %v", strings.Join(tt.args, " "), err, got, tt.usage)
			}
			if tt.usage && (!strings.Contains(err.Error(), "bad address") || strings.Contains(err.Error(), "\n")) {
				t.Errorf("multiserver %s: %q, want one line that says bad address", strings.Join(tt.args, " "), err)
			}
		})
	}
}

// TestLongDialError dials a list of addresses that all fail, whose
// joined error is longer than 1,000 characters: by default the command
// says so in one short line that names the first cause; with -v it gives
// every attempt, one a line.
func TestLongDialError(t *testing.T) {
	var addrs []string
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, "net:"+ln.Addr().String()+"~noauth")
		ln.Close()
	}
	list := strings.Join(addrs, ";")
	dial := func(args ...string) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		var stdout, stderr bytes.Buffer
		err := run(ctx, append(append([]string{"dial"}, args...), list), strings.NewReader(""), &stdout, &stderr)
		if err == nil {
			t.Fatalf("dial %s succeeded", strings.Join(args, " "))
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errUsage) {
			t.Errorf("dial %s: %v; want an error that matches ECONNREFUSED and is no usage error", strings.Join(args, " "), err)
		}
		return err
	}

	msg := dial().Error()
	if len(msg) > 1000 || strings.Contains(msg, "\n") {
		t.Errorf("dial: error of %d characters, %d lines; want one line of at most 1000:\n%s", len(msg), strings.Count(msg, "\n")+1, msg)
	}
	for _, s := range []string{"20 addresses", addrs[0], "connection refused", "-v"} {
		if !strings.Contains(msg, s) {
			t.Errorf("dial: %q does not mention %q", msg, s)
		}
	}

	msg = dial("-v").Error()
	if lines := strings.Split(msg, "\n"); len(lines) != len(addrs) {
		t.Errorf("dial -v: %d lines, want one per address:\n%s", len(lines), msg)
	}
	for _, a := range addrs {
		if !strings.Contains(msg, "dial "+a+": ") {
			t.Errorf("dial -v: error does not mention %s:\n%s", a, msg)
		}
	}
}

// TestServeDialInProcess runs serve and dial through run, in this
// process, so that TestMain's goleak sees the goroutines they leave.
func TestServeDialInProcess(t *testing.T) {
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	ctx, cancel := context.WithCancel(context.Background())
	first := newLineCatcher()
	var stderr logtest.Buffer
	errc := make(chan error, 1)
	go func() {
		args := []string{"serve", "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--listen", "unix:" + filepath.Join(dir, "s.sock") + "~noauth"}
		errc <- run(ctx, args, nil, first, &stderr)
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-errc
		}
	})
	var addrs string
	select {
	case addrs = <-first.line:
	case err := <-errc:
		stopped = true
		t.Fatalf("serve returned %v before printing its address", err)
	case <-time.After(waitTimeout):
		t.Fatalf("serve printed no address within %v", waitTimeout)
	}
	list, err := grammar.Parse(addrs)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(64 << 10)
	for _, a := range list {
		var stdout, derr bytes.Buffer
		dctx, dcancel := context.WithTimeout(context.Background(), runTimeout)
		err := run(dctx, []string{"dial", "--key", clientKey, a.String()}, bytes.NewReader(data), &stdout, &derr)
		dcancel()
		if err != nil || !bytes.Equal(stdout.Bytes(), data) {
			t.Errorf("dial %s: %v, %d bytes back, stderr %q; want the %d bytes sent", a, err, stdout.Len(), derr.String(), len(data))
		}
	}
	cancel()
	stopped = true
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("serve returned %v after its context ended, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("serve still running %v after its context ended", waitTimeout)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("serve logged %q, want nothing", s)
	}
}

func TestDemoInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"demo"}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("demo: %v; stderr %q", err, stderr.String())
	}
	checkDemo(t, stdout.String())
}
