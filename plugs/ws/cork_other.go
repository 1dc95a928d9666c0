//go:build !linux

package ws

import "net"

// corker returns nil: TCP_CORK is Linux's.
func corker(net.Conn) func(on bool) { return nil }
