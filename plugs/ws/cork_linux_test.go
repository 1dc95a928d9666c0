package ws

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCorker sets and clears TCP_CORK on a real socket, and finds none on
// a conn that is not one.
func TestCorker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
	p, _ := net.Pipe()
	defer p.Close()
	if corker(p) != nil {
		t.Error("corker found a socket in a net.Pipe")
	}
}
