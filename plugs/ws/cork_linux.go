package ws

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// corker returns a function that sets or clears TCP_CORK on c, or nil if
// c is not a socket. While corked, Linux queues what is written and sends
// full segments only; clearing the cork sends the rest.
func corker(c net.Conn) func(on bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func(on bool) {
		v := 0
		if on {
			v = 1
		}
		rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v) })
	}
}
