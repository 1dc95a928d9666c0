package yamux_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

func TestGoAway(t *testing.T) {
	client, server := tcpSessions(t, nil)
	c, s := streamPair(t, client, server)
	if err := server.GoAway(); err != nil {
		t.Fatalf("GoAway: %v", err)
	}
	// The stream already open goes on, both ways. The GoAway frame
	// reaches the client before this data does.
	if _, err := s.Write([]byte("after")); err != nil {
		t.Fatalf("Write after GoAway: %v", err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "after" {
		t.Fatalf("Read after GoAway = %q, %v", b, err)
	}
	if _, err := c.Write([]byte("back")); err != nil {
		t.Fatalf("peer's Write after GoAway: %v", err)
	}
	if _, err := io.ReadFull(s, b[:4]); err != nil || string(b[:4]) != "back" {
		t.Fatalf("Read of the peer's data after GoAway = %q, %v", b[:4], err)
	}
	if _, err := client.Open(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("peer's Open after GoAway = %v, want net.ErrClosed", err)
	}
	c.Close()
	s.Close()
	server.Close()
	if err := server.GoAway(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("GoAway after Close = %v, want net.ErrClosed", err)
	}
}
