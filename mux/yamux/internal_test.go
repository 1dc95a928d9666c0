package yamux

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestSpanPriorities(t *testing.T) {
	m := &memory{limit: 1 << 20}
	a, _ := m.newSpan()
	b, _ := m.newSpan()
	// New streams' initial windows are always granted.
	for range 5 {
		if err := a.ReserveMemory(InitialStreamWindow, 255); err != nil {
			t.Fatalf("initial window refused: %v", err)
		}
	}
	if got := m.inUse(); got != 5*InitialStreamWindow {
		t.Fatalf("inUse = %d, want %d", got, 5*InitialStreamWindow)
	}
	a.Done()
	a.Done() // twice, as go-yamux may
	if got := m.inUse(); got != 0 {
		t.Fatalf("inUse after Done = %d, want 0", got)
	}
	// Growth stops at about half the limit.
	if err := b.ReserveMemory(512<<10, 128); err != nil {
		t.Fatalf("growth to half refused: %v", err)
	}
	if err := b.ReserveMemory(8<<10, 128); err != ErrSessionMemory {
		t.Fatalf("growth beyond half: %v, want ErrSessionMemory", err)
	}
	b.ReleaseMemory(1 << 30) // more than held: releases what it holds
	if got := m.inUse(); got != 0 {
		t.Fatalf("inUse after ReleaseMemory = %d, want 0", got)
	}
	// Open's own check is against the whole limit.
	for range 4 {
		if !m.reserve(InitialStreamWindow) {
			t.Fatal("reserve refused within the limit")
		}
	}
	if m.reserve(InitialStreamWindow) {
		t.Fatal("reserve granted beyond the limit")
	}
	unbounded := &memory{limit: -1}
	if !unbounded.reserve(1 << 40) {
		t.Fatal("reserve refused with no limit")
	}
}

func TestLogWriter(t *testing.T) {
	var buf bytes.Buffer
	w := newLogWriter(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	for range logLimit + 5 {
		w.Write([]byte("2026/01/02 15:04:05 [ERR] yamux: keepalive failed: keepalive timeout\n"))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != logLimit {
		t.Errorf("%d lines logged, want the limit of %d", len(lines), logLimit)
	}
	if !strings.Contains(lines[0], `msg="yamux: keepalive failed: keepalive timeout"`) || !strings.Contains(lines[0], "level=DEBUG") {
		t.Errorf("line %q", lines[0])
	}
	for in, want := range map[string]string{
		"2026/01/02 15:04:05 [WARN] error sending window update before accepting: x\n": "yamux: error sending window update before accepting: x",
		"no tag": "yamux: no tag",
	} {
		if got := logMessage(in); got != want {
			t.Errorf("logMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	d, err := (*Config)(nil).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	y := d.yamux(nil)
	if y.MaxStreamWindowSize != 16<<20 || d.MaxSessionMemory != 32<<20 || y.MaxIncomingStreams != 128 ||
		!y.EnableKeepAlive || y.KeepAliveInterval.Seconds() != 30 || y.ConnectionWriteTimeout.Seconds() != 10 {
		t.Errorf("defaults: %+v → %+v", d, y)
	}
	d, _ = (&Config{KeepAliveInterval: -1, MaxIncomingStreams: -1}).withDefaults()
	if y := d.yamux(nil); y.EnableKeepAlive || y.MaxIncomingStreams != 0 {
		t.Errorf("negative KeepAliveInterval and MaxIncomingStreams: %+v", y)
	}
}

type bufferedConn struct{ net.Conn }

func (bufferedConn) ReadBuffered() bool { return true }

type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

func TestReadBuffered(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	for _, tt := range []struct {
		name string
		c    net.Conn
		want bool
	}{
		{"plain", a, false},
		{"wrapped plain", wrapped{a}, false},
		{"buffered", bufferedConn{a}, true},
		{"wrapped buffered", wrapped{bufferedConn{a}}, true},
	} {
		if got := readBuffered(tt.c); got != tt.want {
			t.Errorf("readBuffered(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
