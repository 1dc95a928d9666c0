package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRetireCipher walks through the upgrade step by step.
func TestRetireCipher(t *testing.T) {
	ctx := context.Background()
	app := make([]byte, 32)
	rand.Read(app)
	server, _ := NewPeer(app, "shs", "noise")
	oldClient, _ := NewPeer(app, "shs")
	newClient, _ := NewPeer(app, "noise")

	// 1. Both stacks served and advertised at once.
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go Echo(ln)
	list := ln.Addresses(multiserver.ScopeDevice)
	if len(list) != 2 || list[0][1].Name != "shs" || list[1][1].Name != "noise" {
		t.Fatalf("advertised %v, want a shs and a noise stack", list)
	}
	both := list.String()

	// 2. Each client uses the stack it has.
	oldConn, err := oldClient.Dial(ctx, both)
	if err != nil {
		t.Fatalf("old client: %v", err)
	}
	defer oldConn.Close()
	newConn, err := newClient.Dial(ctx, both)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	defer newConn.Close()
	if Stack(oldConn) != "shs" || Stack(newConn) != "noise" {
		t.Fatalf("old client over %s, new over %s; want shs and noise", Stack(oldConn), Stack(newConn))
	}
	if err := Ping(oldConn, "old"); err != nil {
		t.Fatal(err)
	}
	if err := Ping(newConn, "new"); err != nil {
		t.Fatal(err)
	}

	// 3. Drop shs live: no longer served nor advertised.
	if err := ln.Drop(list[0].String()); err != nil {
		t.Fatal(err)
	}
	now := ln.Address(multiserver.ScopeDevice)
	if now != list[1].String() {
		t.Fatalf("advertised after Drop %q, want only %q", now, list[1])
	}
	// The old client has no supported address in what is advertised now,
	_, err = oldClient.Dial(ctx, now)
	if !errors.Is(err, multiserver.ErrUnsupportedAddress) || !strings.Contains(err.Error(), `no transform "noise"`) {
		t.Fatalf("old client on %q: %v; want no supported address, naming noise", now, err)
	}
	// and what it remembers fails too, each address saying why.
	_, err = oldClient.Dial(ctx, both)
	var des []*multiserver.DialError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var de *multiserver.DialError
		if errors.As(e, &de) {
			des = append(des, de)
		}
	}
	if len(des) != 2 || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("old client on %q: %v; want the shs stack refused and noise unsupported", both, err)
	}
	// The new client was never interrupted and still connects.
	if err := Ping(newConn, "still here"); err != nil {
		t.Fatalf("the new client's connection broke: %v", err)
	}
	again, err := newClient.Dial(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := Ping(again, "again"); err != nil {
		t.Fatal(err)
	}
	// The old client's open connection was left alone, too.
	if err := Ping(oldConn, "old, still open"); err != nil {
		t.Fatalf("Drop cut an existing connection: %v", err)
	}
}

// TestRun runs the whole story: usage as peers move, the drain, the drop.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"shs   serving  3 conns in the last hour, 3 peers, 3 only over it",
		"one peer is left only on shs:\n   noise serving  3 conns in the last hour, 3 peers, 1 only over it\n   shs   serving  3 conns in the last hour, 3 peers, 1 only over it",
		"now advertises 1 stack",
		"shs   draining",
		"still connects over shs",
		"5. shs dropped:\n   noise serving",
		"connection refused",
		"carries on",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
