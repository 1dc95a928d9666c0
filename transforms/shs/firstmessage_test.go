package shs

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// TestFirstMessageTimeoutDefault checks the default, 5s, and that a
// context ending sooner still wins.
func TestFirstMessageTimeoutDefault(t *testing.T) {
	for _, tt := range []struct {
		name       string
		ctxTimeout time.Duration
		want       time.Duration
	}{
		{"default", 10 * time.Second, DefaultFirstMessageTimeout},
		{"context first", time.Second, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := net.Pipe()
				defer c.Close()
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), tt.ctxTimeout)
				defer cancel()
				start := time.Now()
				_, err := Server(ctx, s, testConfig(2))
				if d := time.Since(start); d != tt.want {
					t.Errorf("Server gave up after %v, want %v", d, tt.want)
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("Server = %v, want os.ErrDeadlineExceeded", err)
				}
			})
		})
	}
}

// TestFirstMessageTimeoutCleared checks that the first message's deadline
// does not outlive the handshake: the conns still work after it passed.
func TestFirstMessageTimeoutCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := net.Pipe()
		scfg := testConfig(2)
		scfg.FirstMessageTimeout = 100 * time.Millisecond
		cr, sr := runHandshake(context.Background(), c, s, testConfig(1), scfg, pub(testKey(2)))
		if cr.err != nil || sr.err != nil {
			t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
		}
		defer cr.conn.Close()
		defer sr.conn.Close()
		time.Sleep(time.Second)
		go cr.conn.Write([]byte("hi"))
		b := make([]byte, 2)
		if _, err := io.ReadFull(sr.conn, b); err != nil || string(b) != "hi" {
			t.Errorf("server read %q, %v after the first message's deadline; want \"hi\"", b, err)
		}
	})
}
