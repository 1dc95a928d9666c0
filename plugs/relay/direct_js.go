//go:build js

package relay

import (
	"net"
)

// In the browser there is no UDP: conns stay relayed.

type upgrader struct{}

func (*upgrader) lost()  {}
func (*upgrader) close() {}

func isDirect(net.Conn) bool { return false }

func (c *relayedConn) upgrade()      {}
func (c *relayedConn) signal([]byte) {}
