package ws

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/f7d52a8e/multiserver/internal/frametest"
)

// TestCorker sets and clears TCP_CORK on a real socket, and finds none on
// a conn that is not one.
func TestCorker(t *testing.T) {
	c, _ := frametest.TCPPipe(t)
	cork := corker(c)
	if cork == nil {
		t.Fatal("corker found no socket in a TCP conn")
	}
	get := func() int {
		rc, _ := c.(syscall.Conn).SyscallConn()
		v := -1
		rc.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK) })
		return v
	}
	for _, on := range []bool{true, false} {
		cork(on)
		if got, want := get(), map[bool]int{true: 1, false: 0}[on]; got != want {
			t.Errorf("after cork(%v), TCP_CORK = %d, want %d", on, got, want)
		}
	}
	if p, _ := frametest.MemPipe(t); corker(p) != nil {
		t.Error("corker found a socket in a net.Pipe")
	}
}
