package yamux_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/mux/yamux"
)

// TestKeepAliveDeadPeer runs a session against a TCP peer that accepts
// bytes but never speaks yamux: the keepalive declares it dead.
func TestKeepAliveDeadPeer(t *testing.T) {
	var logs logtest.Buffer
	a, raw := tcpPair(t)
	defer raw.Close()
	go io.Copy(io.Discard, raw) // reads, never answers
	cfg := &yamux.Config{
		KeepAliveInterval: 50 * time.Millisecond,
		KeepAliveTimeout:  200 * time.Millisecond,
		Logger:            logtest.Debug(&logs),
	}
	s, err := yamux.Client(a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Accept()
	if !errors.Is(err, net.ErrClosed) || !errors.Is(err, yamux.ErrKeepAliveTimeout) {
		t.Fatalf("Accept on a dead peer: %v, want net.ErrClosed and ErrKeepAliveTimeout", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Accept's error %v does not report Timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("dead peer detected after %v", d)
	}
	if _, err := s.Open(context.Background()); !errors.Is(err, yamux.ErrKeepAliveTimeout) {
		t.Errorf("Open on a dead session: %v, want ErrKeepAliveTimeout", err)
	}
	if !strings.Contains(logs.String(), "keepalive failed") {
		t.Errorf("log lacks the keepalive failure:\n%s", logs.String())
	}
}

// TestSilentByDefault checks that a failing session with no Logger
// writes nothing to stderr (go-yamux's default).
func TestSilentByDefault(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()

	a, raw := tcpPair(t)
	go io.Copy(io.Discard, raw)
	s, err := yamux.Client(a, &yamux.Config{KeepAliveInterval: 20 * time.Millisecond, KeepAliveTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, 5*time.Second)
	s.Close()
	raw.Close()
	os.Stderr = stderr
	w.Close()
	if b, _ := io.ReadAll(r); len(b) > 0 {
		t.Errorf("wrote to stderr: %s", b)
	}
}

// TestKeepAliveDefaults runs the default keepalive in a synctest bubble,
// where time is virtual: an idle healthy session lives on, and a silent
// peer is found dead within interval + timeout (40s).
func TestKeepAliveDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		client, err := yamux.Client(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		server, err := yamux.Server(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		select {
		case <-client.Done():
			t.Fatal("idle healthy session died")
		default:
		}
		client.Close()
		server.Close()

		a, raw := net.Pipe()
		go io.Copy(io.Discard, raw)
		s, err := yamux.Client(a, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		<-s.Done()
		d := time.Since(start)
		t.Logf("silent peer found dead after %v", d)
		if d > 40*time.Second {
			t.Errorf("silent peer found dead after %v, want at most 40s", d)
		}
		if _, err := s.Accept(); !errors.Is(err, yamux.ErrKeepAliveTimeout) {
			t.Errorf("Accept: %v, want ErrKeepAliveTimeout", err)
		}
		s.Close()
		raw.Close()
	})
}
