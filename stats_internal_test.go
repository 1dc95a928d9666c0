package multiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestReasonOf(t *testing.T) {
	tests := []struct {
		err  error
		want Reason
	}{
		{fmt.Errorf("read: %w", io.EOF), ReasonClosed},
		{io.ErrUnexpectedEOF, ReasonClosed},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, ReasonClosed},
		{context.DeadlineExceeded, ReasonTimeout},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, ReasonTimeout},
		{&HandshakeError{Transform: "noise", Err: ErrWrongKey}, ReasonWrongKey},
		{errors.New("shs: invalid challenge"), ReasonProtocol},
	}
	for _, tt := range tests {
		if got := reasonOf(tt.err); got != tt.want {
			t.Errorf("reasonOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	for _, r := range Reasons() {
		if r.String() == "unknown" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

// sink is a conn that reads zeros and discards writes.
type sink struct{ net.Conn }

func (sink) Read(b []byte) (int, error)  { return len(b), nil }
func (sink) Write(b []byte) (int, error) { return len(b), nil }
func (sink) Close() error                { return nil }
func (sink) SetDeadline(time.Time) error { return nil }

// BenchmarkConnCounting measures what counting adds to each Read and
// Write of an accepted conn, over a conn that costs nothing itself:
// `go test -run '^$' -bench ConnCounting .`. Real conns (a syscall, a
// decryption per call) cost far more than either.
func BenchmarkConnCounting(b *testing.B) {
	for _, counted := range []bool{false, true} {
		name := "plain"
		var st *stackStats
		if counted {
			name, st = "counted", &stackStats{}
		}
		b.Run(name, func(b *testing.B) {
			c := newCountedConn(sink{}, nil, st, nil)
			buf := make([]byte, 4096)
			b.SetBytes(2 * int64(len(buf)))
			for b.Loop() {
				c.Write(buf)
				c.Read(buf)
			}
		})
	}
}
